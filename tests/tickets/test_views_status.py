"""The ticket page's work forms: status change, phone diagnosis end, machine correction."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from servicedesk.tickets import views
from servicedesk.tickets.intake import TicketRequest, open_ticket
from servicedesk.tickets.models import Ticket, TicketEvent
from servicedesk.tickets.services import change_status

ACTIVE = (date(2025, 3, 1), date(2028, 2, 29))
NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)  # Friday 11:00 in Shanghai, half an hour in


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(views, "utcnow", lambda: NOW)


@pytest.fixture
def stations(make_station):
    return make_station("BJ-01", four_hour=("北京",)), make_station("BJ-02")


@pytest.fixture
def agent(make_user):
    return make_user("agent1")


@pytest.fixture
def customer(make_customer, make_asset):
    customer = make_customer()
    make_asset(customer, "PF3ONSITE", entitlements=[("onsite", *ACTIVE)])
    make_asset(customer, "PF3DEPOT", model="ThinkCentre M90", entitlements=[("depot", *ACTIVE)])
    make_asset(customer, "PF3FAST", entitlements=[("onsite_4h", *ACTIVE)])
    return customer


@pytest.fixture
def repair(db, agent, customer, stations, now):
    """Open a repair dispatched to BJ-01 (committed)."""

    def make(serial="PF3ONSITE") -> Ticket:
        ticket = open_ticket(
            agent,
            customer,
            TicketRequest(kind="repair", summary="No display", serial=serial),
            now=now,
        )
        assert ticket.status == "dispatched"  # opening a repair dispatches it
        ticket.station = stations[0]
        db.session.commit()
        return ticket

    return make


def page(response) -> str:
    return response.get_data(as_text=True)


def options(html: str, name: str) -> list[str]:
    select = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert select, f"no select named {name}"
    return re.findall(r'<option[^>]*value="([^"]*)"', select.group(1))


def reload(db, ticket: Ticket) -> Ticket:
    db.session.expire_all()
    return db.session.get(Ticket, ticket.id)


def events(db, ticket: Ticket) -> list[tuple]:
    rows = db.session.scalars(
        sa.select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id)
    )
    return [(e.action, e.from_status, e.to_status, e.reason) for e in rows]


def post_status(client, ticket, status, reason="", expected=None):
    return client.post(
        f"/tickets/{ticket.number}/status",
        data={
            "status-status": status,
            "status-reason": reason,
            "status-expected": expected or ticket.status,
        },
    )


# Status change


def test_agent_sees_the_allowed_next_statuses(client, login, agent, repair):
    ticket = repair()
    login(agent)
    html = page(client.get(f"/tickets/{ticket.number}"))
    assert 'id="status-form"' in html
    assert options(html, "status-status") == ["new", "accepted", "waiting_customer", "cancelled"]
    assert 'name="status-expected" type="hidden" value="dispatched"' in html
    assert '<label for="status-reason">Reason</label>' in html


def test_status_change_is_saved_with_its_event(client, login, agent, repair, db):
    ticket = repair()
    login(agent)
    response = post_status(client, ticket, "accepted", reason="engineer assigned")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/tickets/{ticket.number}")
    ticket = reload(db, ticket)
    assert (ticket.status, ticket.updated_at) == ("accepted", NOW)
    assert events(db, ticket)[-1] == ("status", "dispatched", "accepted", "engineer assigned")
    assert {c.target: c.met_at for c in ticket.clocks}["respond"] == NOW
    html = page(client.get(response.headers["Location"]))
    assert "Status changed to “Accepted”." in html
    assert "engineer assigned" in html


def test_transition_not_allowed_is_409_and_saves_nothing(client, login, agent, repair, db):
    ticket = repair()
    before = events(db, ticket)
    login(agent)
    response = post_status(client, ticket, "closed")
    assert response.status_code == 409
    html = page(response)
    assert "A ticket of kind “Repair” cannot go from “Dispatched” to “Closed”." in html
    assert 'role="alert"' in html
    assert reload(db, ticket).status == "dispatched"
    assert events(db, ticket) == before


def test_cancel_without_a_reason_is_422(client, login, agent, repair, db):
    ticket = repair()
    login(agent)
    response = post_status(client, ticket, "cancelled", reason="  ")
    assert response.status_code == 422
    html = page(response)
    assert "Say why the ticket goes from “Dispatched” to “Cancelled”." in html
    assert re.search(r'<textarea[^>]*aria-invalid="true" autofocus id="status-reason"', html)
    assert reload(db, ticket).status == "dispatched"


@pytest.mark.parametrize(
    ("status", "message"),
    [("", "Choose the new status."), ("broken", "Choose a status from the list.")],
)
def test_missing_or_unknown_status_is_422(client, login, agent, repair, db, status, message):
    ticket = repair()
    login(agent)
    response = post_status(client, ticket, status)
    assert response.status_code == 422
    assert message in page(response)
    assert reload(db, ticket).status == "dispatched"


def test_too_long_reason_is_422(client, login, agent, repair, db):
    ticket = repair()
    login(agent)
    response = post_status(client, ticket, "accepted", reason="x" * 1001)
    assert response.status_code == 422
    assert "Write at most 1000 characters." in page(response)
    assert reload(db, ticket).status == "dispatched"


def test_change_from_a_stale_page_is_409(client, login, agent, repair, db):
    ticket = repair()
    login(agent)
    response = post_status(client, ticket, "cancelled", reason="dup", expected="new")
    assert response.status_code == 409
    html = page(response)
    assert "Someone changed this ticket while you were looking at it" in html
    assert "it is now “Dispatched”" in html
    assert 'name="status-expected" type="hidden" value="dispatched"' in html
    assert reload(db, ticket).status == "dispatched"


def test_closed_ticket_shows_no_status_choices(client, login, agent, customer, db, now):
    inquiry = open_ticket(agent, customer, TicketRequest(kind="inquiry", summary="Hi"), now=now)
    db.session.commit()
    login(agent)
    html = page(client.get(f"/tickets/{inquiry.number}"))
    assert 'id="status-form"' not in html
    response = post_status(client, inquiry, "new", expected="closed")
    assert response.status_code == 409
    assert "its status cannot change any more" in page(response)
    assert "The status of this ticket cannot change now." in page(response)


# Station users


def test_station_user_works_its_own_ticket(client, login, make_user, repair, db):
    ticket = repair()
    login(make_user("bj01", role="station", station_code="BJ-01"))
    html = page(client.get(f"/tickets/{ticket.number}"))
    assert options(html, "status-status") == ["accepted", "waiting_customer"]
    assert 'id="asset-form"' not in html
    assert 'id="diagnosis-form"' not in html
    assert post_status(client, ticket, "accepted").status_code == 302
    assert reload(db, ticket).status == "accepted"


def test_station_user_cannot_cancel_even_by_hand(client, login, make_user, repair, db):
    ticket = repair()
    login(make_user("bj01", role="station", station_code="BJ-01"))
    response = post_status(client, ticket, "cancelled", reason="not ours")
    assert response.status_code == 403
    assert "Only the call center can set a ticket to “Cancelled”." in page(response)
    assert reload(db, ticket).status == "dispatched"


def test_other_station_gets_404(client, login, make_user, repair, db):
    ticket = repair()
    login(make_user("bj02", role="station", station_code="BJ-02"))
    assert post_status(client, ticket, "accepted").status_code == 404
    assert client.post(f"/tickets/{ticket.number}/diagnosis-end").status_code in (403, 404)
    assert reload(db, ticket).status == "dispatched"


def test_anonymous_is_sent_to_sign_in_and_unknown_ticket_is_404(client, login, agent, repair):
    ticket = repair()
    response = post_status(client, ticket, "accepted")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
    login(agent)
    assert client.post("/tickets/SD-2026-999999/status", data={}).status_code == 404


def test_forms_carry_a_csrf_token_and_a_post_without_it_is_refused(
    app, client, login, agent, repair, db
):
    ticket = repair("PF3FAST")
    login(agent)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        html = page(client.get(f"/tickets/{ticket.number}"))
        for form_id in ("status-form", "diagnosis-form", "asset-form"):
            form = re.search(rf'<form[^>]*id="{form_id}".*?</form>', html, re.S).group(0)
            assert re.search(r'name="[a-z-]*csrf_token"', form), form_id
        assert post_status(client, ticket, "accepted").status_code == 400
        assert client.post(f"/tickets/{ticket.number}/diagnosis-end").status_code == 400
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert reload(db, ticket).status == "dispatched"


# Phone diagnosis end


def test_diagnosis_button_only_for_four_hour_repairs_before_arrival(client, login, agent, repair):
    fast, onsite = repair("PF3FAST"), repair("PF3ONSITE")
    login(agent)
    assert 'id="diagnosis-form"' in page(client.get(f"/tickets/{fast.number}"))
    assert 'id="diagnosis-form"' not in page(client.get(f"/tickets/{onsite.number}"))


def test_diagnosis_end_moves_the_arrival_clock(client, login, agent, repair, db):
    ticket = repair("PF3FAST")
    login(agent)
    response = client.post(f"/tickets/{ticket.number}/diagnosis-end")
    assert response.status_code == 302
    ticket = reload(db, ticket)
    assert ticket.diagnosis_ended_at == NOW
    arrive = {c.target: c for c in ticket.clocks}["arrive"]
    assert arrive.due_at == NOW + timedelta(hours=4)
    html = page(client.get(f"/tickets/{ticket.number}"))
    assert "the engineer or the part must be on site by 2026-11-20 15:00" in html
    assert "Phone diagnosis ended" in html  # the history
    assert 'id="diagnosis-form"' not in html


def test_second_diagnosis_end_is_409(client, login, agent, repair, db):
    ticket = repair("PF3FAST")
    login(agent)
    client.post(f"/tickets/{ticket.number}/diagnosis-end")
    response = client.post(f"/tickets/{ticket.number}/diagnosis-end")
    assert response.status_code == 409
    assert "The phone diagnosis end is already recorded." in page(response)
    assert [e[0] for e in events(db, ticket)].count("diagnosis_ended") == 1


def test_diagnosis_end_on_a_next_day_repair_is_409(client, login, agent, repair, db):
    ticket = repair("PF3ONSITE")
    login(agent)
    response = client.post(f"/tickets/{ticket.number}/diagnosis-end")
    assert response.status_code == 409
    assert "Only a repair with 4-hour onsite response" in page(response)
    assert reload(db, ticket).diagnosis_ended_at is None


def test_station_user_cannot_end_the_diagnosis(client, login, make_user, repair, db):
    ticket = repair("PF3FAST")
    login(make_user("bj01", role="station", station_code="BJ-01"))
    assert client.post(f"/tickets/{ticket.number}/diagnosis-end").status_code == 403
    assert reload(db, ticket).diagnosis_ended_at is None


# Machine correction


def test_asset_form_lists_the_customers_other_machines(client, login, agent, repair):
    ticket = repair("PF3DEPOT")
    login(agent)
    html = page(client.get(f"/tickets/{ticket.number}"))
    assert options(html, "asset-serial") == ["", "PF3FAST", "PF3ONSITE"]
    assert "PF3ONSITE · ThinkPad X1 Carbon Gen 12 (Laptop)" in html


def test_correcting_the_machine_recomputes_coverage_and_clocks(client, login, agent, repair, db):
    ticket = repair("PF3DEPOT")
    login(agent)
    response = client.post(
        f"/tickets/{ticket.number}/asset",
        data={"asset-serial": "PF3ONSITE", "asset-reason": "caller read the wrong label"},
    )
    assert response.status_code == 302
    ticket = reload(db, ticket)
    assert (ticket.asset.serial, ticket.service_level) == ("PF3ONSITE", "onsite")
    assert {c.target for c in ticket.clocks} == {"respond", "arrive", "resolve"}
    event = db.session.scalar(sa.select(TicketEvent).where(TicketEvent.action == "asset_corrected"))
    assert (event.data["old_serial"], event.data["new_serial"]) == ("PF3DEPOT", "PF3ONSITE")
    html = page(client.get(f"/tickets/{ticket.number}"))
    assert "Machine corrected to PF3ONSITE; service level: Next-business-day onsite." in html
    assert "caller read the wrong label" in html


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"asset-serial": "", "asset-reason": "x"}, "Choose one of the customer"),
        ({"asset-serial": "PF3ONSITE", "asset-reason": ""}, "Say why the machine is corrected."),
        ({"asset-serial": "NOPE", "asset-reason": "x"}, "There is no machine with serial number"),
        ({"asset-serial": "PF3OTHER", "asset-reason": "x"}, "belongs to another customer"),
    ],
)
def test_bad_correction_is_422_and_saves_nothing(
    client, login, agent, repair, db, make_customer, make_asset, data, message
):
    make_asset(
        make_customer("C0002", phones=("139 0000 0000",)),
        "PF3OTHER",
        entitlements=[("onsite", *ACTIVE)],
    )
    ticket = repair("PF3DEPOT")
    login(agent)
    response = client.post(f"/tickets/{ticket.number}/asset", data=data)
    assert response.status_code == 422
    html = page(response)
    assert message in html
    assert 'id="asset-form"' in html
    ticket = reload(db, ticket)
    assert (ticket.asset.serial, ticket.service_level) == ("PF3DEPOT", "depot")


def test_correcting_a_closed_repair_is_409(client, login, agent, repair, db):
    ticket = repair("PF3DEPOT")
    change_status(agent, reload(db, ticket), "cancelled", now=NOW, reason="duplicate")
    db.session.commit()
    login(agent)
    html = page(client.get(f"/tickets/{ticket.number}"))
    assert 'id="asset-form"' not in html
    response = client.post(
        f"/tickets/{ticket.number}/asset", data={"asset-serial": "PF3ONSITE", "asset-reason": "x"}
    )
    assert response.status_code == 409
    assert "it is no longer open" in page(response)


def test_station_user_cannot_correct_the_machine(client, login, make_user, repair, db):
    ticket = repair("PF3DEPOT")
    login(make_user("bj01", role="station", station_code="BJ-01"))
    response = client.post(
        f"/tickets/{ticket.number}/asset", data={"asset-serial": "PF3ONSITE", "asset-reason": "x"}
    )
    assert response.status_code == 403
    assert reload(db, ticket).asset.serial == "PF3DEPOT"


# Chinese


def test_forms_and_refusals_in_chinese(client, login, make_user, repair):
    ticket = repair("PF3FAST")
    login(make_user("agent-zh", language="zh"))
    html = page(client.get(f"/tickets/{ticket.number}"))
    for text in ("处理此工单", "修改状态", "电话诊断结束", "更正机器"):
        assert text in html
    response = post_status(client, ticket, "closed")
    assert response.status_code == 409
    assert "“报修”工单不能从“已派单”改为“已关闭”。" in page(response)


# A repair is resolved only with its closing records; back to dispatch leaves the station


def station_user(make_user):
    return make_user("bj01", role="station", station_code="BJ-01")


@pytest.mark.parametrize("role", ["station", "agent"])
def test_the_status_form_cannot_resolve_a_repair(client, login, make_user, agent, repair, db, role):
    ticket = repair()
    user = station_user(make_user) if role == "station" else agent
    change_status(user, ticket, "accepted", now=NOW)
    change_status(user, ticket, "on_site", now=NOW)
    db.session.commit()
    login(user)
    html = page(client.get(f"/tickets/{ticket.number}"))
    assert "resolved" not in options(html, "status-status")
    assert ('id="close-form"' in html) == (role == "station")
    response = post_status(client, ticket, "resolved")
    assert response.status_code == 409
    assert "A repair is resolved with its closing records" in page(response)
    ticket = reload(db, ticket)
    assert ticket.status == "on_site" and ticket.resolution == ""
    assert events(db, ticket)[-1][2] == "on_site"


def test_a_resolved_repair_is_closed_with_the_status_form(client, login, make_user, repair, db):
    ticket = repair()
    engineer = station_user(make_user)
    login(engineer)
    change_status(engineer, ticket, "accepted", now=NOW)
    db.session.commit()
    response = client.post(
        f"/tickets/{ticket.number}/close",
        data={"close-resolution": "Replaced the display cable."},
    )
    assert response.status_code == 302
    assert reload(db, ticket).status == "resolved"
    html = page(client.get(f"/tickets/{ticket.number}"))
    assert "closed" in options(html, "status-status")
    assert "resolved" not in options(html, "status-status")
    assert post_status(client, ticket, "closed", expected="resolved").status_code == 302
    assert reload(db, ticket).status == "closed"


def test_back_to_new_leaves_the_station_which_no_longer_sees_it(
    client, login, make_user, agent, repair, db
):
    ticket = repair()
    engineer = station_user(make_user)
    change_status(engineer, ticket, "accepted", now=NOW)
    db.session.commit()
    login(agent)
    response = post_status(client, ticket, "new", reason="the customer moved to Tianjin")
    assert response.status_code == 302
    ticket = reload(db, ticket)
    assert (ticket.status, ticket.station_id, ticket.dispatch_state, ticket.waiting_since) == (
        "new",
        None,
        "waiting",
        NOW,
    )
    reason = "the customer moved to Tianjin"
    assert events(db, ticket)[-1] == ("dispatch", "accepted", "new", reason)
    html = page(client.get(f"/tickets/{ticket.number}"))
    assert "Sent back from BJ-01 to the dispatch queue by agent1" in html

    client.post("/logout")
    login(engineer)
    assert client.get(f"/tickets/{ticket.number}").status_code == 404
    assert ticket.number not in page(client.get("/tickets/station"))
    assert post_status(client, ticket, "accepted", expected="new").status_code == 404


def test_dispatched_from_the_station_goes_to_another_one(
    client, login, make_user, agent, repair, db
):
    ticket = repair()
    change_status(agent, ticket, "accepted", now=NOW)
    db.session.commit()
    login(agent)
    assert "dispatched" in options(page(client.get(f"/tickets/{ticket.number}")), "status-status")
    response = post_status(client, ticket, "dispatched", reason="engineer on leave")
    assert response.status_code == 302
    ticket = reload(db, ticket)
    assert (ticket.status, ticket.station.code) == ("dispatched", "BJ-02")
    assert events(db, ticket)[-1] == ("dispatch", "accepted", "dispatched", "engineer on leave")
    client.post("/logout")
    login(station_user(make_user))
    assert client.get(f"/tickets/{ticket.number}").status_code == 404
