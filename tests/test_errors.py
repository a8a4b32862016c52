"""Error pages: HTML from templates for the web UI, never for /api/ requests."""

from __future__ import annotations

import pytest
from flask import abort

from servicedesk import create_app
from servicedesk.errors import init_errors


@pytest.fixture(scope="module")
def web_app(app):
    config = {key: app.config[key] for key in ("SECRET_KEY", "SQLALCHEMY_DATABASE_URI")}
    web = create_app({**config, "TESTING": True, "WTF_CSRF_ENABLED": False})
    init_errors(web)

    @web.route("/boom")
    def boom():
        raise RuntimeError("kaboom")

    @web.route("/api/v1/test-forbidden")
    def api_forbidden():
        abort(403)

    web.config["PROPAGATE_EXCEPTIONS"] = False
    yield web
    with web.app_context():
        from servicedesk.core.db import db

        db.engine.dispose()


def test_404_page_is_rendered_from_the_template(web_app):
    response = web_app.test_client().get("/no/such/page")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "Not found" in html and 'class="skip-link"' in html
    assert response.mimetype == "text/html"


def test_403_page_for_a_station_user(web_app, make_user, make_station, db):
    from tests.conftest import PASSWORD

    make_station("BJ-01")
    make_user("station1", role="station", station_code="BJ-01")
    db.session.commit()
    client = web_app.test_client()
    client.post("/login", data={"username": "station1", "password": PASSWORD})
    response = client.get("/agent/")
    assert response.status_code == 403
    assert "Not allowed" in response.get_data(as_text=True)


def test_500_page_says_nothing_was_saved(web_app):
    response = web_app.test_client().get("/boom")
    assert response.status_code == 500
    assert "nothing was saved" in response.get_data(as_text=True)


def test_chinese_error_page(web_app):
    response = web_app.test_client().get("/nowhere", headers={"Accept-Language": "zh-CN"})
    assert response.status_code == 404
    assert "找不到" in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/api/v1/no-such-endpoint", "/api/v1/test-forbidden"])
def test_api_errors_are_left_to_the_api_error_handler(web_app, path):
    response = web_app.test_client().get(path)
    assert response.status_code in (403, 404)
    assert 'class="skip-link"' not in response.get_data(as_text=True)
    assert response.is_json
