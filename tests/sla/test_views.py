"""SLA pages: clocks on ticket views, the board, compliance, the target editor; who may see what."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from servicedesk.sla.models import SlaClock, SlaTargetChange, SlaTargetSetting
from servicedesk.sla.services import record_status
from servicedesk.tickets.intake import TicketRequest, open_ticket
from servicedesk.tickets.models import Ticket

H = timedelta(hours=1)
ACTIVE = (date(2025, 1, 1), date(2027, 12, 31))


@pytest.fixture
def clock(monkeypatch, now):
    """The instant the SLA pages measure clocks at; set ``clock.at`` to move it."""

    class Clock:
        at = now

    monkeypatch.setattr("servicedesk.sla.views.utcnow", lambda: Clock.at)
    return Clock


@pytest.fixture
def station(make_station):
    return make_station("BJ-01")


@pytest.fixture
def customer(make_customer):
    return make_customer()


@pytest.fixture
def agent(make_user):
    return make_user("agent1")


@pytest.fixture
def open_repair(db, customer, make_asset, agent, station):
    """Open a depot repair at ``at`` on a new laptop, dispatched to BJ-01 (respond: 4 business
    hours, resolve: 5 business days)."""
    serials = iter(f"PF3XYZ{n:02d}" for n in range(100))

    def open_at(at, *, owner=None):
        owner = owner or customer
        asset = make_asset(owner, next(serials), entitlements=[("depot", *ACTIVE)])
        ticket = open_ticket(
            agent, owner, TicketRequest(kind="repair", summary="No display", serial=asset.serial),
            now=at,
        )  # fmt: skip
        ticket.station = station
        ticket.status = "dispatched"
        db.session.commit()
        return ticket

    return open_at


def page(response) -> str:
    return response.get_data(as_text=True)


def clock_row(html: str, target: str) -> str:
    start = html.index(f'data-sla-target="{target}"')
    return html[html.rindex("<tr", 0, start) : html.index("</tr>", start)]


# --- the ticket page ---------------------------------------------------------------------


def test_ticket_page_shows_due_times_remaining_time_and_colour(client, login, agent, open_repair,
                                                                clock, now):  # fmt: skip
    ticket = open_repair(now)
    login(agent)
    clock.at = now + H

    html = page(client.get(f"/tickets/{ticket.number}"))

    respond = clock_row(html, "respond")
    assert "sla-ok" in respond
    assert "Fri 2026-11-20 14:30" in respond and "Asia/Shanghai" in respond
    assert "3 h left" in respond and "Running" in respond
    resolve = clock_row(html, "resolve")
    assert "Fri 2026-11-27 10:30" in resolve and "6 d 23 h left" in resolve
    assert 'data-sla-target="arrive"' not in html  # a carry-in repair has no arrival target
    assert "Your time" not in html  # the agent's zone is the customer's


def test_a_clock_turns_at_risk_at_75_percent_then_breached(client, login, agent, open_repair,
                                                            clock, now):  # fmt: skip
    ticket = open_repair(now)
    login(agent)

    clock.at = now + 2.9 * H
    assert "sla-ok" in clock_row(page(client.get(f"/tickets/{ticket.number}")), "respond")
    clock.at = now + 3.5 * H
    respond = clock_row(page(client.get(f"/tickets/{ticket.number}")), "respond")
    assert "sla-at-risk" in respond and "At risk: 87% of the time used" in respond
    assert "30 min left" in respond
    clock.at = now + 5 * H
    respond = clock_row(page(client.get(f"/tickets/{ticket.number}")), "respond")
    assert "sla-breached" in respond and "Overdue by 1 h" in respond and "Breached" in respond


def test_met_and_paused_clocks(client, db, login, agent, open_repair, clock, now):
    ticket = open_repair(now)
    ticket = db.session.get(Ticket, ticket.id)
    record_status(ticket, "accepted", now=now + H, previous="dispatched")
    record_status(ticket, "waiting_customer", now=now + 2 * H, previous="accepted")
    db.session.commit()
    login(agent)
    clock.at = now + 3 * H

    html = page(client.get(f"/tickets/{ticket.number}"))

    respond = clock_row(html, "respond")
    assert "Met on time" in respond and "Met at Fri 2026-11-20 11:30" in respond
    assert "sla-ok" in respond
    resolve = clock_row(html, "resolve")
    assert "Paused: waiting for the customer" in resolve
    assert "Fri 2026-11-27 11:30" in resolve  # pushed out by the hour paused so far
    assert "First promised for Fri 2026-11-27 10:30" in resolve


def test_late_and_stopped_clocks(client, db, login, agent, open_repair, clock, now):
    late = db.session.get(Ticket, open_repair(now).id)
    record_status(late, "accepted", now=now + 5 * H, previous="dispatched")
    cancelled = db.session.get(Ticket, open_repair(now).id)
    record_status(cancelled, "cancelled", now=now + H, previous="dispatched")
    db.session.commit()
    login(agent)

    respond = clock_row(page(client.get(f"/tickets/{late.number}")), "respond")
    assert "Met late" in respond and "sla-breached" in respond
    resolve = clock_row(page(client.get(f"/tickets/{cancelled.number}")), "resolve")
    assert "Stopped: ticket cancelled" in resolve and "sla-stopped" in resolve


def test_due_times_are_shown_in_the_customers_zone(client, db, login, agent, open_repair,
                                                   make_customer, clock, now):  # fmt: skip
    berlin = make_customer("C-DE", name="Berlin GmbH", phones=("+49 30 1234567",), language="en")
    berlin.timezone = "Europe/Berlin"
    ticket = open_repair(now, owner=berlin)
    login(agent)

    respond = clock_row(page(client.get(f"/tickets/{ticket.number}")), "respond")

    # opened 03:30 in Berlin: four business hours from 09:00 there
    assert "Fri 2026-11-20 13:00" in respond and "Europe/Berlin" in respond
    assert "Your time: Fri 2026-11-20 20:00" in respond


def test_chinese_ticket_page(client, login, make_user, open_repair, clock, now):
    ticket = open_repair(now)
    login(make_user("zh-agent", language="zh"))
    clock.at = now + H
    respond = clock_row(page(client.get(f"/tickets/{ticket.number}")), "respond")
    assert "周五 2026-11-20 14:30" in respond
    assert "响应" in respond and "剩余3小时" in respond


def test_station_queue_shows_the_next_target_of_open_tickets_only(
    client, db, login, make_user, open_repair, clock, now, count_statements
):
    tickets = [open_repair(now) for _ in range(3)]
    closed = db.session.get(Ticket, tickets[2].id)
    record_status(closed, "closed", now=now + H, previous="dispatched")
    closed.status = "closed"
    db.session.commit()
    login(make_user("bj01", role="station", station_code="BJ-01"))
    clock.at = now + 3.5 * H

    db.session.expire_all()
    with count_statements() as few:
        html = page(client.get("/tickets/station"))
    assert html.count('class="sla-compact sla-at-risk"') == 2
    assert html.count("30 min left") == 2

    for _ in range(6):
        open_repair(now)
    db.session.expire_all()
    with count_statements() as many:
        html = page(client.get("/tickets/station"))
    assert html.count('class="sla-compact sla-at-risk"') == 8
    assert len(many) == len(few)


def test_customer_card_shows_due_and_remaining_time_of_open_tickets(
    client, login, agent, open_repair, customer, clock, now
):
    ticket = open_repair(now - 24 * H)  # Thursday 10:30: respond was due Thursday 14:30
    login(agent)
    html = page(client.get(f"/agent/customers/{customer.code}"))
    assert "Service targets of open tickets" in html
    section = html[html.index("Service targets of open tickets") :]
    assert ticket.number in section
    assert 'class="sla-compact sla-breached"' in section
    assert "overdue by 20 h" in section


# --- access ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/sla/board", "GET"),
        ("/sla/compliance", "GET"),
        ("/sla/compliance.csv", "GET"),
        ("/sla/targets", "GET"),
        ("/sla/targets/edit?level=depot&kind=repair", "GET"),
        ("/sla/targets/edit?level=depot&kind=repair", "POST"),
    ],
)
@pytest.mark.parametrize("role", ["agent", "station"])
def test_agents_and_stations_get_no_sla_pages(client, login, make_user, station, role, path,
                                              method):  # fmt: skip
    user = make_user(f"u-{role}", role=role, station_code="BJ-01" if role == "station" else None)
    login(user)
    assert client.open(path, method=method).status_code == 403


@pytest.mark.parametrize("role", ["supervisor", "admin"])
def test_supervisors_and_admins_see_the_board_compliance_and_targets(client, login, make_user,
                                                                     role, clock):  # fmt: skip
    login(make_user(f"u-{role}", role=role))
    for path in ("/sla/board", "/sla/compliance", "/sla/targets"):
        assert client.get(path).status_code == 200, path
    assert "SLA board" in page(client.get("/sla/board"))


def test_supervisors_read_the_targets_but_cannot_edit_them(client, login, make_user):
    login(make_user("boss", role="supervisor"))
    html = page(client.get("/sla/targets"))
    assert "Only an administrator can change the targets." in html
    assert "/sla/targets/edit" not in html
    assert client.get("/sla/targets/edit?level=depot&kind=repair").status_code == 403
    assert client.post("/sla/targets/edit?level=depot&kind=repair").status_code == 403


def test_nav_link_for_supervisors_only(client, login, make_user, agent):
    login(agent)
    assert "/sla/board" not in page(client.get("/agent/"))
    client.post("/logout")
    login(make_user("boss", role="supervisor"))
    assert 'href="/sla/board"' in page(client.get("/agent/"))


# --- the board ---------------------------------------------------------------------------


def test_board_page_lists_tickets_at_risk_and_breached(client, login, make_user, open_repair,
                                                       clock, now):  # fmt: skip
    breached = open_repair(now - 24 * H)
    at_risk = open_repair(now)
    fine = open_repair(now + 3 * H)
    login(make_user("boss", role="supervisor"))
    clock.at = now + 3.5 * H

    html = page(client.get("/sla/board"))

    assert "1 ticket breached" in html and "1 ticket at risk" in html
    assert html.index(breached.number) < html.index(at_risk.number)
    assert fine.number not in html
    assert f'href="/tickets/{breached.number}"' in html
    assert f'class="sla-breached" data-ticket="{breached.number}"' in html
    assert f'class="sla-at-risk" data-ticket="{at_risk.number}"' in html
    assert html.count('data-ticket="') == 2

    html = page(client.get("/sla/board?state=at_risk&region=jingjinji&station=BJ-01"))
    assert at_risk.number in html and breached.number not in html
    html = page(client.get("/sla/board?station=-"))
    assert "No open ticket is at risk or breached." in html


@pytest.mark.parametrize(
    "query", ["region=atlantis", "station=XX-99", "state=late", "sort=random", "page=abc", "page=0"]
)
def test_board_refuses_bad_filters_with_422(client, login, make_user, station, query):
    login(make_user("boss", role="supervisor"))
    response = client.get(f"/sla/board?{query}")
    assert response.status_code == 422
    assert 'role="alert"' in page(response)


# --- compliance --------------------------------------------------------------------------


@pytest.fixture
def decided(db, open_repair, now):
    """Two repairs opened a week ago: one responded in time, one late."""
    week_ago = now - timedelta(days=7)  # Friday 13 November, 10:30
    in_time = db.session.get(Ticket, open_repair(week_ago).id)
    record_status(in_time, "accepted", now=week_ago + H, previous="dispatched")
    late = db.session.get(Ticket, open_repair(week_ago).id)
    record_status(late, "accepted", now=week_ago + 6 * H, previous="dispatched")
    db.session.commit()


def test_compliance_page_defaults_to_the_last_30_days(client, login, make_user, decided, clock):
    login(make_user("boss", role="supervisor"))
    html = page(client.get("/sla/compliance"))
    assert 'value="2026-10-22"' in html and 'value="2026-11-20"' in html
    assert "50.0% of 2 targets met on time (1 met, 1 breached)." in html
    assert "A target counts in the period when its due time" in html
    assert "/sla/compliance.csv?start=2026-10-22&amp;end=2026-11-20" in html


def test_compliance_page_for_a_chosen_period(client, login, make_user, decided, clock):
    login(make_user("boss", role="supervisor"))
    html = page(client.get("/sla/compliance?start=2026-11-14&end=2026-11-20"))
    assert "No target was decided in this period." in html


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("start=2026-13-01", "The start is not a date"),
        ("end=yesterday", "The end is not a date"),
        ("start=2026-11-20&end=2026-11-01", "The end date is before the start date."),
        ("start=1900-01-01", "Choose dates between 2000 and 2999."),
        ("start=2020-01-01&end=2026-01-01", "Choose a period of at most"),
    ],
)
def test_compliance_refuses_bad_dates_with_422(client, login, make_user, clock, query, message):
    login(make_user("boss", role="supervisor"))
    response = client.get(f"/sla/compliance?{query}")
    assert response.status_code == 422
    assert message in page(response)
    csv_response = client.get(f"/sla/compliance.csv?{query}")
    assert csv_response.status_code == 422 and message in page(csv_response)


def test_compliance_csv(client, login, make_user, decided, clock):
    login(make_user("boss", role="supervisor"))
    response = client.get("/sla/compliance.csv?start=2026-11-01&end=2026-11-20")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "sla-compliance-2026-11-01-2026-11-20.csv" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(page(response).lstrip("\ufeff"))))
    assert rows[0] == [
        "group", "code", "name", "met", "breached", "undecided", "compliance_percent",
    ]  # fmt: skip
    # the resolve targets fall due right now: not decided yet
    assert rows[1] == ["overall", "", "", "1", "1", "2", "50.0"]
    assert ["target", "respond", "Respond", "1", "1", "0", "50.0"] in rows
    assert ["target", "resolve", "Resolve", "0", "0", "2", ""] in rows
    assert ["service_level", "depot", "Carry-in (depot)", "1", "1", "2", "50.0"] in rows
    assert ["station", "BJ-01", "Station BJ-01", "1", "1", "2", "50.0"] in rows


# --- the target editor -------------------------------------------------------------------


def row_form(**targets) -> dict[str, str]:
    """Form fields for the row; each target is (kind, amount, unit, days, clock)."""
    data = {}
    for name in ("respond", "arrive", "resolve"):
        kind, amount, unit, days, clock_name = targets.get(name, ("", "", "hours", "", "business"))
        data.update({f"{name}-kind": kind, f"{name}-amount": amount, f"{name}-unit": unit,
                     f"{name}-days": days, f"{name}-clock": clock_name})  # fmt: skip
    data["arrive-starts"] = "opened"
    return data


DEPOT_FASTER = row_form(
    respond=("duration", "90", "minutes", "", "business"),
    resolve=("business_days", "", "hours", "4", "business"),
)


def test_admin_edits_a_row_for_new_tickets_only(client, db, login, make_user, open_repair, now,
                                                clock):  # fmt: skip
    existing = open_repair(now)
    before = db.session.execute(
        sa.select(SlaClock.target, SlaClock.due_at).where(SlaClock.ticket_id == existing.id)
    ).all()
    promise = db.session.get(Ticket, existing.id).sla_targets
    admin = make_user("root", role="admin")
    login(admin)

    form_page = page(client.get("/sla/targets/edit?level=depot&kind=repair"))
    assert '<label for="respond-amount">' in form_page
    assert 'id="respond-kind"' in form_page and "4 h, business hours" in form_page
    response = client.post("/sla/targets/edit?level=depot&kind=repair", data=DEPOT_FASTER)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/sla/targets#row-depot-repair")

    db.session.expire_all()
    assert db.session.get(Ticket, existing.id).sla_targets == promise
    assert (
        db.session.execute(
            sa.select(SlaClock.target, SlaClock.due_at).where(SlaClock.ticket_id == existing.id)
        ).all()
        == before
    )
    [change] = db.session.scalars(sa.select(SlaTargetChange)).all()
    assert change.changed_by_id == admin.id
    assert (change.service_level, change.ticket_kind) == ("depot", "repair")
    assert change.before["respond"] == {"kind": "duration", "clock": "business",
                                        "starts": "opened", "seconds": 4 * 3600}  # fmt: skip
    assert change.after["respond"]["seconds"] == 90 * 60
    assert change.after["resolve"] == {"kind": "business_days", "clock": "business",
                                       "starts": "opened", "days": 4}  # fmt: skip

    newer = db.session.get(Ticket, open_repair(now).id)
    due = {clock.target: clock.due_at for clock in newer.clocks}
    assert due["respond"] == now + 1.5 * H
    assert newer.sla_targets["resolve"]["days"] == 4

    history = page(client.get("/sla/targets"))
    assert "Targets for Carry-in (depot), Repair saved" in history
    assert "1 h 30 min, business hours" in history and "4 business days" in history
    assert "root" in history
    assert history.count('href="/sla/targets/edit?') == 16


def test_saving_the_same_targets_records_nothing(client, db, login, make_user):
    login(make_user("root", role="admin"))
    same = row_form(
        respond=("duration", "4", "hours", "", "business"),
        resolve=("business_days", "", "hours", "5", "business"),
    )
    response = client.post("/sla/targets/edit?level=depot&kind=repair", data=same)
    assert response.status_code == 302
    assert "Nothing changed." in page(client.get("/sla/targets"))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SlaTargetChange)) == 0


@pytest.mark.parametrize(
    ("targets", "message"),
    [
        ({"respond": ("duration", "0", "hours", "", "business")}, "Enter a whole number above 0."),
        ({"respond": ("duration", "", "hours", "", "business")}, "Enter how long the target is."),
        ({"respond": ("duration", "abc", "hours", "", "business")}, "Not a valid integer value"),
        ({"respond": ("duration", "3000", "hours", "", "business")}, "at most 90 days"),
        ({"resolve": ("business_days", "", "hours", "", "business")}, "Enter the number of"),
        ({"resolve": ("business_days", "", "hours", "61", "business")}, "from 1 to 60"),
        ({"respond": ("weeks", "1", "hours", "", "business")}, "Not a valid choice"),
        ({"respond": ("duration", "1", "hours", "", "lunar")}, "Not a valid choice"),
        ({"respond": ("duration", "1", "years", "", "business")}, "Not a valid choice"),
    ],
)
def test_bad_targets_are_refused_with_422(client, db, login, make_user, targets, message):
    login(make_user("root", role="admin"))
    response = client.post("/sla/targets/edit?level=depot&kind=repair", data=row_form(**targets))
    assert response.status_code == 422
    assert message in page(response)
    assert 'aria-invalid="true"' in page(response)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SlaTargetSetting)) == 0


@pytest.mark.parametrize("query", ["level=gold&kind=repair", "level=depot&kind=sale", ""])
def test_unknown_rows_are_404(client, login, make_user, query):
    login(make_user("root", role="admin"))
    assert client.get(f"/sla/targets/edit?{query}").status_code == 404
