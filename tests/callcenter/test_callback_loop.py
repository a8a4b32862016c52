"""The whole loop on the simulated line, as `make run` shows it: a repair is closed, the sweep
places its callback, a person answers it on the simulator and presses keys, and the station's
scorecard changes."""

from __future__ import annotations

from datetime import date

import pytest

from servicedesk.callcenter.callback_sweep import run_callback_sweep
from servicedesk.callcenter.models import Callback, SimulatedCall
from servicedesk.callcenter.simulated_line import SimulatedLine
from servicedesk.callcenter.simulator import Simulation
from servicedesk.core.db import utcnow
from servicedesk.stations.models import Station
from servicedesk.tickets.closing import close_repair
from servicedesk.tickets.intake import TicketRequest, open_ticket
from servicedesk.tickets.services import change_status

ACTIVE = (date(2025, 3, 1), date(2028, 2, 29))


@pytest.fixture
def closed_now(app, db, make_customer, make_asset, make_station, make_user):
    """A repair closed just now, its callback due at once (no delay, calling all day)."""
    app.config.update(SERVICEDESK_CALLBACK_DELAY_MINUTES=0, SERVICEDESK_CALLING_HOURS="00:00-23:59")
    station = make_station("BJ-01")
    engineer = make_user("bj01", role="station", station_code="BJ-01")
    agent = make_user("agent1")
    customer = make_customer(language="en", customer_class="consumer")
    asset = make_asset(customer, "PF0LOOP1", entitlements=[("onsite", *ACTIVE)])
    now = utcnow()
    ticket = open_ticket(
        agent, customer, TicketRequest(kind="repair", summary="Fan", serial=asset.serial), now=now
    )
    if ticket.status == "new":
        ticket.station = station
        change_status(agent, ticket, "dispatched", now=now)
    change_status(engineer, ticket, "accepted", now=now)
    change_status(engineer, ticket, "on_site", now=now)
    close_repair(engineer, ticket, resolution="New fan", parts=[], now=now, status="closed")
    db.session.commit()
    yield ticket
    app.config.update(
        SERVICEDESK_CALLBACK_DELAY_MINUTES=1440, SERVICEDESK_CALLING_HOURS="09:00-20:00"
    )


def test_answering_on_the_simulator_completes_the_callback_and_scores_the_station(
    app, closed_now, db
):
    callback = Callback.query.one()
    assert callback.status == "scheduled"
    result = run_callback_sweep(utcnow(), line=SimulatedLine())
    assert result.placed == 1
    call = SimulatedCall.query.one()
    assert call.status == "ringing" and call.to_number == "+8613800138000"

    with app.test_request_context("/simulator/"):
        simulation = Simulation(call)
        simulation.answer("human")
        for key in ("5", "1", "4"):
            simulation.press(key)
        db.session.commit()

    db.session.expire_all()
    callback = Callback.query.one()
    assert callback.status == "completed"
    assert {a.question: a.value for a in callback.answers} == {
        "overall": 5,
        "solved": 1,
        "engineer": 4,
    }
    assert callback.attempts[0].status == "completed"
    assert SimulatedCall.query.one().status == "completed"
    station = db.session.get(Station, closed_now.station_id)
    assert station.scored_at is not None
    assert station.scorecard["answers"] == 1


def test_an_answering_machine_on_the_simulator_is_retried(app, closed_now, db):
    run_callback_sweep(utcnow(), line=SimulatedLine())
    with app.test_request_context("/simulator/"):
        Simulation(SimulatedCall.query.one()).answer("machine_start")
        db.session.commit()
    db.session.expire_all()
    callback = Callback.query.one()
    assert callback.attempts[0].status == "machine"
    assert callback.status == "scheduled"
