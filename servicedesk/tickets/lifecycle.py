"""The ticket lifecycle: which status may follow which, for each ticket kind.

Pure domain code: no Flask, no database, no clock. The rules are data (:data:`TRANSITIONS`);
:func:`check_transition` refuses a change with a :class:`TransitionError` whose ``reason`` is a
translatable :class:`~servicedesk.warranty.coverage.Reason` (its parameters are status and kind
codes, for the caller to turn into labels).

The flows:

* **repair**: ``new`` → ``dispatched`` (to a station) → ``accepted`` → ``scheduled`` (visit
  booked) → ``on_site`` (engineer on site, or the machine received at the station) →
  ``resolved`` → ``closed``, with ``waiting_parts`` and ``waiting_customer`` on the way.
  Until the engineer is on site a repair can go back to dispatch (``new``: the supervisors'
  queue, or ``dispatched``: another station).
* **complaint**: handled by supervisors, never by a station, so it skips dispatch, visits and
  parts: ``new`` → ``accepted`` → ``resolved`` → ``closed`` (``waiting_customer`` between).
* **inquiry**, **presales**: answered (``closed``) or withdrawn (``cancelled``) straight from
  ``new``.

For every kind: ``closed`` and ``cancelled`` are final; a ``resolved`` ticket is either closed
or reopened (back to ``accepted``); an open ticket can be cancelled.
``waiting_customer`` returns to the status it left, or moves on to any status that status
could have moved to (``left_from``); when that status is not known, to any status from which
a ticket can wait on the customer, or their successors.
"""

from __future__ import annotations

from collections.abc import Mapping

from servicedesk.warranty.coverage import N_, Reason

__all__ = [
    "BACK_TO_DISPATCH",
    "FINAL_STATUSES",
    "KINDS",
    "REOPENED_STATUS",
    "STATION_MAY_SET",
    "STATUSES",
    "TRANSITIONS",
    "WAITING_CUSTOMER",
    "TransitionError",
    "allowed_next",
    "check_transition",
    "needs_reason",
]

#: Ticket statuses in workflow order (the same as ``servicedesk.tickets.models.TICKET_STATUSES``).
STATUSES = (
    "new",
    "dispatched",
    "accepted",
    "scheduled",
    "on_site",
    "waiting_customer",
    "waiting_parts",
    "resolved",
    "closed",
    "cancelled",
)
KINDS = ("inquiry", "presales", "repair", "complaint")
FINAL_STATUSES = frozenset({"closed", "cancelled"})
WAITING_CUSTOMER = "waiting_customer"
REOPENED_STATUS = "accepted"
#: Statuses that send a repair back to dispatch (the supervisors' queue, or another station).
BACK_TO_DISPATCH = frozenset({"new", "dispatched"})
#: The statuses a station user may move its own station's tickets to; the others (dispatch,
#: cancelling) are decisions of the call center and its supervisors.
STATION_MAY_SET = frozenset(
    {"accepted", "scheduled", "on_site", "waiting_customer", "waiting_parts", "resolved", "closed"}
)


def _table(rows: Mapping[str, set[str]]) -> dict[str, frozenset[str]]:
    table = {status: frozenset(rows.get(status, ())) for status in STATUSES}
    for status, targets in table.items():
        unknown = targets - set(STATUSES)
        if unknown or status in targets:
            raise ValueError(f"bad transitions from {status!r}: {sorted(targets)}")
    return table


_REPAIR = _table(
    {
        "new": {"dispatched", "waiting_customer", "cancelled"},
        "dispatched": {"accepted", "new", "waiting_customer", "cancelled"},
        "accepted": {
            "scheduled",
            "on_site",
            "waiting_customer",
            "waiting_parts",
            "resolved",
            "new",
            "dispatched",
            "cancelled",
        },
        "scheduled": {
            "accepted",
            "on_site",
            "waiting_customer",
            "waiting_parts",
            "resolved",
            "new",
            "dispatched",
            "cancelled",
        },
        "on_site": {"scheduled", "waiting_customer", "waiting_parts", "resolved", "cancelled"},
        "waiting_parts": {
            "accepted",
            "scheduled",
            "on_site",
            "waiting_customer",
            "resolved",
            "new",
            "dispatched",
            "cancelled",
        },
        "resolved": {"closed", REOPENED_STATUS},
    }
)
_COMPLAINT = _table(
    {
        "new": {"accepted", "waiting_customer", "resolved", "cancelled"},
        "accepted": {"waiting_customer", "resolved", "cancelled"},
        "resolved": {"closed", REOPENED_STATUS},
    }
)
_CONSULTATION = _table({"new": {"closed", "cancelled"}})


