"""Satisfaction callbacks in the web UI: the supervisors' page of callbacks with their
outcomes, the cancel and call-now actions, the do-not-call actions of the customer card, and
the template helpers that show a repair's callback on the ticket page and the do-not-call
entries on the customer card.

The work is done by the services of :mod:`servicedesk.callcenter.callbacks`; the views here
parse the input, commit, and say what happened.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from math import ceil
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import selectinload

from servicedesk.auth.access import AGENT_ROLES, roles_required
from servicedesk.callcenter.callbacks import (
    CallbackActionError,
    add_do_not_call,
    call_callback_now,
    callback_for_update,
    cancel_callback,
    do_not_call_entries,
    remove_do_not_call,
)
from servicedesk.callcenter.display import when_in
from servicedesk.callcenter.models import CALLBACK_STATUSES, Callback, DoNotCallNumber
from servicedesk.core.db import db, utcnow
from servicedesk.customers.models import Customer
from servicedesk.sla.views import user_timezone
from servicedesk.stations.models import Station
from servicedesk.tickets.models import Ticket

bp = Blueprint("callbacks", __name__, url_prefix="/callbacks")

SUPERVISOR_ROLES = ("supervisor", "admin")
PAGE_SIZE = 50
PAGE_MAX = 100_000
"""Page numbers beyond this are refused (a bad link, not a real page)."""


class FilterError(ValueError):
    """A filter of the callbacks page that cannot be used; ``field`` names it."""

    def __init__(self, field: str):
        super().__init__(field)
        self.field = field


@dataclass(frozen=True)
class CallbackFilters:
    """The page's filters: a status, a station code, and the first and last day (in the
    reader's zone, both included) on which the callbacks were scheduled."""

    status: str | None = None
    station: str | None = None
    since: date | None = None
    until: date | None = None
    page: int = 1

    def link_args(self, *, status: bool = True) -> dict[str, str]:
        """The filters as query arguments for links (without the page; without the status
        when ``status`` is false)."""
        values = {
            "status": self.status if status else None,
            "station": self.station,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
        }
        return {name: value for name, value in values.items() if value}


@dataclass
class CallbackPage:
    rows: list[Callback]
    matching: int
    page: int
    pages: int
    counts: dict[str, int]
    """Callbacks per status with the other filters applied (every status, zeros included)."""


def _day(text: str | None, field: str) -> date | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise FilterError(field) from None


def parse_filters(args) -> CallbackFilters:
    """The filters from the query string; :class:`FilterError` for one that cannot be used."""
    status = (args.get("status") or "").strip() or None
    if status is not None and status not in CALLBACK_STATUSES:
        raise FilterError("status")
    station = (args.get("station") or "").strip() or None
    if station is not None and not db.session.scalar(
        sa.select(Station.id).where(Station.code == station)
    ):
        raise FilterError("station")
    since = _day(args.get("since"), "since")
    until = _day(args.get("until"), "until")
    if since and until and since > until:
        raise FilterError("until")
    page_text = (args.get("page") or "1").strip()
    if not page_text.isdigit() or not 1 <= int(page_text) <= PAGE_MAX:
        raise FilterError("page")
    return CallbackFilters(status, station, since, until, int(page_text))


