"""Sign in, sign out, and the interface language."""

from __future__ import annotations

from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext, refresh
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from servicedesk.auth.forms import LoginForm
from servicedesk.auth.models import User
from servicedesk.core.db import db
from servicedesk.extensions import login_manager
from servicedesk.warranty.coverage import N_

bp = Blueprint("auth", __name__)

login_manager.login_message = N_("Please sign in to see this page.")
login_manager.localize_callback = gettext


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    return db.session.get(User, int(user_id)) if user_id.isdigit() else None


def home_for(user: User) -> str:
    if user.role == "station":
        return url_for("tickets.station_queue")
    return url_for("callcenter.terminal")


@bp.before_app_request
def choose_locale_afresh() -> None:
    """Pick the language again for each request, even when requests share an app context
    (as the test client's do), so that a switch or a browser preference takes effect."""
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
        user = db.session.scalar(sa.select(User).where(User.username == form.username.data.strip()))
        if user is None or not user.active or not user.check_password(form.password.data):
            flash(_("Unknown user name or wrong password."), "error")
            return render_template("auth/login.html", form=form), 401
        login_user(user, remember=form.remember.data)
        target = request.args.get("next", "")
        if not _is_local(target):
            target = home_for(user)
        return redirect(target)
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
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
