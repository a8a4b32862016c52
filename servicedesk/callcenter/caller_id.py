"""Inbound calls as plain rules: who the caller ID says is calling, which queue the call waits
in, which languages greet the caller, and what a Twilio status callback does to the call.

Pure: no Flask, no database. ``servicedesk.callcenter.inbound`` does the I/O.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from servicedesk.customers.phones import normalize_phone

WITHHELD_WORDS = frozenset(
    {"", "anonymous", "restricted", "unknown", "private", "unavailable", "blocked", "withheld"}
)
"""What carriers put in ``From`` when the caller hides the number (compared case-folded)."""
WITHHELD_NUMBERS = frozenset(
    {
        "+266696687",  # A-N-O-N-Y-M-O-U-S on a keypad
        "+7378742833",  # R-E-S-T-R-I-C-T-E-D
        "+2562533",  # B-L-O-C-K-E-D
        "+8656696",  # U-N-A-V-A-I-L
        "+86282452253",  # U-N-K-N-O-W-N
    }
)
"""The pseudo numbers Twilio sends as ``From`` for a withheld caller ID."""

VIP_CLASS = "A"
QUEUES = ("vip", "general")
"""Queue names, in the order agents take calls from them."""

SAY_LANGUAGES = {"zh": "zh-CN", "en": "en-US"}
"""The ``<Say language>`` for each customer language."""
UNKNOWN_CALLER_LANGUAGES = ("zh", "en")
"""An unidentified caller is greeted in Chinese, then in English."""

FINAL_TWILIO_STATUSES = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})
"""Twilio call statuses after which the call is over."""


@dataclass(frozen=True)
class CallerId:
    """The caller as the ``From`` parameter tells: ``e164`` is None when the number is withheld
    or is not a valid phone number (then the caller cannot be identified by it)."""

    e164: str | None
    withheld: bool


def read_caller_id(from_value: str | None) -> CallerId:
    """Read Twilio's ``From``: any spelling of a number (``+8613800138000``,
    ``0086 138 0013 8000``, a national number, default region CN) gives its E.164 form;
    empty, ``anonymous``/``Restricted``/``Unknown``/... or a Twilio pseudo number is withheld."""
    text = (from_value or "").strip()
    if text.casefold() in WITHHELD_WORDS:
        return CallerId(e164=None, withheld=True)
    if text.startswith("client:") or text.startswith("sip:"):
        return CallerId(e164=None, withheld=False)
    digits = "".join(ch for ch in text if ch.isdigit())
    if "+" + digits in WITHHELD_NUMBERS:
        return CallerId(e164=None, withheld=True)
    e164 = normalize_phone(text)
    if e164 in WITHHELD_NUMBERS:
        return CallerId(e164=None, withheld=True)
    return CallerId(e164=e164, withheld=False)


def queue_for(customer_classes: Collection[str]) -> str:
    """``vip`` when any customer the number belongs to is a class A account, else ``general``.

    With several matching customers the agent chooses, but a key account is never left in the
    general queue because its number is shared."""
    return "vip" if VIP_CLASS in customer_classes else "general"


def greeting_languages(customer_languages: Collection[str]) -> tuple[str, ...]:
    """The languages the caller is greeted in, in order: the customers' one language when they
    all share it, otherwise (unknown caller, mixed languages) Chinese then English."""
    known = {language for language in customer_languages if language in SAY_LANGUAGES}
    if len(known) == 1 and len(set(customer_languages)) == 1:
        return (known.pop(),)
    return UNKNOWN_CALLER_LANGUAGES


def say_language(language: str) -> str:
    """``zh`` → ``zh-CN``, ``en`` → ``en-US``; anything else is spoken in Chinese."""
    return SAY_LANGUAGES.get(language, SAY_LANGUAGES["zh"])


def status_after(call_status: str | None, twilio_status: str) -> str | None:
    """The call's new status after a status callback, ``None`` for no change.

    A final Twilio status ends a call: ``abandoned`` when it was still waiting for an agent,
    ``ended`` when an agent had it. Anything else (``ringing``, ``in-progress``, ``queued``),
    or a call already over, is left alone, so a repeated callback changes nothing."""
    if twilio_status not in FINAL_TWILIO_STATUSES:
        return None
    if call_status == "queued":
        return "abandoned"
    if call_status == "connected":
        return "ended"
    return None
