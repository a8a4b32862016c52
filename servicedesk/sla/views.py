"""SLA pages: the supervisors' board, compliance figures, and the target table (admins edit it).

Also registers the template helpers that show a ticket's clocks on any page
(``templates/sla/_ticket_clocks.html``): due times in the customer's time zone, remaining time,
and a colour class per clock.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_datetime as babel_format_datetime
from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    flash,
    has_request_context,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from servicedesk.auth.access import roles_required
from servicedesk.callcenter.labels import label
from servicedesk.core.db import db, utcnow
from servicedesk.sla import reports
from servicedesk.sla.forms import TargetRowForm
from servicedesk.sla.levels import SERVICE_LEVELS
from servicedesk.sla.services import set_targets
from servicedesk.sla.standing import Standing
from servicedesk.sla.targets import TICKET_KINDS, WARN_FRACTION

bp = Blueprint("sla", __name__, url_prefix="/sla")
bp.record_once(lambda state: register_sla_helpers(state.app))

SUPERVISOR_ROLES = ("supervisor", "admin")
DUE_FORMAT = "EEE yyyy-MM-dd HH:mm"
NOW_KEY = "servicedesk.sla.now"

TARGET_LABELS = {
    "respond": _l("Respond"),
    "arrive": _l("On site / received"),
    "resolve": _l("Resolve"),
}
STATE_LABELS = {
    "met": _l("Met on time"),
    "late": _l("Met late"),
    "breached": _l("Breached"),
    "running": _l("Running"),
    "paused": _l("Paused: waiting for the customer"),
    "stopped": _l("Stopped: ticket cancelled"),
}
COLOUR_LABELS = {
    "ok": _l("On track"),
    "at-risk": _l("At risk"),
    "breached": _l("Breached"),
    "stopped": _l("Stopped"),
}
BOARD_STATE_LABELS = {"at_risk": _l("At risk"), "breached": _l("Breached")}
SORT_LABELS = {
    "urgent": _l("Most urgent first"),
    "opened": _l("Oldest ticket first"),
    "station": _l("By station"),
    "region": _l("By region"),
}
CLOCK_LABELS = {"business": _l("business hours"), "24x7": _l("around the clock")}
TABLES = {
    "target": TARGET_LABELS,
    "state": STATE_LABELS,
    "colour": COLOUR_LABELS,
    "board_state": BOARD_STATE_LABELS,
    "sort": SORT_LABELS,
    "clock": CLOCK_LABELS,
}


# --- template helpers ---------------------------------------------------------------------


def sla_now() -> datetime:
    """One instant per request, so that every clock on a page is measured at the same time."""
    if not has_request_context():
        return utcnow()
    if NOW_KEY not in request.environ:
        request.environ[NOW_KEY] = utcnow()
    return request.environ[NOW_KEY]


def user_timezone() -> str:
    """The signed-in user's zone, or the service's."""
    if current_user and current_user.is_authenticated and current_user.timezone:
        return current_user.timezone
    return current_app.config["SERVICEDESK_TIMEZONE"]


def sla_clocks(ticket) -> list[Standing]:
    """The ticket's clocks now (see :func:`servicedesk.sla.reports.ticket_standings`)."""
    return reports.ticket_standings(ticket, sla_now())


def sla_next(ticket) -> Standing | None:
    """The ticket's open clock due first, or None."""
    return reports.next_standing(sla_clocks(ticket))


def sla_label(code: str | None, table: str) -> str:
    if code is None:
        return ""
    if table in TABLES:
        return str(TABLES[table].get(code, code))
    return label(code, table)


def due_time(moment: datetime | None, timezone: str | None = None) -> str:
    """A stored UTC instant in ``timezone`` (default: the user's), with the weekday."""
    if moment is None:
        return ""
    zone = ZoneInfo(timezone or user_timezone())
    return babel_format_datetime(moment, DUE_FORMAT, tzinfo=zone, locale=get_locale())