def _start_of(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


def callback_page(filters: CallbackFilters, timezone: str) -> CallbackPage:
    """One page of callbacks, newest first (scheduled time, then id), with the counts per
    status; ``timezone`` is the zone the filter's days are in."""
    zone = ZoneInfo(timezone)
    conditions: list[sa.ColumnElement[bool]] = []
    if filters.station:
        conditions.append(
            Callback.station_id
            == sa.select(Station.id).where(Station.code == filters.station).scalar_subquery()
        )
    if filters.since:
        conditions.append(Callback.created_at >= _start_of(filters.since, zone))
    if filters.until:
        conditions.append(Callback.created_at < _start_of(filters.until + timedelta(days=1), zone))
    counted = dict(
        db.session.execute(
            sa.select(Callback.status, sa.func.count()).where(*conditions).group_by(Callback.status)
        ).all()
    )
    counts = {status: counted.get(status, 0) for status in CALLBACK_STATUSES}
    if filters.status:
        conditions.append(Callback.status == filters.status)
        matching = counts[filters.status]
    else:
        matching = sum(counts.values())
    pages = max(1, ceil(matching / PAGE_SIZE))
    rows = db.session.scalars(
        sa.select(Callback)
        .where(*conditions)
        .order_by(Callback.created_at.desc(), Callback.id.desc())
        .offset((filters.page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
        .options(
            selectinload(Callback.ticket),
            selectinload(Callback.customer),
            selectinload(Callback.station),
            selectinload(Callback.follow_up_ticket),
            selectinload(Callback.answers),
        )
    ).all()
    return CallbackPage(list(rows), matching, filters.page, pages, counts)


def _filter_message(error: FilterError) -> str:
    messages = {
        "status": _("Choose a status from the list."),
        "station": _("Choose a station from the list."),
        "since": _("Write the first day as YYYY-MM-DD."),
        "until": _("Write the last day as YYYY-MM-DD, not before the first day."),
        "page": _("Give a page number from 1 on."),
    }
    return messages.get(error.field, _("The filters could not be used."))


@bp.route("")
@roles_required(*SUPERVISOR_ROLES)
def index():
    """The callbacks, filtered and paged, with the counts per status at the top."""
    context = {
        "statuses": CALLBACK_STATUSES,
        "stations": db.session.execute(
            sa.select(Station.code, Station.name).order_by(Station.code)
        ).all(),
        "args": request.args,
    }
    try:
        filters = parse_filters(request.args)
    except FilterError as error:
        return (
            render_template(
                "callcenter/callbacks.html",
                filters=CallbackFilters(),
                result=None,
                error=_filter_message(error),
                error_field=error.field,
                **context,
            ),
            422,
        )
    result = callback_page(filters, user_timezone())
    return render_template(
        "callcenter/callbacks.html", filters=filters, result=result, error=None, **context
    )


def _back(default: str):
    target = request.form.get("next", "")
    if not (target.startswith("/") and not target.startswith("//") and "\\" not in target):
        target = default
    return redirect(target, code=303)


def _repair_callback(number: str) -> tuple[Ticket, Callback]:
    ticket = db.session.scalar(sa.select(Ticket).where(Ticket.number == number))
    if ticket is None:
        abort(404)
    callback = callback_for_update(ticket.id)
    if callback is None:
        abort(404)
    return ticket, callback


def _callback_action(number: str, action, done) -> object:
    ticket, callback = _repair_callback(number)
    try:
        action(current_user, callback, reason=request.form.get("reason", ""), now=utcnow())
    except CallbackActionError as error:
        db.session.rollback()
        flash(error.reason.render(_), "error")
        return _back(url_for("tickets.detail", number=ticket.number))
    db.session.commit()
    flash(done(callback), "success")
    return _back(url_for("tickets.detail", number=ticket.number))


@bp.post("/<number>/cancel")
@roles_required(*SUPERVISOR_ROLES)
def cancel(number: str):
    """Cancel the scheduled callback of repair ``number``; the reason is required."""
    return _callback_action(
        number,
        cancel_callback,
        lambda callback: _("The callback of %(number)s is cancelled.", number=number),
    )


@bp.post("/<number>/call-now")
@roles_required(*SUPERVISOR_ROLES)
def call_now(number: str):
    """Make the callback of repair ``number`` due now: the next sweep places it."""
    return _callback_action(
        number,
        call_callback_now,
        lambda callback: _(
            "The callback of %(number)s is due now (%(time)s, the customer's time): it is "
            "placed at the next sweep.",
            number=number,
            time=when_in(callback.due_at, callback.timezone),
        ),
    )


def _customer_or_404(code: str) -> Customer:
    customer = db.session.scalar(
        sa.select(Customer)
        .where(Customer.code == code)
        .with_for_update(of=Customer)
        .execution_options(populate_existing=True)
    )
    if customer is None:
        abort(404)
    return customer


@bp.post("/customers/<code>/do-not-call")
@roles_required(*AGENT_ROLES)
def add_to_do_not_call(code: str):
    """The caller asks not to be called for surveys: the customer goes on the list."""
    customer = _customer_or_404(code)
    add_do_not_call(current_user, customer, now=utcnow())
    db.session.commit()
    flash(_("%(customer)s will not be called for surveys.", customer=customer.name), "success")
    return redirect(url_for("callcenter.customer", code=customer.code), code=303)


@bp.post("/customers/<code>/do-not-call/remove")
@roles_required(*SUPERVISOR_ROLES)
def remove_from_do_not_call(code: str):
    """The customer asked to be called again: a number (or the customer's mark) leaves the
    list; the reason is required."""
    customer = _customer_or_404(code)
    e164 = (request.form.get("e164") or "").strip() or None
    try:
        remove_do_not_call(
            current_user, customer, e164, reason=request.form.get("reason", ""), now=utcnow()
        )
    except CallbackActionError as error:
        db.session.rollback()
        flash(error.reason.render(_), "error")
    else:
        db.session.commit()
        flash(_("%(customer)s may be called for surveys again.", customer=customer.name), "success")
    return redirect(url_for("callcenter.customer", code=customer.code), code=303)


@bp.app_template_global("repair_callback")
def repair_callback(ticket: Ticket) -> Callback | None:
    """The satisfaction callback of a repair, with its attempts and answers (None when the
    repair has none: not closed yet, or not a repair)."""
    if ticket is None or ticket.kind != "repair":
        return None
    return db.session.scalar(
        sa.select(Callback)
        .where(Callback.ticket_id == ticket.id)
        .options(
            selectinload(Callback.attempts),
            selectinload(Callback.answers),
            selectinload(Callback.follow_up_ticket),
        )
    )


@bp.app_template_global("do_not_call_entries")
def customer_do_not_call_entries(customer: Customer) -> list[DoNotCallNumber]:
    """The customer's entries on the do-not-call list (see
    :func:`servicedesk.callcenter.callbacks.do_not_call_entries`)."""
    return do_not_call_entries(customer.id)
