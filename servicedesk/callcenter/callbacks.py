"""Satisfaction callbacks in the database: scheduling one when a repair closes, and recording
what each call brought (answers, outcomes, opting out).

The rules live elsewhere: timing in :mod:`servicedesk.callcenter.callback_timing`, the survey
in :mod:`servicedesk.callcenter.survey`. Placing the calls is the sweep's job
(:mod:`servicedesk.callcenter.callback_sweep`); the webhooks of
:mod:`servicedesk.callcenter.survey_calls` call the functions here.

A callback's life (statuses in :data:`~servicedesk.callcenter.models.CALLBACK_STATUSES`):

* ``scheduled`` with ``due_at`` → claimed by a sweep: ``calling``, a new
  :class:`CallbackAttempt` (``attempts_made`` counts them);
* the first answer makes it ``completed`` at once (partial answers count: the customer spoke);
* an attempt that ends without an answer (no answer, busy, failed, canceled, an answering
  machine, a transient provider error, a person who hung up without pressing a key) makes it
  ``scheduled`` again at :func:`~servicedesk.callcenter.callback_timing.retry_at`, or
  ``exhausted`` when the attempts are used up;
* ``stopped`` for good: no number, on the do-not-call list, the customer pressed 9, or the
  provider refused the number (a permanent error, announced to supervisors as
  ``callback_failed``).

Everything here flushes and never commits: the webhook view or the sweep owns the transaction.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import phonenumbers
import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale, gettext
from sqlalchemy.dialects import postgresql, sqlite

from servicedesk.auth.models import User
from servicedesk.callcenter.callback_timing import CallbackPolicy, first_call_at, retry_at
from servicedesk.callcenter.models import (
    Callback,
    CallbackAttempt,
    DoNotCallNumber,
    SurveyAnswer,
)
from servicedesk.callcenter.survey import QUESTIONS, is_satisfied, needs_follow_up
from servicedesk.core.db import db
from servicedesk.customers.models import Contact, ContactPhone, Customer
from servicedesk.notifications.models import Notification
from servicedesk.tickets.models import Ticket, TicketEvent
from servicedesk.warranty.coverage import N_, Reason

STOP_NO_PHONE = "no_phone"
STOP_DO_NOT_CALL = "do_not_call"
STOP_OPTED_OUT = "opted_out"
STOP_PERMANENT_ERROR = "permanent_error"
FINISHED_STATUSES = frozenset({"completed", "exhausted", "stopped", "cancelled"})
ACCOUNT_MANAGED_CLASS = "A"
FINAL_CALL_STATUSES = {
    "completed": "completed",
    "busy": "busy",
    "no-answer": "no_answer",
    "failed": "failed",
    "canceled": "canceled",
}
"""Twilio's final call statuses and the attempt outcome each one records."""
_MOBILE_TYPES = (
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
)


def callback_policy() -> CallbackPolicy:
    """The timing policy from the application's configuration (``SERVICEDESK_CALLING_HOURS``,
    ``SERVICEDESK_CALLBACK_DELAY_MINUTES``; optional ``SERVICEDESK_CALLBACK_ATTEMPTS``,
    default 3, and ``SERVICEDESK_CALLBACK_RETRY_MINUTES``, default 120). A bad value raises
    ValueError naming the setting."""
    config = current_app.config
    return CallbackPolicy.from_settings(
        calling_hours=config.get("SERVICEDESK_CALLING_HOURS", "09:00-20:00"),
        delay_minutes=config.get("SERVICEDESK_CALLBACK_DELAY_MINUTES", 1440),
        max_attempts=config.get("SERVICEDESK_CALLBACK_ATTEMPTS", 3),
        retry_gap_minutes=config.get("SERVICEDESK_CALLBACK_RETRY_MINUTES", 120),
    )


def _is_mobile(e164: str) -> bool:
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.number_type(number) in _MOBILE_TYPES


