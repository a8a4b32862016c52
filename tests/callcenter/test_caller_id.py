"""The inbound-call rules as plain tables: caller ID, queue, greeting languages, status."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from servicedesk.callcenter.caller_id import (
    FINAL_TWILIO_STATUSES,
    CallerId,
    greeting_languages,
    queue_for,
    read_caller_id,
    say_language,
    status_after,
)


@pytest.mark.parametrize(
    ("from_value", "expected"),
    [
        ("+8613800138000", CallerId("+8613800138000", False)),
        ("+86 138 0013 8000", CallerId("+8613800138000", False)),
        ("+86-138-0013-8000", CallerId("+8613800138000", False)),
        ("0086 13800138000", CallerId("+8613800138000", False)),
        ("13800138000", CallerId("+8613800138000", False)),
        ("8613800138000", CallerId("+8613800138000", False)),
        ("  +8613800138000  ", CallerId("+8613800138000", False)),
        ("+861062751234", CallerId("+861062751234", False)),
        ("010-62751234", CallerId("+861062751234", False)),
        ("+14155550100", CallerId("+14155550100", False)),
        ("+442071838750", CallerId("+442071838750", False)),
        # Withheld, in the spellings carriers and Twilio use.
        ("", CallerId(None, True)),
        (None, CallerId(None, True)),
        ("   ", CallerId(None, True)),
        ("anonymous", CallerId(None, True)),
        ("Anonymous", CallerId(None, True)),
        ("ANONYMOUS", CallerId(None, True)),
        ("Restricted", CallerId(None, True)),
        ("Unknown", CallerId(None, True)),
        ("Private", CallerId(None, True)),
        ("unavailable", CallerId(None, True)),
        ("+266696687", CallerId(None, True)),
        ("266696687", CallerId(None, True)),
        ("+7378742833", CallerId(None, True)),
        ("+2562533", CallerId(None, True)),
        ("+8656696", CallerId(None, True)),
        ("+86282452253", CallerId(None, True)),
        # Not a phone number, but not withheld: nobody can be identified by it.
        ("12345", CallerId(None, False)),
        ("not a number", CallerId(None, False)),
        ("client:agent-7", CallerId(None, False)),
        ("sip:alice@example.com", CallerId(None, False)),
    ],
)
def test_read_caller_id(from_value, expected):
    assert read_caller_id(from_value) == expected


@given(st.text(max_size=40))
def test_read_caller_id_never_fails_and_withheld_has_no_number(text):
    caller = read_caller_id(text)
    assert not (caller.withheld and caller.e164)
    assert caller.e164 is None or caller.e164.startswith("+")


@pytest.mark.parametrize(
    ("classes", "queue"),
    [
        ([], "general"),
        (["A"], "vip"),
        (["B"], "general"),
        (["C"], "general"),
        (["consumer"], "general"),
        (["B", "A"], "vip"),
        (["consumer", "C"], "general"),
    ],
)
def test_queue_for(classes, queue):
    assert queue_for(classes) == queue


@pytest.mark.parametrize(
    ("languages", "greeting"),
    [
        ([], ("zh", "en")),
        (["zh"], ("zh",)),
        (["en"], ("en",)),
        (["en", "en"], ("en",)),
        (["zh", "en"], ("zh", "en")),
        (["en", "zh"], ("zh", "en")),
        (["fr"], ("zh", "en")),
        (["en", "fr"], ("zh", "en")),
    ],
)
def test_greeting_languages(languages, greeting):
    assert greeting_languages(languages) == greeting


@pytest.mark.parametrize(
    ("language", "say"), [("zh", "zh-CN"), ("en", "en-US"), ("fr", "zh-CN"), ("", "zh-CN")]
)
def test_say_language(language, say):
    assert say_language(language) == say


@pytest.mark.parametrize(
    ("call_status", "twilio_status", "after"),
    [
        *(("queued", final, "abandoned") for final in sorted(FINAL_TWILIO_STATUSES)),
        *(("connected", final, "ended") for final in sorted(FINAL_TWILIO_STATUSES)),
        *(("ended", final, None) for final in sorted(FINAL_TWILIO_STATUSES)),
        *(("abandoned", final, None) for final in sorted(FINAL_TWILIO_STATUSES)),
        ("queued", "ringing", None),
        ("queued", "in-progress", None),
        ("queued", "queued", None),
        ("connected", "in-progress", None),
        ("queued", "nonsense", None),
        (None, "completed", None),
    ],
)
def test_status_after(call_status, twilio_status, after):
    assert status_after(call_status, twilio_status) == after


def test_final_statuses_are_twilios():
    assert {"completed", "busy", "failed", "no-answer", "canceled"} == FINAL_TWILIO_STATUSES
