"""Station administration pages for supervisors and admins: the list of stations with their
load and score, one station with its scorecard and history of changes, its edit form, and the
suspend and reinstate actions."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from servicedesk.auth.access import roles_required
from servicedesk.callcenter.labels import label
from servicedesk.core.db import db, utcnow
from servicedesk.stations.forms import STATION_STATUS_LABELS, StationForm, StatusActionForm
from servicedesk.stations.models import STATION_STATUSES, Region, Station
from servicedesk.stations.scorecard import percent
from servicedesk.stations.scorecards import review_reasons, stored_scorecard
from servicedesk.stations.services import (
    CHANGE_FIELDS,
    StationError,
    open_ticket_counts,
    reinstate_station,
    station_changes,
    station_load,
    suspend_station,
    update_station,
)
from servicedesk.warranty.coverage import Reason

bp = Blueprint("stations", __name__, url_prefix="/stations")

SUPERVISOR_ROLES = ("supervisor", "admin")
#: The form's inputs; the service validates them all (so every problem is shown at once).
EDITABLE_FIELDS = (*CHANGE_FIELDS, "reason")


@bp.app_template_filter("station_status")
def station_status_label(code: str | None) -> str:
    return str(STATION_STATUS_LABELS.get(code, code)) if code else ""


@bp.app_template_filter("station_value")
def station_value(value, field_name: str) -> str:
    """A before or after value of a station change, in words."""
    if field_name == "status":
        return station_status_label(value)
    if field_name == "satisfaction":
        return percent(value)
    if field_name == "product_lines":
        return ", ".join(label(line, "product_line") for line in value) or "—"
    if isinstance(value, list):
        return "、".join(value) or "—"
    return str(value)


@bp.app_template_filter("rate")
def rate(value) -> str:
    """A rate from 0 to 1 as a percentage (``—`` for none)."""
    return percent(value)


@bp.app_template_filter("stored_reasons")
def stored_reasons(items) -> list[Reason]:
    """Reasons stored as JSON (in a notification); unreadable ones are left out."""
    reasons = []
    for item in items or ():
        try:
            reasons.append(Reason.from_json(item))
        except ValueError:
            continue
    return reasons


bp.add_app_template_global(review_reasons, "scorecard_review")


bp.add_app_template_global(stored_scorecard, "station_scorecard")


def _language() -> str:
    locale = get_locale()
    return locale.language if locale else "en"


def _station_or_404(code: str) -> Station:
    station = db.session.scalar(sa.select(Station).where(Station.code == code))
    if station is None:
        abort(404)
    return station


def field_labels() -> dict[str, str]:
    form = StationForm(meta={"csrf": False}, formdata=None)
    labels = {name: str(form[name].label.text) for name in CHANGE_FIELDS}
    labels["satisfaction"] = _("Satisfaction score")
    return labels


@bp.route("/")
@roles_required(*SUPERVISOR_ROLES)
def index():
    """Every station with its region, status and load; filtered by ``region`` and ``status``."""
    regions = list(db.session.scalars(sa.select(Region).order_by(Region.code)))
    region_code = request.args.get("region", "").strip()
    status = request.args.get("status", "").strip()
    errors = []
    if region_code and region_code not in {region.code for region in regions}:
        errors.append(_("Choose a region from the list."))
    if status and status not in STATION_STATUSES:
        errors.append(_("Choose a status from the list."))
    statement = sa.select(Station).order_by(Station.region_code, Station.code)
    if region_code:
        statement = statement.where(Station.region_code == region_code)
    if status:
        statement = statement.where(Station.status == status)
    stations = [] if errors else list(db.session.scalars(statement))
    loads = open_ticket_counts(station.id for station in stations)
    return (
        render_template(
            "stations/index.html",
            stations=stations,
            loads=loads,
            regions=regions,
            region_names={region.code: region.display_name(_language()) for region in regions},
            statuses=STATION_STATUSES,
            selected={"region": region_code, "status": status},
            errors=errors,
        ),
        422 if errors else 200,
    )


@bp.route("/<code>")
@roles_required(*SUPERVISOR_ROLES)
def detail(code: str):
    """One station: coverage, load against capacity, scorecard, the suspend and reinstate
    actions, and its history."""
    return _detail_page(_station_or_404(code), StatusActionForm(formdata=None))


def _detail_page(station: Station, action_form: StatusActionForm, action_errors=()):
    load, capacity = station_load(station)
    return render_template(
        "stations/detail.html",
        station=station,
        load=load,
        capacity=capacity,
        region_name=station.region.display_name(_language()),
        changes=station_changes(station),
        labels=field_labels(),
        action_form=action_form,
        action_errors=list(action_errors),
    )


@bp.post("/<code>/suspend")
@roles_required(*SUPERVISOR_ROLES)
def suspend(code: str):
    """Suspend the station (no new repairs are dispatched to it), with the reason."""
    return _status_action(code, suspend_station, _("Station %(code)s suspended.", code=code))


@bp.post("/<code>/reinstate")
@roles_required(*SUPERVISOR_ROLES)
def reinstate(code: str):
    """Put a suspended station, or one on probation, back to active, with the reason."""
    return _status_action(code, reinstate_station, _("Station %(code)s reinstated.", code=code))


def _status_action(code: str, action, done: str):
    """Apply ``action`` (suspend or reinstate) from the detail page's form; a refusal shows
    the page again with the reasons (422) and changes nothing."""
    station = _station_or_404(code)
    form = StatusActionForm()
    form.validate()
    if "csrf_token" in form.errors:
        return _detail_page(station, form, form.errors["csrf_token"]), 400
    form.reason.errors = []
    try:
        action(current_user, station, reason=form.reason.data or "", now=utcnow())
    except StationError as error:
        db.session.rollback()
        errors = []
        for problem in error.problems:
            if problem.field == "reason":
                form.reason.errors.append(problem.render(_))
            else:
                errors.append(problem.render(_))
        return _detail_page(station, form, errors), 422
    db.session.commit()
    flash(done, "success")
    return redirect(url_for(".detail", code=station.code))


@bp.route("/<code>/edit", methods=["GET", "POST"])
@roles_required(*SUPERVISOR_ROLES)
def edit(code: str):
    """Change a station's cities, 4-hour cities, product lines, capacity and status.

    Invalid input re-renders the form with a message on every wrong field (422) and writes
    nothing.
    """
    station = _station_or_404(code)
    form = StationForm.for_station(station)
    if request.method == "POST":
        form = StationForm()
        form.validate()
        if "csrf_token" not in form.errors:
            for name in EDITABLE_FIELDS:
                form[name].errors = []
            try:
                change = update_station(current_user, station, **form.settings(), now=utcnow())
            except StationError as error:
                db.session.rollback()
                for problem in error.problems:
                    form[problem.field].errors.append(problem.render(_))
            else:
                db.session.commit()
                if change is None:
                    flash(_("Nothing changed."), "info")
                else:
                    flash(_("Station %(code)s saved.", code=station.code), "success")
                return redirect(url_for(".detail", code=station.code))
        return render_template("stations/edit.html", form=form, station=station), 422
    return render_template("stations/edit.html", form=form, station=station)