def number_to_call(customer_id: int) -> str | None:
    """The number the survey calls: the primary contact's first mobile; else the first
    mobile of another contact; else any phone, preferring the primary contact and numbers
    without an extension (an automated call cannot dial one). ``None`` without a phone."""
    rows = db.session.execute(
        sa.select(Contact.is_primary, ContactPhone.e164, ContactPhone.extension)
        .join(ContactPhone, ContactPhone.contact_id == Contact.id)
        .where(Contact.customer_id == customer_id)
        .order_by(Contact.is_primary.desc(), Contact.id, ContactPhone.id)
    ).all()
    if not rows:
        return None

    def rank(row: Any) -> tuple[bool, bool, bool]:
        primary, e164, extension = row
        return (not _is_mobile(e164), extension is not None, not primary)

    return min(rows, key=rank).e164


def on_do_not_call(customer_id: int, e164: str | None) -> bool:
    """Whether the customer asked never to be called, or the number is on the list."""
    if db.session.scalar(sa.select(Customer.do_not_call).where(Customer.id == customer_id)):
        return True
    if e164 is None:
        return False
    return db.session.get(DoNotCallNumber, e164) is not None


def schedule_callback(ticket: Ticket, *, now: datetime) -> Callback | None:
    """The satisfaction callback of a closed repair: created on the first call, the same one
    on every later call (one per ticket). ``None`` for anything but a closed repair.

    The first attempt is due :func:`~servicedesk.callcenter.callback_timing.first_call_at`
    the ticket's ``closed_at`` (``now`` when unset) in the customer's time zone. Without a
    phone number, or for a customer or number on the do-not-call list, the callback is
    created ``stopped`` with the reason, so that the record says why nobody was called.
    """
    if ticket.kind != "repair" or ticket.status != "closed":
        return None
    existing = db.session.scalar(sa.select(Callback).where(Callback.ticket_id == ticket.id))
    if existing is not None:
        return existing
    policy = callback_policy()
    customer = ticket.customer
    phone = number_to_call(customer.id)
    callback = Callback(
        ticket=ticket,
        customer_id=customer.id,
        station_id=ticket.station_id,
        phone_e164=phone,
        language=customer.language,
        timezone=customer.timezone,
        max_attempts=policy.max_attempts,
        attempts_made=0,
        stop_detail="",
        created_at=now,
    )
    if phone is None:
        _stop(callback, STOP_NO_PHONE, "", now=now)
    elif on_do_not_call(customer.id, phone):
        _stop(callback, STOP_DO_NOT_CALL, "", now=now)
    else:
        callback.status = "scheduled"
        callback.due_at = first_call_at(ticket.closed_at or now, customer.timezone, policy)
    db.session.add(callback)
    db.session.flush()
    return callback


def _stop(callback: Callback, reason: str, detail: str, *, now: datetime) -> None:
    callback.status = "stopped"
    callback.stop_reason = reason
    callback.stop_detail = detail
    callback.due_at = None
    callback.finished_at = now


def attempt_for_token(token: str) -> CallbackAttempt | None:
    """The attempt a webhook URL names, locked with its callback (PostgreSQL) so that two
    webhooks about one call take turns; ``None`` for an unknown token."""
    if not token or len(token) > 64:
        return None
    query = sa.select(CallbackAttempt).where(CallbackAttempt.token == token)
    locking = db.session.get_bind().dialect.name == "postgresql"
    if locking:
        query = query.with_for_update()
    attempt = db.session.scalar(query.execution_options(populate_existing=True))
    if attempt is None:
        return None
    callback_query = sa.select(Callback).where(Callback.id == attempt.callback_id)
    if locking:
        callback_query = callback_query.with_for_update()
    db.session.scalar(callback_query.execution_options(populate_existing=True))
    return attempt


def answers_of(callback: Callback) -> dict[str, int]:
    """The callback's answers so far, ``{question: value}`` in question order."""
    given = {answer.question: answer.value for answer in callback.answers}
    return {question.key: given[question.key] for question in QUESTIONS if question.key in given}


