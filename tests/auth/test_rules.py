"""The pure rules of access: throttling, the password policy, token and last-use times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from servicedesk.auth.rules import (
    FAILURE_WINDOW,
    Throttle,
    client_key,
    last_use_is_stale,
    password_problem,
    sign_in_throttle,
    stricter,
    token_usable,
)

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
M = timedelta(minutes=1)


def ago(*minutes: float) -> list[datetime]:
    return [NOW - m * M for m in minutes]


@pytest.mark.parametrize(
    ("failures", "expected"),
    [
        ([], Throttle(True)),
        (ago(1, 2, 3, 4), Throttle(True)),
        (ago(0, 1, 2, 3, 4), Throttle(False, 11 * 60)),  # oldest (4 min ago) ages out in 11
        (ago(10, 10, 10, 10, 10), Throttle(False, 5 * 60)),
        (ago(14.5, 1, 1, 1, 1), Throttle(False, 30)),
        (ago(15, 1, 1, 1, 1), Throttle(True)),  # 15 minutes old is outside the window
        (ago(20, 30, 40, 50, 60, 70), Throttle(True)),
        # six in the window: allowed again when two have aged out (the second oldest)
        (ago(12, 10, 5, 4, 3, 2), Throttle(False, 5 * 60)),
        (ago(1, 1, 1, 1, -1), Throttle(True)),  # one in the future does not count
        (ago(14.999, 1, 1, 1, 1), Throttle(False, 1)),  # never a zero Retry-After
    ],
)
def test_five_failures_in_fifteen_minutes_refuse_the_next_attempt(failures, expected):
    assert sign_in_throttle(failures, NOW) == expected


def test_the_limit_and_window_can_be_given():
    assert sign_in_throttle(ago(1, 2), NOW, limit=2) == Throttle(False, 13 * 60)
    assert sign_in_throttle(ago(1, 2), NOW, limit=3) == Throttle(True)
    assert sign_in_throttle(ago(1, 2), NOW, limit=2, window=2 * M) == Throttle(True)


@given(st.lists(st.integers(min_value=0, max_value=30 * 60), max_size=12))
def test_waiting_retry_after_seconds_always_allows_the_next_attempt(seconds_ago):
    failures = [NOW - timedelta(seconds=s) for s in seconds_ago]
    decision = sign_in_throttle(failures, NOW)
    if decision.allowed:
        assert decision.retry_after == 0
        return
    assert 1 <= decision.retry_after <= FAILURE_WINDOW.total_seconds()
    assert sign_in_throttle(failures, NOW + timedelta(seconds=decision.retry_after)).allowed
    assert not sign_in_throttle(failures, NOW + timedelta(seconds=decision.retry_after - 1)).allowed


def test_the_stricter_decision_wins():
    assert stricter(Throttle(True), Throttle(True)) == Throttle(True)
    assert stricter(Throttle(True), Throttle(False, 60)) == Throttle(False, 60)
    assert stricter(Throttle(False, 90), Throttle(False, 60)) == Throttle(False, 90)


COMMON = frozenset({"password123", "1234567890"})


@pytest.mark.parametrize(
    ("password", "username", "problem"),
    [
        ("correct horse battery", "agent1", None),
        ("demo-pass-2026", "agent", None),
        ("123456789", "agent1", "at least 10 characters"),
        ("", "agent1", "at least 10 characters"),
        ("lihua-2026", "lihua-2026", "not be the user name"),
        ("LiHua-2026", "lihua-2026", "not be the user name"),
        ("Password123", "agent1", "common passwords"),
        ("1234567890", "agent1", "common passwords"),
        ("Password1234", "agent1", None),
    ],
)
def test_password_policy(password, username, problem):
    found = password_problem(password, username, COMMON)
    if problem is None:
        assert found is None
    else:
        assert problem in found


@pytest.mark.parametrize(
    ("expires", "revoked", "usable"),
    [
        (NOW + M, None, True),
        (NOW, None, False),
        (NOW - M, None, False),
        (NOW + M, NOW - M, False),
    ],
)
def test_a_token_is_usable_until_it_expires_or_is_revoked(expires, revoked, usable):
    assert token_usable(expires, revoked, NOW) is usable


@pytest.mark.parametrize(
    ("last_used", "stale"),
    [(None, True), (NOW - 4 * M, False), (NOW - 5 * M, True), (NOW - 60 * M, True), (NOW, False)],
)
def test_a_tokens_last_use_is_written_at_most_every_five_minutes(last_used, stale):
    assert last_use_is_stale(last_used, NOW) is stale


def test_account_keys_ignore_case_and_blanks():
    assert client_key("  Agent1 ") == client_key("agent1") == "agent1"
    assert len(client_key("x" * 500)) == 100
