"""Words for the codes the domain stores (kinds, statuses, offerings, ...), in the UI language.

Each table maps a stored code to a lazily translated label; :func:`label` falls back to the code
itself for a value a newer part of the system stores before it has a label here.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from servicedesk.warranty.coverage import N_

TICKET_KIND_LABELS = {
    "inquiry": _l("Inquiry"),
    "presales": _l("Pre-sales consultation"),
    "repair": _l("Repair"),
    "complaint": _l("Complaint"),
}

TICKET_STATUS_LABELS = {
    "new": _l("New"),
    "dispatched": _l("Dispatched"),
    "accepted": _l("Accepted"),
    "scheduled": _l("Visit booked"),
    "on_site": _l("Engineer on site"),
    "waiting_customer": _l("Waiting for the customer"),
    "waiting_parts": _l("Waiting for parts"),
    "resolved": _l("Resolved"),
    "closed": _l("Closed"),
    "cancelled": _l("Cancelled"),
}

OFFERING_LABELS = {
    "depot": _l("Carry-in warranty (depot)"),
    "onsite": _l("Onsite service"),
    "onsite_4h": _l("4-hour onsite response"),
    "adp": _l("Accidental damage protection"),
    "kyd": _l("Keep your drive"),
}

SERVICE_LEVEL_LABELS = {
    "onsite_4h": _l("4-hour onsite response"),
    "onsite": _l("Next-business-day onsite"),
    "depot": _l("Carry-in (depot)"),
    "billable": _l("Billable (no warranty)"),
}

DAMAGE_LABELS = {
    "none": _l("None: a hardware fault"),
    "liquid": _l("Liquid spill"),
    "drop": _l("Drop or collision"),
    "pressure": _l("External pressure"),
    "surge": _l("Abnormal power surge"),
}

PART_LABELS = {
    "motherboard": _l("Motherboard"),
    "screen": _l("Screen"),
    "drive": _l("Hard drive or SSD"),
    "memory": _l("Memory"),
    "keyboard": _l("Keyboard"),
    "fan": _l("Fan"),
    "power_supply": _l("Power supply"),
    "battery": _l("Battery"),
    "keycaps": _l("Keycaps"),
    "adapter": _l("Power adapter"),
    "cable": _l("Cable"),
    "other": _l("Other part"),
}

PRODUCT_LINE_LABELS = {
    "laptop": _l("Laptop"),
    "desktop": _l("Desktop"),
    "aio": _l("All-in-one"),
    "workstation": _l("Workstation"),
    "server": _l("Server"),
    "tablet": _l("Tablet"),
    "monitor": _l("Monitor"),
}

CUSTOMER_CLASS_LABELS = {
    "A": _l("Class A: key account"),
    "B": _l("Class B: managed closely"),
    "C": _l("Class C: managed on account"),
    "consumer": _l("Consumer"),
}

ROLE_LABELS = {
    "agent": _l("Agent"),
    "supervisor": _l("Supervisor"),
    "station": _l("Repair station"),
    "admin": _l("Administrator"),
}

LANGUAGE_LABELS = {
    "zh": _l("Chinese"),
    "en": _l("English"),
}

EVENT_ACTION_LABELS = {
    "created": _l("Ticket opened"),
    "status": _l("Status changed"),
    "diagnosis_ended": _l("Phone diagnosis ended"),
    "asset_corrected": _l("Machine corrected"),
    "dispatch": _l("Dispatch decision"),
    "sla_warning": _l("SLA warning"),
    "sla_breach": _l("SLA target breached"),
    "callback_cancelled": _l("Satisfaction callback cancelled"),
    "callback_called_now": _l("Satisfaction callback brought forward"),
}

CALLBACK_STATUS_LABELS = {
    "scheduled": _l("Scheduled"),
    "calling": _l("Calling"),
    "completed": _l("Answered"),
    "exhausted": _l("No answer after every attempt"),
    "stopped": _l("Stopped"),
    "cancelled": _l("Cancelled"),
}

ATTEMPT_STATUS_LABELS = {
    "dialling": _l("Dialling"),
    "placed": _l("Ringing"),
    "in_progress": _l("In progress"),
    "completed": _l("Completed"),
    "busy": _l("Busy"),
    "no_answer": _l("No answer"),
    "failed": _l("Failed"),
    "canceled": _l("Call cancelled"),
    "machine": _l("Answering machine"),
    "error": _l("Refused by the telephone provider"),
    "not_placed": _l("Not placed: on the do-not-call list"),
}

STOP_REASON_LABELS = {
    "no_phone": _l("No phone number to call"),
    "do_not_call": _l("On the do-not-call list"),
    "opted_out": _l("The customer pressed 9: never to be called again"),
    "permanent_error": _l("The telephone provider refused the number"),
}

SURVEY_QUESTION_LABELS = {
    "overall": _l("Overall satisfaction"),
    "solved": _l("Problem solved"),
    "engineer": _l("Engineer's service"),
}

SOLVED_ANSWER_LABELS = {
    1: _l("Yes"),
    2: _l("No"),
}

ANSWERED_BY_LABELS = {
    "human": _l("A person"),
    "machine_start": _l("Answering machine"),
    "machine_end_beep": _l("Answering machine"),
    "machine_end_silence": _l("Answering machine"),
    "machine_end_other": _l("Answering machine"),
    "fax": _l("Fax machine"),
    "unknown": _l("Not recognised"),
}
"""Answering-machine detection's verdicts (Twilio's ``AnsweredBy``)."""

DO_NOT_CALL_REASON_LABELS = {
    "pressed_9": _l("Pressed 9 during a survey call"),
    "requested": _l("Asked not to be called"),
    "imported": _l("Imported"),
}

#: Reasons the services store in English on ticket events; translated when shown.
STORED_EVENT_REASONS = (N_("answered during the call"),)

TABLES = {
    "kind": TICKET_KIND_LABELS,
    "status": TICKET_STATUS_LABELS,
    "offering": OFFERING_LABELS,
    "service_level": SERVICE_LEVEL_LABELS,
    "damage": DAMAGE_LABELS,
    "part": PART_LABELS,
    "product_line": PRODUCT_LINE_LABELS,
    "customer_class": CUSTOMER_CLASS_LABELS,
    "role": ROLE_LABELS,
    "language": LANGUAGE_LABELS,
    "event_action": EVENT_ACTION_LABELS,
    "callback_status": CALLBACK_STATUS_LABELS,
    "attempt_status": ATTEMPT_STATUS_LABELS,
    "stop_reason": STOP_REASON_LABELS,
    "survey_question": SURVEY_QUESTION_LABELS,
    "solved_answer": SOLVED_ANSWER_LABELS,
    "answered_by": ANSWERED_BY_LABELS,
    "do_not_call_reason": DO_NOT_CALL_REASON_LABELS,
}


def label(code: str | int | None, table: str) -> str:
    """The label of ``code`` in ``table`` (a key of :data:`TABLES`); the code when unknown."""
    if code is None:
        return ""
    return str(TABLES[table].get(code, code))
