"""Table tests for the ticket lifecycle: every (kind, from, to) pair, allowed or refused."""

from __future__ import annotations

import pytest

from servicedesk.tickets import lifecycle
from servicedesk.tickets.lifecycle import (
    STATION_MAY_SET,
    TransitionError,
    allowed_next,
    check_transition,
    needs_reason,
)
from servicedesk.tickets.models import TICKET_KINDS, TICKET_STATUSES

STATUSES = TICKET_STATUSES

# Written out by hand (not derived from lifecycle.TRANSITIONS) so that a changed rule fails here.
REPAIR = {
    "new": "dispatched waiting_customer cancelled",
    "dispatched": "new accepted waiting_customer cancelled",
    "accepted": (
        "new dispatched scheduled on_site waiting_customer waiting_parts resolved cancelled"
    ),
    "scheduled": (
        "new dispatched accepted on_site waiting_customer waiting_parts resolved cancelled"
    ),
    "on_site": "scheduled waiting_customer waiting_parts resolved cancelled",
    "waiting_customer": (
        "new dispatched accepted scheduled on_site waiting_parts resolved cancelled"
    ),
    "waiting_parts": (
        "new dispatched accepted scheduled on_site waiting_customer resolved cancelled"
    ),
    "resolved": "accepted closed",
    "closed": "",
    "cancelled": "",
}
COMPLAINT = {
    "new": "accepted waiting_customer resolved cancelled",
    "accepted": "waiting_customer resolved cancelled",
    "waiting_customer": "new accepted resolved cancelled",
    "resolved": "accepted closed",
}
CONSULTATION = {"new": "closed cancelled"}
EXPECTED = {
    "repair": REPAIR,
    "complaint": COMPLAINT,
    "inquiry": CONSULTATION,
    "presales": CONSULTATION,
}


def _allowed(kind: str, current: str) -> set[str]:
    return set(EXPECTED[kind].get(current, "").split())


TABLE = [
    pytest.param(kind, current, new, new in _allowed(kind, current), id=f"{kind}:{current}->{new}")
    for kind in TICKET_KINDS
    for current in STATUSES
    for new in STATUSES
]


def test_statuses_and_kinds_match_the_model():
    assert lifecycle.STATUSES == TICKET_STATUSES
    assert lifecycle.KINDS == TICKET_KINDS


@pytest.mark.parametrize(("kind", "current", "new", "allowed"), TABLE)
def test_transition_table(kind, current, new, allowed):
    if allowed:
        check_transition(kind, current, new)
        assert new in allowed_next(kind, current)
    else:
        with pytest.raises(TransitionError):
            check_transition(kind, current, new)
        assert new not in allowed_next(kind, current)


@pytest.mark.parametrize("kind", TICKET_KINDS)
@pytest.mark.parametrize("final", ["closed", "cancelled"])
def test_closed_and_cancelled_are_final(kind, final):
    assert allowed_next(kind, final) == ()
    for new in STATUSES:
        with pytest.raises(TransitionError) as refused:
            check_transition(kind, final, new)
        expected = "already" if new == final else "cannot change any more"
        assert expected in str(refused.value)


@pytest.mark.parametrize("kind", TICKET_KINDS)
def test_same_status_is_not_a_change(kind):
    with pytest.raises(TransitionError, match="already “new”"):
        check_transition(kind, "new", "new")


@pytest.mark.parametrize("kind", ["repair", "complaint"])
def test_resolved_is_closed_or_reopened(kind):
    assert allowed_next(kind, "resolved") == ("accepted", "closed")


def test_every_open_repair_and_complaint_status_can_be_cancelled():
    for kind in ("repair", "complaint"):
        for current in EXPECTED[kind]:
            if current not in ("resolved", "closed", "cancelled"):
                check_transition(kind, current, "cancelled")


def test_complaints_skip_dispatch_visits_and_parts():
    reachable = {new for current in STATUSES for new in allowed_next("complaint", current)}
    assert reachable.isdisjoint({"dispatched", "scheduled", "on_site", "waiting_parts"})


