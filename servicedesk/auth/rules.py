"""Pure rules of access: sign-in throttling, the password policy, token and session lifetimes.

Plain values in, plain values out; the current time is always passed in.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

MAX_FAILURES = 5
"""Failed sign-ins (per account, and per address) after which the next attempt is refused."""
FAILURE_WINDOW = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 10
LAST_USED_PRECISION = timedelta(minutes=5)
"""A token's last use is written again only when the stored one is older than this."""


@dataclass(frozen=True)
class Throttle:
    allowed: bool
    retry_after: int = 0
    """Whole seconds until an attempt is allowed again (0 when allowed)."""


def sign_in_throttle(
    failures: Iterable[datetime],
    now: datetime,
    *,
    limit: int = MAX_FAILURES,
    window: timedelta = FAILURE_WINDOW,
) -> Throttle:
    """May one more sign-in be tried, given the times of earlier failures (of one account, or
    from one address)?

    Refused while ``limit`` or more failures lie within ``window`` before ``now``; allowed
    again once enough of them have aged out of the window that fewer than ``limit`` remain.
    """
    recent = sorted(at for at in failures if now - window < at <= now)
    if len(recent) < limit:
        return Throttle(allowed=True)
    # Allowed again when only limit - 1 failures remain within the window: once the
    # (len - limit + 1)-th oldest of them has aged out.
    deciding = recent[len(recent) - limit]
    wait = (deciding + window - now).total_seconds()
    return Throttle(allowed=False, retry_after=max(1, math.ceil(wait)))


def stricter(*throttles: Throttle) -> Throttle:
    """The decision that holds when several counters must all allow an attempt."""
    refused = [t for t in throttles if not t.allowed]
    if not refused:
        return Throttle(allowed=True)
    return Throttle(allowed=False, retry_after=max(t.retry_after for t in refused))


def password_problem(password: str, username: str, common: Collection[str]) -> str | None:
    """Why ``password`` may not be used by ``username``, or None when it may.

    ``common`` holds well-known passwords in lower case.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"the password must have at least {MIN_PASSWORD_LENGTH} characters"
    folded = password.casefold()
    if folded.strip() == username.strip().casefold():
        return "the password must not be the user name"
    if folded in common:
        return "this password is on a list of common passwords: choose another"
    return None


def token_usable(expires_at: datetime, revoked_at: datetime | None, now: datetime) -> bool:
    return revoked_at is None and now < expires_at


def last_use_is_stale(last_used_at: datetime | None, now: datetime) -> bool:
    """Whether a token's recorded last use should be written again (at most every few
    minutes, so that API requests do not each write)."""
    return last_used_at is None or now - last_used_at >= LAST_USED_PRECISION


def client_key(text: str) -> str:
    """The account key a typed user name is counted under: blanks and letter case do not
    give an attacker fresh attempts."""
    return text.strip().casefold()[:100]
