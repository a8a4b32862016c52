"""Phone numbers in any spelling, normalised to E.164 so that they match Twilio's caller ID.

Default region is CN: ``138 0013 8000``, ``+86-138-0013-8000``, ``0086 13800138000`` all become
``+8613800138000``; ``(010) 6275 1234`` and ``010-62751234 ext 8`` become ``+861062751234``
(the extension, ``8``, is kept apart).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers

DEFAULT_REGION = "CN"


class InvalidPhone(ValueError):
    """Raised for text that is not a valid phone number."""


@dataclass(frozen=True)
class Phone:
    e164: str
    extension: str | None = None


def parse_phone(text: str, region: str = DEFAULT_REGION) -> Phone:
    """Parse ``text`` into a valid number; raise :class:`InvalidPhone` otherwise."""
    if not text or not text.strip():
        raise InvalidPhone("empty phone number")
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(f"not a phone number: {text!r}") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(f"not a valid phone number: {text!r}")
    return Phone(
        e164=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        extension=number.extension or None,
    )


def normalize_phone(text: str, region: str = DEFAULT_REGION) -> str | None:
    """The E.164 form of ``text``, or ``None`` when it is not a valid number."""
    try:
        return parse_phone(text, region).e164
    except InvalidPhone:
        return None


def looks_like_phone(text: str) -> bool:
    """Whether a search term is meant as a phone number (mostly digits and phone punctuation)."""
    stripped = re.sub(r"[\s\-()+.]|ext\.?|x", "", text.strip(), flags=re.IGNORECASE)
    return len(stripped) >= 7 and stripped.isdigit()


def format_phone(e164: str, extension: str | None = None) -> str:
    """A readable national or international spelling for display."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    style = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if number.country_code == 86
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    text = phonenumbers.format_number(number, style)
    return f"{text} ext. {extension}" if extension else text