def _with_waiting(table: dict[str, frozenset[str]]) -> dict[str, frozenset[str]]:
    """Add the moves out of ``waiting_customer`` when ``left_from`` is not known."""
    entered_from = {status for status, targets in table.items() if WAITING_CUSTOMER in targets}
    onward = set(entered_from)
    for status in entered_from:
        onward |= table[status]
    onward.discard(WAITING_CUSTOMER)
    return {**table, WAITING_CUSTOMER: frozenset(onward)} if entered_from else table


#: ``TRANSITIONS[kind][current]``: the statuses ``current`` may change to (``waiting_customer``
#: lists every way out; :func:`allowed_next` narrows it by the status it was entered from).
TRANSITIONS: Mapping[str, Mapping[str, frozenset[str]]] = {
    "repair": _with_waiting(_REPAIR),
    "complaint": _with_waiting(_COMPLAINT),
    "inquiry": _CONSULTATION,
    "presales": _CONSULTATION,
}

_UNKNOWN_KIND = N_("%(kind)s is not a ticket kind.")
_UNKNOWN_STATUS = N_("%(new)s is not a ticket status.")
_SAME = N_("The ticket is already “%(current)s”.")
_FINAL = N_("The ticket is “%(current)s”: its status cannot change any more.")
_NOT_ALLOWED = N_("A ticket of kind “%(kind)s” cannot go from “%(current)s” to “%(new)s”.")
_NOT_BACK = N_(
    "The ticket waits on the customer since it was “%(left_from)s”: it can go back to that "
    "status or on from it, not to “%(new)s”."
)


class TransitionError(ValueError):
    """A status change the lifecycle does not allow; ``reason`` says why."""

    def __init__(self, reason: Reason):
        super().__init__(str(reason))
        self.reason = reason


def allowed_next(kind: str, current: str, *, left_from: str | None = None) -> tuple[str, ...]:
    """The statuses a ``kind`` ticket in ``current`` may change to, in :data:`STATUSES` order.

    ``left_from`` is the status the ticket was in when it started waiting on the customer
    (only used when ``current`` is ``waiting_customer``; ``None`` when not known).
    """
    _check_kind(kind)
    if current not in STATUSES:
        raise TransitionError(Reason(_UNKNOWN_STATUS, {"new": current}))
    table = TRANSITIONS[kind]
    targets = table[current]
    if current == WAITING_CUSTOMER and left_from in table and left_from != WAITING_CUSTOMER:
        targets = targets & ({left_from} | table[left_from])
    return tuple(status for status in STATUSES if status in targets)


def check_transition(kind: str, current: str, new: str, *, left_from: str | None = None) -> None:
    """Raise :class:`TransitionError` unless a ``kind`` ticket may go from ``current`` to ``new``.

    ``left_from``: see :func:`allowed_next`.
    """
    _check_kind(kind)
    params = {"kind": kind, "current": current, "new": new}
    if new not in STATUSES:
        raise TransitionError(Reason(_UNKNOWN_STATUS, params))
    if current == new:
        raise TransitionError(Reason(_SAME, params))
    if current in FINAL_STATUSES:
        raise TransitionError(Reason(_FINAL, params))
    if new in allowed_next(kind, current, left_from=left_from):
        return
    if current == WAITING_CUSTOMER and new in TRANSITIONS[kind][current]:
        raise TransitionError(Reason(_NOT_BACK, {**params, "left_from": left_from}))
    raise TransitionError(Reason(_NOT_ALLOWED, params))


def needs_reason(current: str, new: str, *, left_from: str | None = None) -> bool:
    """Whether the change must say why: cancelling, reopening, or sending back to dispatch.

    ``left_from``: see :func:`allowed_next` (going back to the status a ticket left to wait on
    the customer needs no reason unless leaving that status would).
    """
    origin = left_from if current == WAITING_CUSTOMER and left_from else current
    if new == "cancelled":
        return True
    if origin == "resolved" and new == REOPENED_STATUS:
        return True
    if new == "new":
        return origin != "new"
    if new == "dispatched":
        return origin not in BACK_TO_DISPATCH
    return False


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise TransitionError(Reason(_UNKNOWN_KIND, {"kind": kind}))