@pytest.mark.parametrize("kind", ["inquiry", "presales"])
def test_consultations_are_answered_or_withdrawn_at_once(kind):
    assert allowed_next(kind, "new") == ("closed", "cancelled")
    for current in STATUSES:
        if current != "new":
            assert allowed_next(kind, current) == ()


@pytest.mark.parametrize(
    ("left_from", "expected"),
    [
        ("new", ("new", "dispatched", "cancelled")),
        ("dispatched", ("new", "dispatched", "accepted", "cancelled")),
        (
            "accepted",
            (
                "new",
                "dispatched",
                "accepted",
                "scheduled",
                "on_site",
                "waiting_parts",
                "resolved",
                "cancelled",
            ),
        ),
        ("on_site", ("scheduled", "on_site", "waiting_parts", "resolved", "cancelled")),
        (
            "waiting_parts",
            (
                "new",
                "dispatched",
                "accepted",
                "scheduled",
                "on_site",
                "waiting_parts",
                "resolved",
                "cancelled",
            ),
        ),
    ],
)
def test_waiting_on_the_customer_returns_to_the_status_it_left_or_moves_on(left_from, expected):
    assert allowed_next("repair", "waiting_customer", left_from=left_from) == expected
    for new in STATUSES:
        if new in expected:
            check_transition("repair", "waiting_customer", new, left_from=left_from)
        else:
            with pytest.raises(TransitionError):
                check_transition("repair", "waiting_customer", new, left_from=left_from)


def test_leaving_the_wait_for_a_status_the_left_one_cannot_reach_names_it():
    with pytest.raises(TransitionError) as refused:
        check_transition("repair", "waiting_customer", "resolved", left_from="new")
    assert refused.value.reason.params == {
        "kind": "repair",
        "current": "waiting_customer",
        "new": "resolved",
        "left_from": "new",
    }
    assert "since it was “new”" in str(refused.value)


def test_complaint_waiting_returns_to_new_only_if_it_left_new():
    assert allowed_next("complaint", "waiting_customer", left_from="new") == (
        "new",
        "accepted",
        "resolved",
        "cancelled",
    )
    assert allowed_next("complaint", "waiting_customer", left_from="accepted") == (
        "accepted",
        "resolved",
        "cancelled",
    )


def test_refusal_reason_carries_codes_for_the_caller_to_label():
    with pytest.raises(TransitionError) as refused:
        check_transition("inquiry", "new", "dispatched")
    reason = refused.value.reason
    assert reason.params == {"kind": "inquiry", "current": "new", "new": "dispatched"}
    assert str(refused.value) == "A ticket of kind “inquiry” cannot go from “new” to “dispatched”."


@pytest.mark.parametrize(
    ("kind", "current", "new"),
    [("repair", "new", "bogus"), ("repair", "bogus", "new"), ("ticket", "new", "closed")],
)
def test_unknown_codes_are_refused(kind, current, new):
    with pytest.raises(TransitionError):
        check_transition(kind, current, new)


@pytest.mark.parametrize(
    ("current", "new", "left_from", "needed"),
    [
        ("accepted", "cancelled", None, True),
        ("new", "cancelled", None, True),
        ("resolved", "accepted", None, True),
        ("dispatched", "new", None, True),
        ("accepted", "dispatched", None, True),
        ("new", "dispatched", None, False),
        ("dispatched", "accepted", None, False),
        ("on_site", "resolved", None, False),
        ("resolved", "closed", None, False),
        ("waiting_customer", "new", "new", False),
        ("waiting_customer", "dispatched", "dispatched", False),
        ("waiting_customer", "new", "accepted", True),
        ("waiting_customer", "accepted", "accepted", False),
        ("waiting_customer", "cancelled", "new", True),
    ],
)
def test_reason_needed_for_cancel_reopen_and_back_to_dispatch(current, new, left_from, needed):
    assert needs_reason(current, new, left_from=left_from) is needed


def test_stations_may_not_dispatch_or_cancel():
    assert {"new", "dispatched", "cancelled"}.isdisjoint(STATION_MAY_SET)
    assert {"accepted", "on_site", "resolved", "closed"} <= STATION_MAY_SET
