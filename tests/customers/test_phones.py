import pytest

from servicedesk.customers.phones import (
    InvalidPhone,
    format_phone,
    looks_like_phone,
    normalize_phone,
    parse_phone,
)

MOBILE = "+8613800138000"
BEIJING_LANDLINE = "+861062751234"


@pytest.mark.parametrize(
    ("text", "e164", "extension"),
    [
        ("138 0013 8000", MOBILE, None),
        ("13800138000", MOBILE, None),
        ("+86-138-0013-8000", MOBILE, None),
        ("+86 138 0013 8000", MOBILE, None),
        ("0086 13800138000", MOBILE, None),
        ("008613800138000", MOBILE, None),
        ("8613800138000", MOBILE, None),
        ("+8613800138000", MOBILE, None),
        ("(010) 6275 1234", BEIJING_LANDLINE, None),
        ("010-62751234", BEIJING_LANDLINE, None),
        ("+86 10 6275 1234", BEIJING_LANDLINE, None),
        ("0086-10-62751234", BEIJING_LANDLINE, None),
        ("010-62751234 ext 8", BEIJING_LANDLINE, "8"),
        ("010-62751234 ext. 812", BEIJING_LANDLINE, "812"),
        ("(010) 6275 1234 x8", BEIJING_LANDLINE, "8"),
        ("021-5012 3456", "+862150123456", None),
        ("0755 8888 8888", "+8675588888888", None),
        ("+1 650 253 0000", "+16502530000", None),
        ("+852 2123 4567", "+85221234567", None),
    ],
)
def test_every_spelling_normalises_to_e164(text, e164, extension):
    phone = parse_phone(text)
    assert phone.e164 == e164
    assert phone.extension == extension
    assert normalize_phone(text) == e164


@pytest.mark.parametrize(
    "text", ["", "   ", "12345", "abc", "138 0013 800", "+86 000 0000 0000", "phone: n/a"]
)
def test_invalid_numbers_are_refused(text):
    with pytest.raises(InvalidPhone):
        parse_phone(text)
    assert normalize_phone(text) is None


def test_same_number_in_any_spelling_matches_twilio_caller_id():
    spellings = ["138 0013 8000", "+86-138-0013-8000", "0086 13800138000"]
    assert {normalize_phone(text) for text in spellings} == {"+8613800138000"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("138 0013 8000", True),
        ("+86-138-0013-8000", True),
        ("(010) 6275 1234", True),
        ("010-62751234 ext 8", True),
        ("PF3ABC12", False),
        ("张伟", False),
        ("C0001", False),
        ("12345", False),
    ],
)
def test_looks_like_phone(text, expected):
    assert looks_like_phone(text) is expected


@pytest.mark.parametrize(
    ("e164", "extension", "shown"),
    [
        (MOBILE, None, "138 0013 8000"),
        (BEIJING_LANDLINE, "8", "010 6275 1234 ext. 8"),
        ("+16502530000", None, "+1 650-253-0000"),
        ("garbage", None, "garbage"),
    ],
)
def test_format_phone(e164, extension, shown):
    assert format_phone(e164, extension) == shown