def duration(delta: timedelta | None) -> str:
    """A length of time in days, hours and minutes (the two largest units)."""
    if delta is None:
        return ""
    minutes = int(abs(delta).total_seconds() // 60)
    if minutes < 1:
        return _("under a minute")
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        if hours:
            return _("%(days)d d %(hours)d h", days=days, hours=hours)
        return _("%(days)d d", days=days)
    if hours:
        if minutes:
            return _("%(hours)d h %(minutes)d min", hours=hours, minutes=minutes)
        return _("%(hours)d h", hours=hours)
    return _("%(minutes)d min", minutes=minutes)


def target_length(seconds: int) -> str:
    """A target's length in hours and minutes, the way targets are set ("24 h", "30 min")."""
    hours, rest = divmod(seconds // 60, 60)
    if hours and rest:
        return _("%(hours)d h %(minutes)d min", hours=hours, minutes=rest)
    if hours:
        return _("%(hours)d h", hours=hours)
    return _("%(minutes)d min", minutes=rest)


def describe_target(stored: dict | None) -> str:
    """A stored target (``Target.to_json()``) in words: "2 h, business hours"."""
    if stored is None:
        return _("No target")
    clock = sla_label(stored.get("clock", "business"), "clock")
    kind = stored["kind"]
    if kind == "duration":
        text = _("%(duration)s, %(clock)s", duration=target_length(stored["seconds"]), clock=clock)
    elif kind == "business_days":
        days = ngettext("%(num)d business day", "%(num)d business days", stored["days"])
        text = days if stored.get("clock") == "business" else f"{days}, {clock}"
    else:
        text = _("end of the next business day")
    if stored.get("starts") == "diagnosis_ended":
        text = _("%(target)s, from the end of the phone diagnosis", target=text)
    return text


def register_sla_helpers(app: Flask) -> None:
    app.add_template_global(sla_clocks, "sla_clocks")
    app.add_template_global(sla_next, "sla_next")
    app.add_template_global(sla_now, "sla_now")
    app.add_template_global(user_timezone, "user_timezone")
    app.add_template_filter(sla_label, "sla_label")
    app.add_template_filter(due_time, "due_time")
    app.add_template_filter(duration, "duration")
    app.add_template_filter(describe_target, "describe_target")


# --- the board ----------------------------------------------------------------------------


def _board_filters() -> reports.BoardFilters:
    args = request.args
    page_text = args.get("page", "1").strip() or "1"
    if not page_text.isdigit() or len(page_text) > 6:
        raise reports.BoardFilterError("not a page number", field="page")
    return reports.BoardFilters(
        region=args.get("region") or None,
        station=args.get("station") or None,
        state=args.get("state") or None,
        sort=args.get("sort") or "urgent",
        page=int(page_text),
    )


def _filter_message(error: reports.BoardFilterError) -> str:
    messages = {
        "region": _("Choose a region from the list."),
        "station": _("Choose a station from the list."),
        "state": _("Choose at risk, breached or both."),
        "sort": _("Choose an order from the list."),
        "page": _("Give a page number from 1 on."),
    }
    return messages.get(error.field, _("The filters could not be used."))


@bp.route("/board")
@roles_required(*SUPERVISOR_ROLES)
def board():
    """Open tickets at risk or breached, counted by region and station."""
    language = get_locale().language if get_locale() else "en"
    context = {
        "regions": reports.regions(language),
        "stations": reports.stations(),
        "no_station": reports.NO_STATION,
        "sorts": reports.BOARD_SORTS,
        "states": reports.BOARD_STATES,
        "now": sla_now(),
        "warn_percent": round(WARN_FRACTION * 100),
    }
    try:
        filters = _board_filters()
        result = reports.sla_board(filters, now=sla_now())
    except reports.BoardFilterError as error:
        return (
            render_template(
                "sla/board.html",
                board=None,
                filters=reports.BoardFilters(),
                error=_filter_message(error),
                **context,
            ),
            422,
        )
    return render_template("sla/board.html", board=result, filters=filters, error=None, **context)


# --- compliance ---------------------------------------------------------------------------


def _parse_day(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise reports.PeriodError(f"{field} is not a date", field) from None


def _period() -> reports.Period:
    """The period asked for (``start``/``end`` as YYYY-MM-DD, both included) in the user's
    zone; the last 30 days when neither is given. Raises :class:`reports.PeriodError`."""
    timezone = user_timezone()
    default = reports.Period.last_days(sla_now().astimezone(ZoneInfo(timezone)).date(), timezone)
    start_text = request.args.get("start", "").strip()
    end_text = request.args.get("end", "").strip()
    start = _parse_day(start_text, "start") if start_text else default.start
    end = _parse_day(end_text, "end") if end_text else default.end
    return reports.Period(start, end, timezone)


def _period_message(error: reports.PeriodError) -> str:
    if "not a date" in str(error):
        if error.field == "start":
            return _("The start is not a date: write it as YYYY-MM-DD.")
        return _("The end is not a date: write it as YYYY-MM-DD.")
    if "before the start" in str(error):
        return _("The end date is before the start date.")
    if "at most" in str(error):
        return _("Choose a period of at most %(days)d days.", days=reports.MAX_PERIOD_DAYS)
    return _(
        "Choose dates between %(first)d and %(last)d.",
        first=reports.FIRST_YEAR,
        last=reports.LAST_YEAR,
    )


def _place_names() -> dict[str, dict[str, str]]:
    language = get_locale().language if get_locale() else "en"
    return {
        "region": {place.code: place.name for place in reports.regions(language)},
        "station": {place.code: place.name for place in reports.stations()},
    }


@bp.route("/compliance")
@roles_required(*SUPERVISOR_ROLES)
def compliance():
    """Targets due in a period: met on time, breached, and the share met."""
    try:
        period = _period()
    except reports.PeriodError as error:
        form = {"start": request.args.get("start", ""), "end": request.args.get("end", "")}
        return (
            render_template(
                "sla/compliance.html",
                report=None,
                form=form,
                error=_period_message(error),
                error_field=error.field,
            ),
            422,
        )
    report = reports.compliance(period, now=sla_now())
    form = {"start": period.start.isoformat(), "end": period.end.isoformat()}
    return render_template(
        "sla/compliance.html",
        report=report,
        form=form,
        error=None,
        error_field=None,
        names=_place_names(),
        levels=SERVICE_LEVELS,
    )


@bp.route("/compliance.csv")
@roles_required(*SUPERVISOR_ROLES)
def compliance_csv():
    """The compliance figures as CSV (UTF-8 with a byte-order mark, for spreadsheets)."""
    try:
        period = _period()
    except reports.PeriodError as error:
        return Response(_period_message(error) + "\n", status=422, mimetype="text/plain")
    report = reports.compliance(period, now=sla_now())
    names = _place_names()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["group", "code", "name", "met", "breached", "undecided", "compliance_percent"])

    def write(group: str, line: reports.ComplianceLine, name: str) -> None:
        percent = "" if line.percent is None else f"{line.percent:.1f}"
        writer.writerow(
            [group, line.code or "", name, line.met, line.breached, line.undecided, percent]
        )

    write("overall", report.overall, "")
    for line in report.by_target:
        write("target", line, sla_label(line.code, "target"))
    for line in report.by_level:
        write("service_level", line, label(line.code, "service_level") if line.code else "")
    for line in report.by_region:
        write("region", line, names["region"].get(line.code or "", ""))
    for line in report.by_station:
        write("station", line, names["station"].get(line.code or "", ""))
    filename = f"sla-compliance-{period.start.isoformat()}-{period.end.isoformat()}.csv"
    return Response(
        "\ufeff" + out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# --- the target table ---------------------------------------------------------------------


@bp.route("/targets")
@roles_required(*SUPERVISOR_ROLES)
def targets():
    """The target table new tickets get, and its change history (supervisors read it)."""
    return render_template(
        "sla/targets.html",
        rows=reports.target_rows(),
        changes=reports.target_changes(),
        can_edit=current_user.has_role("admin"),
    )


def _row_or_404() -> tuple[str, str]:
    level = request.args.get("level", "")
    kind = request.args.get("kind", "")
    if level not in SERVICE_LEVELS or kind not in TICKET_KINDS:
        abort(404)
    return level, kind


@bp.route("/targets/edit", methods=["GET", "POST"])
@roles_required("admin")
def edit_targets():
    """Change one row of the target table; tickets already open keep their promise."""
    level, kind = _row_or_404()
    current = next(
        row
        for row in reports.target_rows()
        if row.service_level == level and row.ticket_kind == kind
    )
    form = TargetRowForm.for_targets(current.targets)
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                targets = form.ticket_targets()
            except ValueError:
                form.form_errors.append(_("These targets cannot be used together: check them."))
            else:
                change = set_targets(current_user, level, kind, targets, now=utcnow())
                db.session.commit()
                if change is None:
                    flash(_("Nothing changed."), "info")
                else:
                    flash(
                        _(
                            "Targets for %(level)s, %(kind)s saved: they apply to tickets "
                            "opened from now on.",
                            level=label(level, "service_level"),
                            kind=label(kind, "kind"),
                        ),
                        "success",
                    )
                return redirect(url_for(".targets", _anchor=f"row-{level}-{kind}"))
        return (
            render_template(
                "sla/target_edit.html", form=form, level=level, kind=kind, current=current
            ),
            422,
        )
    return render_template(
        "sla/target_edit.html", form=form, level=level, kind=kind, current=current
    )