def mark_answered(attempt: CallbackAttempt, *, answered_by: str | None, now: datetime) -> None:
    """A person (or, per ``answered_by``, a machine) picked up; before the call ended only."""
    if attempt.ended_at is not None:
        return
    if attempt.status in ("dialling", "placed"):
        attempt.status = "in_progress"
    attempt.answered_at = attempt.answered_at or now
    if answered_by:
        attempt.answered_by = answered_by[:30]


def mark_machine(attempt: CallbackAttempt, *, answered_by: str, now: datetime) -> None:
    """Answering-machine detection found a machine (or a fax): the call is hung up and its
    outcome will be ``machine`` however the provider reports its end."""
    if attempt.ended_at is not None:
        return
    attempt.status = "machine"
    attempt.answered_by = answered_by[:30]
    attempt.answered_at = attempt.answered_at or now


def record_answer(
    attempt: CallbackAttempt, question: str, value: int, *, now: datetime
) -> SurveyAnswer | None:
    """Store the customer's answer to one question (the first one given stays: a replayed
    webhook changes nothing; ``None`` then). The callback becomes ``completed`` at its first
    answer; question 1 sets ``satisfied``; the answer that calls for it opens the follow-up
    complaint (:func:`open_follow_up`); the station's scorecard is refreshed."""
    callback = attempt.callback
    if any(answer.question == question for answer in callback.answers):
        return None
    answer = SurveyAnswer(
        callback=callback, attempt_id=attempt.id, question=question, value=value, answered_at=now
    )
    callback.answers.append(answer)
    if callback.answered_at is None:
        callback.answered_at = now
    if question == "overall":
        callback.satisfied = is_satisfied(value)
    if callback.status not in ("stopped", "cancelled"):
        callback.status = "completed"
        callback.due_at = None
        callback.finished_at = callback.finished_at or now
    db.session.flush()
    if callback.follow_up_ticket_id is None and needs_follow_up(answers_of(callback)):
        open_follow_up(callback, now=now)
    if callback.station_id is not None:
        _refresh_scorecard(callback.station_id, now=now)
    return answer


def _refresh_scorecard(station_id: int, *, now: datetime) -> None:
    from servicedesk.stations.scorecards import refresh_scorecard  # stations import callbacks

    refresh_scorecard(station_id, now=now)


def _insert_ignoring_duplicates(model: type[db.Model]) -> Any:
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(model).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(model).on_conflict_do_nothing()
    return sa.insert(model)


def opt_out(attempt: CallbackAttempt, *, now: datetime) -> None:
    """The customer pressed 9: the number goes on the do-not-call list, the customer is
    marked do-not-call, and the callback stops for good (answers given before are kept)."""
    callback = attempt.callback
    if callback.phone_e164:
        db.session.execute(
            _insert_ignoring_duplicates(DoNotCallNumber).values(
                e164=callback.phone_e164,
                customer_id=callback.customer_id,
                reason="pressed_9",
                added_at=now,
                added_by_id=None,
            )
        )
    db.session.execute(
        sa.update(Customer).where(Customer.id == callback.customer_id).values(do_not_call=True)
    )
    _stop(callback, STOP_OPTED_OUT, "", now=now)
    db.session.flush()


