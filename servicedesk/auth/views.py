"""Sign in, sign out, and the interface language."""

from __future__ import annotations

import math
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext, ngettext, refresh
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from servicedesk.auth.forms import LoginForm
from servicedesk.auth.models import User
from servicedesk.auth.services import end_login_session, sign_in, user_for_session
from servicedesk.core.db import db
from servicedesk.extensions import login_manager
from servicedesk.warranty.coverage import N_

bp = Blueprint("auth", __name__)

login_manager.login_message = N_("Please sign in to see this page.")
login_manager.localize_callback = gettext


@login_manager.user_loader
def load_user(session_key: str) -> User | None:
    """The user of the sign-in whose key the session (or remember-me) cookie carries, while
    that sign-in has not ended (sign-out, password change, deactivation) or expired."""
    return user_for_session(session_key)


def home_for(user: User) -> str:
    if user.role == "station":
        return url_for("tickets.station_queue")
    return url_for("callcenter.terminal")


@bp.before_app_request
def choose_user_and_locale_afresh() -> None:
    """Load the user and pick the language again for each request, even when requests share
    an app context (as the test client's do): Flask-Login keeps the user in ``g``, and a
    user of an earlier request (another terminal's, or a sign-in that has ended since) must
    never carry over."""
    g.pop("_login_user", None)
    refresh()


@bp.route("/")
def index():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    return redirect(url_for("auth.login"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        attempt = sign_in(
            form.username.data,
            form.password.data,
            address=request.remote_addr,
            remember=form.remember.data,
        )
        db.session.commit()
        if not attempt.throttle.allowed:
            return _too_many_attempts(form, attempt.throttle.retry_after)
        if attempt.user is None:
            flash(_("Unknown user name or wrong password."), "error")
            return render_template("auth/login.html", form=form), 401
        login_user(attempt.user, remember=form.remember.data)
        target = request.args.get("next", "")
        if not _is_local(target):
            target = home_for(attempt.user)
        return redirect(target)
    return render_template("auth/login.html", form=form)


def _too_many_attempts(form: LoginForm, retry_after: int):
    minutes = math.ceil(retry_after / 60)
    flash(
        ngettext(
            "Too many failed sign-ins. Try again in %(num)d minute.",
            "Too many failed sign-ins. Try again in %(num)d minutes.",
            minutes,
        ),
        "error",
    )
    headers = {"Retry-After": str(retry_after)}
    return render_template("auth/login.html", form=form), 429, headers


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    end_login_session(current_user.session_key)
    db.session.commit()
    logout_user()
    flash(_("Signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/language/<code>", methods=["POST"])
def set_language(code: str):
    if code not in current_app.config["LANGUAGES"]:
        abort(404)
    session["language"] = code
    if current_user.is_authenticated:
        current_user.language = code
        db.session.commit()
    refresh()
    target = request.form.get("next", "")
    return redirect(target if _is_local(target) else url_for("auth.index"))


def _is_local(target: str) -> bool:
    parts = urlsplit(target)
    return bool(target) and not parts.scheme and not parts.netloc and target.startswith("/")
