"""The English and Chinese catalogues are complete, consistent, and compiled.

The messages are extracted here exactly as ``translations/README.md`` extracts them, so a string
added to the code or a template without updating the catalogues fails this test.
"""

from __future__ import annotations

import re
from datetime import date
from io import BytesIO
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po
from flask_babel import force_locale

from servicedesk.callcenter.display import render_reason
from servicedesk.warranty.coverage import EntitlementTerm, decide_coverage

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "translations"
LANGUAGES = ("en", "zh")
EXTRA_KEYWORDS = {"_l": None, "lazy_gettext": None, "lazy_ngettext": (1, 2), "N_": None}
PLACEHOLDER = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[sdif]")


def _ids(message_id) -> tuple[str, ...]:
    return (message_id,) if isinstance(message_id, str) else tuple(message_id)


def _strings(message_string) -> tuple[str, ...]:
    return (message_string,) if isinstance(message_string, str) else tuple(message_string)


@pytest.fixture(scope="module")
def extracted() -> set[str]:
    with open(ROOT / "babel.cfg", encoding="utf-8") as config:
        method_map, options_map = parse_mapping_cfg(config)
    keywords = {**DEFAULT_KEYWORDS, **EXTRA_KEYWORDS}
    return {
        _ids(message_id)[0]
        for _filename, _lineno, message_id, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=keywords
        )
    }


def _catalog(language: str):
    with open(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po", "rb") as po:
        return read_po(po, locale=language)


@pytest.fixture(scope="module", params=LANGUAGES)
def catalog(request):
    return _catalog(request.param)


def test_extraction_finds_code_templates_and_domain_reasons(extracted):
    assert "Find the caller" in extracted  # a template
    assert "Unknown user name or wrong password." in extracted  # a view
    assert "Carry-in warranty (depot)" in extracted  # a lazy label
    assert "Covered by onsite service until %(end)s." in extracted  # N_ in warranty/coverage.py
    assert (
        "Onsite service applies until %(end)s: an engineer comes to the site by the next "
        "business day." in extracted
    )  # N_ in sla/levels.py


def test_every_extracted_message_is_in_the_catalog(extracted, catalog):
    missing = sorted(message_id for message_id in extracted if message_id not in catalog)
    assert not missing, f"run the commands in translations/README.md; missing: {missing}"


def test_chinese_is_complete_and_not_fuzzy():
    catalog = _catalog("zh")
    assert not catalog.fuzzy
    untranslated = [m.id for m in catalog if m.id and not all(_strings(m.string))]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert not untranslated, untranslated
    assert not fuzzy, fuzzy


def test_chinese_keeps_every_placeholder():
    for message in _catalog("zh"):
        if not message.id:
            continue
        wanted = {name for text in _ids(message.id) for name in PLACEHOLDER.findall(text)}
        for text in _strings(message.string):
            found = set(PLACEHOLDER.findall(text))
            assert wanted <= found, (message.id, text)
            assert found <= wanted, (message.id, text)


def test_chinese_has_no_english_left():
    for message in _catalog("zh"):
        if not message.id:
            continue
        for text in _strings(message.string):
            words = re.findall(r"[A-Za-z]{4,}", PLACEHOLDER.sub("", text))
            assert not words, (message.id, text)


def _messages(catalog) -> dict:
    return {_ids(m.id): _strings(m.string) for m in catalog if m.id}


@pytest.mark.parametrize("language", LANGUAGES)
def test_compiled_catalog_matches_the_po_file(language):
    fresh = BytesIO()
    write_mo(fresh, _catalog(language), use_fuzzy=False)
    fresh.seek(0)
    with open(TRANSLATIONS / language / "LC_MESSAGES" / "messages.mo", "rb") as committed:
        assert _messages(read_mo(committed)) == _messages(read_mo(fresh)), (
            "run pybabel compile -d translations (translations/README.md)"
        )


def test_reasons_are_read_out_in_chinese_with_chinese_dates(app):
    decision = decide_coverage(
        entitlements=[EntitlementTerm("onsite", date(2024, 1, 1), date(2027, 2, 28))],
        product_line="laptop",
        on=date(2026, 11, 20),
    )
    with app.test_request_context("/"), force_locale("zh"):
        text = render_reason(decision.reasons[0])
    assert text == "在上门服务范围内，有效期至2027年2月28日。"
    with app.test_request_context("/"), force_locale("en"):
        assert render_reason(decision.reasons[0]) == "Covered by onsite service until Feb 28, 2027."