def finish_attempt(
    attempt: CallbackAttempt,
    outcome: str,
    *,
    now: datetime,
    error_code: str | None = None,
    error_message: str = "",
    permanent: bool = False,
) -> bool:
    """The call of ``attempt`` is over with ``outcome`` (an attempt status); False when it
    was over already (a repeated or late status callback changes nothing).

    The callback follows when this is its latest attempt and it is still ``calling``:
    answered → it is already ``completed``; a ``permanent`` provider error → ``stopped``
    and a ``callback_failed`` notice to supervisors; anything else → retried or exhausted.
    """
    if attempt.ended_at is not None:
        return False
    if attempt.status == "machine" and outcome == "completed":
        outcome = "machine"
    attempt.status = outcome
    attempt.ended_at = now
    if error_code is not None:
        attempt.error_code = str(error_code)[:30]
    if error_message:
        attempt.error_message = error_message
    callback = attempt.callback
    if callback.status != "calling" or attempt.number != callback.attempts_made:
        db.session.flush()
        return True
    if callback.answers:
        callback.status = "completed"
        callback.due_at = None
        callback.finished_at = callback.finished_at or now
    elif permanent:
        _stop(callback, STOP_PERMANENT_ERROR, error_message or (error_code or ""), now=now)
        notify_callback_failed(callback, error_code=error_code, message=error_message, now=now)
    else:
        schedule_retry(callback, now=now)
    db.session.flush()
    return True


def schedule_retry(callback: Callback, *, now: datetime) -> None:
    """After an unanswered attempt: ``scheduled`` at the next retry time, or ``exhausted``."""
    policy = dataclasses.replace(callback_policy(), max_attempts=callback.max_attempts)
    due = retry_at(now, max(callback.attempts_made, 1), callback.timezone, policy)
    if due is None:
        callback.status = "exhausted"
        callback.due_at = None
        callback.finished_at = now
    else:
        callback.status = "scheduled"
        callback.due_at = due


def notify_callback_failed(
    callback: Callback, *, error_code: str | None, message: str, now: datetime
) -> None:
    """A ``callback_failed`` notice to supervisors: the provider refused the number."""
    ticket = db.session.get(Ticket, callback.ticket_id)
    db.session.add(
        Notification(
            kind="callback_failed",
            audience="supervisors",
            station_id=None,
            user_id=None,
            ticket_id=callback.ticket_id,
            data={
                "ticket_number": ticket.number if ticket else None,
                "phone": callback.phone_e164,
                "code": error_code,
                "message": message,
            },
            created_at=now,
        )
    )


def follow_up_texts(repair: Ticket, answers: Mapping[str, int], language: str) -> tuple[str, str]:
    with force_locale(language):
        summary = gettext(
            "Satisfaction callback follow-up to repair %(number)s", number=repair.number
        )
        lines = [
            gettext("The customer's answers in the satisfaction callback:"),
            gettext("Overall satisfaction (1-5): %(value)s", value=answers.get("overall", "-")),
            gettext(
                "Problem solved: %(value)s",
                value={1: gettext("yes"), 2: gettext("no")}.get(answers.get("solved"), "-"),
            ),
            gettext("Engineer's service (1-5): %(value)s", value=answers.get("engineer", "-")),
        ]
    return summary, "\n".join(lines)


def open_follow_up(callback: Callback, *, now: datetime) -> Ticket:
    """Open the one follow-up complaint of a callback: linked to the repair
    (``follow_up_of``), at no station, announced to supervisors and, for a class A account,
    to its account manager (audience ``user``); never to the station that did the repair."""
    from servicedesk.tickets.intake import TicketRequest, open_ticket  # intake imports us

    repair = db.session.get(Ticket, callback.ticket_id)
    customer = db.session.get(Customer, callback.customer_id)
    answers = answers_of(callback)
    summary, description = follow_up_texts(repair, answers, customer.language)
    complaint = open_ticket(
        None,
        customer,
        TicketRequest(
            kind="complaint",
            summary=summary,
            description=description,
            serial=repair.asset.serial if repair.asset is not None else None,
        ),
        now=now,
    )
    complaint.follow_up_of_id = repair.id
    complaint.station_id = None
    callback.follow_up_ticket_id = complaint.id
    data = {
        "ticket_number": complaint.number,
        "follow_up_of": repair.number,
        "customer": customer.name,
        "answers": answers,
    }
    audiences: list[tuple[str, int | None]] = [("supervisors", None)]
    if customer.customer_class == ACCOUNT_MANAGED_CLASS and customer.account_manager_id:
        audiences.append(("user", customer.account_manager_id))
    for audience, user_id in audiences:
        db.session.add(
            Notification(
                kind="complaint",
                audience=audience,
                station_id=None,
                user_id=user_id,
                ticket_id=complaint.id,
                data=data,
                created_at=now,
            )
        )
    db.session.flush()
    return complaint


