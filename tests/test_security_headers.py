"""Every response carries the security headers, set once for the whole application, and the
templates keep to what the Content-Security-Policy allows."""

from __future__ import annotations

import re

import pytest

from servicedesk.config import PROJECT_ROOT

EXPECTED = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def assert_secured(response):
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, name
    parts = response.headers["Content-Security-Policy"].split(";")
    policy = dict(part.strip().split(" ", 1) for part in parts)
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["default-src"] == "'self'"


def test_html_pages_carry_the_headers(client, login, make_user):
    assert_secured(client.get("/login"))
    assert_secured(client.get("/agent/"))  # the redirect to sign in
    login(make_user("agent1"))
    response = client.get("/agent/")
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert_secured(response)
    assert_secured(client.get("/no/such/page"))  # error pages too


def test_api_answers_and_static_files_carry_them_too(client):
    assert_secured(client.get("/api/v1/tickets"))
    assert_secured(client.get("/api/v1/openapi.json"))
    assert_secured(client.get("/static/css/app.css"))


TEMPLATES = sorted((PROJECT_ROOT / "templates").rglob("*.html"))
FORBIDDEN = [
    (re.compile(r"\sstyle\s*="), "a style= attribute"),
    (re.compile(r"<style\b", re.I), "a <style> element"),
    (re.compile(r"<script\b(?![^>]*\bsrc=)", re.I), "an inline <script>"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "an inline event handler"),
    (re.compile(r"javascript:", re.I), "a javascript: URL"),
]


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_templates_have_nothing_inline_that_the_policy_blocks(template):
    text = template.read_text("utf-8")
    for pattern, what in FORBIDDEN:
        assert not pattern.search(text), f"{template.name} has {what}: move it to static/"


def test_the_forbidden_patterns_do_find_what_they_look_for():
    samples = [
        '<p style="color: red">',
        "<style>p {}</style>",
        "<script>alert(1)</script>",
        '<button onclick="go()">',
        '<a href="javascript:go()">',
    ]
    for (pattern, _), sample in zip(FORBIDDEN, samples, strict=True):
        assert pattern.search(sample)
    assert not FORBIDDEN[2][0].search('<script src="/static/js/app.js" defer></script>')