# --- supervisors' and agents' actions (the web UI) ----------------------------------------

ACTION_REASON_MAX = 1000
"""Characters of the reason given for a cancel, a call now or a do-not-call removal."""
DO_NOT_CALL_REQUESTED = "requested"
_ACTION_REASON_NEEDED = N_("Say why.")
_ACTION_REASON_TOO_LONG = N_("Write the reason in at most %(max)s characters.")
_NOT_SCHEDULED = N_("Only a scheduled callback can be cancelled; this one is no longer waiting.")
_FINISHED = N_("This callback is finished: it cannot be called again.")
_CALLING = N_("This callback is being called right now.")
_ON_DO_NOT_CALL = N_("The customer is on the do-not-call list: the callback cannot be placed.")
_NOT_LISTED = N_("That number is not on this customer's do-not-call list.")
_NOTHING_LISTED = N_("This customer is not on the do-not-call list.")


class CallbackActionError(Exception):
    """A refused action; ``reason`` says why in words a supervisor can read, ``field`` names
    the input at fault (``reason``, ``e164``) or is None when the callback's state refuses it."""

    def __init__(self, reason: Reason, field: str | None = None):
        super().__init__(reason.render())
        self.reason = reason
        self.field = field


def callback_for_update(ticket_id: int) -> Callback | None:
    """The callback of the repair ``ticket_id``, locked (PostgreSQL) so that an action and a
    sweep claiming it take turns; ``None`` when the repair has none."""
    query = sa.select(Callback).where(Callback.ticket_id == ticket_id)
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=Callback)
    return db.session.scalar(query.execution_options(populate_existing=True))


def _action_reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise CallbackActionError(Reason(_ACTION_REASON_NEEDED), field="reason")
    if len(text) > ACTION_REASON_MAX:
        raise CallbackActionError(
            Reason(_ACTION_REASON_TOO_LONG, {"max": str(ACTION_REASON_MAX)}), field="reason"
        )
    return text


def _callback_event(
    actor: User, callback: Callback, action: str, reason: str, data: dict[str, Any], now: datetime
) -> TicketEvent:
    event = TicketEvent(
        ticket_id=callback.ticket_id,
        at=now,
        actor_id=actor.id,
        action=action,
        reason=reason,
        data={"callback_id": callback.id, **data},
    )
    db.session.add(event)
    return event


def cancel_callback(actor: User, callback: Callback, *, reason: str, now: datetime) -> TicketEvent:
    """A supervisor cancels a ``scheduled`` callback (nobody will be called): the callback
    becomes ``cancelled`` and the repair gets a ``callback_cancelled`` event with the reason.
    Refused (:class:`CallbackActionError`) without a reason or for any other status."""
    text = _action_reason(reason)
    if callback.status != "scheduled":
        raise CallbackActionError(Reason(_NOT_SCHEDULED))
    due = callback.due_at
    callback.status = "cancelled"
    callback.due_at = None
    callback.finished_at = now
    event = _callback_event(
        actor,
        callback,
        "callback_cancelled",
        text,
        {"due_at": due.isoformat() if due else None},
        now,
    )
    db.session.flush()
    return event


def call_callback_now(
    actor: User, callback: Callback, *, reason: str, now: datetime
) -> TicketEvent:
    """A supervisor brings a ``scheduled`` callback forward: ``due_at`` becomes ``now``, so
    the next sweep places it (calling hours are the supervisor's call then). The repair gets
    a ``callback_called_now`` event with the reason and the time it was due. Refused for a
    callback being called or finished, and for a customer or number on the do-not-call list."""
    text = _action_reason(reason)
    if callback.status in FINISHED_STATUSES:
        raise CallbackActionError(Reason(_FINISHED))
    if callback.status != "scheduled":
        raise CallbackActionError(Reason(_CALLING))
    if on_do_not_call(callback.customer_id, callback.phone_e164):
        raise CallbackActionError(Reason(_ON_DO_NOT_CALL))
    due = callback.due_at
    callback.due_at = now
    event = _callback_event(
        actor,
        callback,
        "callback_called_now",
        text,
        {"was_due_at": due.isoformat() if due else None},
        now,
    )
    db.session.flush()
    return event


def customer_numbers(customer_id: int) -> list[str]:
    """The customer's distinct phone numbers (E.164), in the order they were recorded."""
    rows = db.session.scalars(
        sa.select(ContactPhone.e164)
        .where(ContactPhone.customer_id == customer_id)
        .order_by(ContactPhone.id)
    ).all()
    return list(dict.fromkeys(rows))


def do_not_call_entries(customer_id: int) -> list[DoNotCallNumber]:
    """The do-not-call entries of the customer: numbers listed for it, and any of its
    numbers listed for another customer (a shared switchboard), oldest first."""
    numbers = customer_numbers(customer_id)
    return list(
        db.session.scalars(
            sa.select(DoNotCallNumber)
            .where(
                sa.or_(
                    DoNotCallNumber.customer_id == customer_id,
                    DoNotCallNumber.e164.in_(numbers),
                )
            )
            .order_by(DoNotCallNumber.added_at, DoNotCallNumber.e164)
        )
    )


def add_do_not_call(actor: User, customer: Customer, *, now: datetime) -> int:
    """The caller asks never to be called for surveys: the customer is marked do-not-call,
    each of its numbers goes on the list (``requested``, by ``actor``; a number already there
    keeps its entry) and its ``scheduled`` callbacks stop. Returns how many numbers were added.
    """
    known = {
        row.e164
        for row in db.session.scalars(
            sa.select(DoNotCallNumber).where(
                DoNotCallNumber.e164.in_(customer_numbers(customer.id))
            )
        )
    }
    added = 0
    for e164 in customer_numbers(customer.id):
        if e164 in known:
            continue
        db.session.execute(
            _insert_ignoring_duplicates(DoNotCallNumber).values(
                e164=e164,
                customer_id=customer.id,
                reason=DO_NOT_CALL_REQUESTED,
                added_at=now,
                added_by_id=actor.id,
            )
        )
        added += 1
    customer.do_not_call = True
    for callback in db.session.scalars(
        sa.select(Callback).where(
            Callback.customer_id == customer.id, Callback.status == "scheduled"
        )
    ):
        _stop(callback, STOP_DO_NOT_CALL, "", now=now)
    db.session.flush()
    return added


def remove_do_not_call(
    actor: User, customer: Customer, e164: str | None, *, reason: str, now: datetime
) -> None:
    """The customer asked to be called again: the number ``e164`` (one of the customer's
    entries, see :func:`do_not_call_entries`) leaves the list and the customer is no longer
    marked do-not-call; with ``e164`` None only the mark goes. Callbacks stopped before stay
    stopped. There is no table for the history of the list: the removal, its reason and who
    made it go to the application log."""
    text = _action_reason(reason)
    if e164:
        entry = next((row for row in do_not_call_entries(customer.id) if row.e164 == e164), None)
        if entry is None:
            raise CallbackActionError(Reason(_NOT_LISTED), field="e164")
        db.session.delete(entry)
    elif not customer.do_not_call:
        raise CallbackActionError(Reason(_NOTHING_LISTED), field="e164")
    customer.do_not_call = False
    db.session.flush()
    current_app.logger.info(
        "do-not-call removed: customer %s number %s by user %s at %s: %s",
        customer.code,
        e164 or "-",
        actor.id,
        now.isoformat(),
        text,
    )
