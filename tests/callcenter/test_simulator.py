"""The simulator page end to end, against test-only signed TwiML routes (a dummy survey and a
dummy incoming-call flow), through a second application that has them registered."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape

import pytest
import sqlalchemy as sa
from flask import Blueprint, abort, request
from twilio.twiml.voice_response import Gather, VoiceResponse

from servicedesk import create_app
from servicedesk.callcenter import simulator
from servicedesk.callcenter.models import SimulatedCall
from servicedesk.callcenter.simulated_line import SimulatedLine
from servicedesk.callcenter.simulator import Gather as PendingGather
from servicedesk.callcenter.simulator import _digits_gathered, app_path, parse_twiml
from servicedesk.callcenter.telephony import OutboundCall
from servicedesk.callcenter.webhooks import twilio_signed, twiml
from tests.conftest import PASSWORD

PUBLIC = "http://testserver.example"
CUSTOMER = "+8613800138000"
RECEIVED: list[tuple[str, dict[str, str]]] = []

dummy = Blueprint("twilio_dummy", __name__, url_prefix="/twilio/dummy")


def _received() -> None:
    RECEIVED.append((request.full_path.rstrip("?"), dict(request.form)))


@dummy.post("/voice/<token>")
@twilio_signed
def voice(token: str):
    _received()
    response = VoiceResponse()
    if request.form.get("AnsweredBy") == "machine_start":
        response.say("Sorry we missed you")
        response.hangup()
        return twiml(response)
    response.append(_question(token, 1))
    response.say("We did not hear you")
    response.redirect(f"/twilio/dummy/voice/{token}/bye")
    return twiml(response)


def _question(token: str, number: int) -> Gather:
    gather = Gather(num_digits=1, action=f"/twilio/dummy/voice/{token}/gather?q={number}")
    gather.say("请按1到5", language="zh-CN")
    return gather


@dummy.post("/voice/<token>/gather")
@twilio_signed
def gather(token: str):
    _received()
    response = VoiceResponse()
    if request.form.get("Digits", "") in list("12345"):
        response.say("Thank you")
        response.hangup()
    else:
        response.say("Press a key from 1 to 5")
        response.append(_question(token, int(request.args["q"])))
    return twiml(response)


@dummy.post("/voice/<token>/bye")
@twilio_signed
def bye(token: str):
    _received()
    response = VoiceResponse()
    response.say("Goodbye")
    return twiml(response)


@dummy.post("/status/<token>")
@twilio_signed
def status(token: str):
    _received()
    return "", 204


@dummy.post("/incoming")
@twilio_signed
def incoming():
    _received()
    response = VoiceResponse()
    if request.form["From"] == "+8613900000000":
        response.reject(reason="busy")
        return twiml(response)
    response.say("Welcome to the service desk")
    response.enqueue("general", wait_url="/twilio/dummy/wait", action="/twilio/dummy/left")
    return twiml(response)


@dummy.post("/wait")
@twilio_signed
def wait():
    _received()
    response = VoiceResponse()
    response.say(f"Please hold, waited {request.form['QueueTime']}")
    response.play("http://testserver.example/static/hold.mp3")
    return twiml(response)


@dummy.post("/left")
@twilio_signed
def left():
    _received()
    return twiml(VoiceResponse())


@dummy.post("/incoming/status")
@twilio_signed
def incoming_status():
    _received()
    return "", 204


@dummy.post("/broken")
@twilio_signed
def broken():
    _received()
    abort(500)


@dummy.post("/not-twiml")
@twilio_signed
def not_twiml():
    _received()
    return "<html>hello</html>"


@pytest.fixture(scope="module")
def sim_app(app):
    """The suite's application plus the dummy routes (the suite's own already serves)."""
    other = create_app({**app.config, "SERVICEDESK_PUBLIC_URL": PUBLIC})
    other.register_blueprint(dummy)
    return other


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    RECEIVED.clear()
    yield
    RECEIVED.clear()


@pytest.fixture
def browser(sim_app, db, make_user):
    """A signed-in agent on the simulator application."""
    make_user("agent1", role="agent")
    db.session.commit()
    client = sim_app.test_client()
    response = client.post("/login", data={"username": "agent1", "password": PASSWORD})
    assert response.status_code == 302
    return client


def place(token: str = "tok1", *, url: str | None = None) -> str:
    call = OutboundCall(
        to=CUSTOMER,
        from_="+15005550006",
        url=url or f"{PUBLIC}/twilio/dummy/voice/{token}",
        status_callback=f"{PUBLIC}/twilio/dummy/status/{token}",
        token=token,
    )
    return SimulatedLine().place_call(call).sid


def stored(db, sid: str) -> SimulatedCall:
    db.session.expire_all()
    return db.session.scalar(sa.select(SimulatedCall).filter_by(sid=sid))


def text(response) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).split())


def act(browser, sid: str, action: str, **form):
    response = browser.post(f"/simulator/calls/{sid}/{action}", data=form)
    assert response.status_code == 303, response.get_data(as_text=True)
    assert response.headers["Location"].endswith(f"/simulator/calls/{sid}")
    return browser.get(f"/simulator/calls/{sid}")


def paths() -> list[str]:
    return [path for path, _ in RECEIVED]


def test_a_survey_call_answered_by_a_person_end_to_end(browser, db):
    sid = place()

    listing = browser.get("/simulator/")
    assert listing.status_code == 200
    assert re.search(r"Ringing\s*<span class=\"count\">1</span>", listing.get_data(as_text=True))
    assert f'href="/simulator/calls/{sid}"' in listing.get_data(as_text=True)
    page = browser.get(f"/simulator/calls/{sid}")
    assert "Answer as a person" in text(page)

    page = act(browser, sid, "answer", answered_by="human")

    [(path, form)] = RECEIVED
    assert path == "/twilio/dummy/voice/tok1"
    assert form == {
        "AccountSid": "AC" + "0" * 32,
        "ApiVersion": "2010-04-01",
        "CallSid": sid,
        "CallStatus": "in-progress",
        "Direction": "outbound-api",
        "From": "+15005550006",
        "To": CUSTOMER,
        "Caller": "+15005550006",
        "Called": CUSTOMER,
        "AnsweredBy": "human",
    }
    html = page.get_data(as_text=True)
    assert '<q lang="zh-CN">请按1到5</q>' in html
    assert "The service desk waits for 1 key." in text(page)
    assert 'data-key="0"' in html and 'data-key="#"' in html

    page = act(browser, sid, "keys", keys="9")
    assert RECEIVED[-1][0] == "/twilio/dummy/voice/tok1/gather?q=1"
    assert RECEIVED[-1][1]["Digits"] == "9"
    assert "Press a key from 1 to 5" in text(page)

    page = act(browser, sid, "keys", keys="4")

    assert RECEIVED[-2][1]["Digits"] == "4"
    status_path, status_form = RECEIVED[-1]
    assert status_path == "/twilio/dummy/status/tok1"
    assert status_form["CallStatus"] == "completed"
    assert int(status_form["CallDuration"]) >= 0
    assert "Thank you" in text(page)
    assert "The call is over." in text(page)
    call = stored(db, sid)
    assert call.status == "completed"
    assert call.ended_at is not None
    kinds = [entry["kind"] for entry in call.transcript]
    assert [k for k in kinds if k != "webhook"] == [
        "answered",
        "say",
        "gather",
        "keys",
        "say",
        "say",
        "gather",
        "keys",
        "say",
        "hangup",
        "status",
    ]
    assert "<Hangup />" in call.twiml
    assert "Ended" in text(browser.get("/simulator/"))


def test_several_keys_at_once_stop_at_num_digits_and_the_finishing_key():
    gather = PendingGather(
        "u", num_digits=1, finish_on_key="#", action_on_empty=False, base="u", index=0
    )
    assert _digits_gathered("45", gather) == "4"
    longer = PendingGather("u", None, "#", False, "u", 0)
    assert _digits_gathered("123#9", longer) == "123"
    assert _digits_gathered("#", longer) == ""


def test_an_answering_machine(browser, db):
    sid = place()

    page = act(browser, sid, "answer", answered_by="machine_start")

    assert RECEIVED[0][1]["AnsweredBy"] == "machine_start"
    assert "Sorry we missed you" in text(page)
    assert RECEIVED[-1][1]["CallStatus"] == "completed"
    assert stored(db, sid).status == "completed"


@pytest.mark.parametrize("outcome", ["busy", "no-answer", "failed"])
def test_a_call_refused_sends_only_the_status_callback(browser, db, outcome):
    sid = place()

    page = act(browser, sid, "decline", outcome=outcome)

    assert paths() == ["/twilio/dummy/status/tok1"]
    assert RECEIVED[0][1]["CallStatus"] == outcome
    assert RECEIVED[0][1]["CallDuration"] == "0"
    assert stored(db, sid).status == outcome
    assert "The call is over." in text(page)


def test_saying_nothing_goes_on_after_the_gather(browser, db):
    sid = place()
    act(browser, sid, "answer", answered_by="human")

    page = act(browser, sid, "silence")

    assert paths() == [
        "/twilio/dummy/voice/tok1",
        "/twilio/dummy/voice/tok1/bye",
        "/twilio/dummy/status/tok1",
    ]
    assert "We did not hear you" in text(page)
    assert "Goodbye" in text(page)
    assert stored(db, sid).status == "completed"


def test_hanging_up_in_the_middle(browser, db):
    sid = place()
    act(browser, sid, "answer", answered_by="human")

    page = act(browser, sid, "hangup")

    assert RECEIVED[-1][0] == "/twilio/dummy/status/tok1"
    assert RECEIVED[-1][1]["CallStatus"] == "completed"
    assert "You hung up." in text(page)


def test_what_cannot_be_done_now_is_explained(browser, db):
    sid = place()

    page = act(browser, sid, "keys", keys="1")
    assert "The call is not waiting for keys now." in text(page)
    page = act(browser, sid, "hangup")
    assert "Only a call in progress can be hung up." in text(page)
    page = act(browser, sid, "answer", answered_by="robot")
    assert "Choose who answers" in text(page)
    act(browser, sid, "answer", answered_by="human")
    page = act(browser, sid, "keys", keys="1a")
    assert "Press the keys 0 to 9" in text(page)
    page = act(browser, sid, "answer", answered_by="human")
    assert "Only a ringing call can be answered." in text(page)
    assert browser.post(f"/simulator/calls/{sid}/dance").status_code == 404
    assert browser.get("/simulator/calls/CA" + "f" * 32).status_code == 404


def test_a_failing_webhook_is_shown_and_ends_the_call(browser, db):
    sid = place(url=f"{PUBLIC}/twilio/dummy/broken")

    page = act(browser, sid, "answer", answered_by="human")

    assert "The application answered 500." in text(page)
    assert "<title>Something went wrong" in text(page)
    assert stored(db, sid).status == "completed"
    assert paths() == ["/twilio/dummy/broken", "/twilio/dummy/status/tok1"]


def test_an_answer_that_is_not_twiml_is_shown(browser, db):
    sid = place(url=f"{PUBLIC}/twilio/dummy/not-twiml")

    page = act(browser, sid, "answer", answered_by="human")

    assert "not TwiML" in text(page)
    assert stored(db, sid).status == "completed"


def test_a_url_outside_the_application_is_not_requested(browser, db):
    sid = place(url="https://elsewhere.example/voice")

    page = act(browser, sid, "answer", answered_by="human")

    assert "This address is not part of the application" in text(page)
    assert paths() == ["/twilio/dummy/status/tok1"]


@pytest.fixture
def incoming_here(monkeypatch):
    monkeypatch.setattr(simulator, "INCOMING_PATH", "/twilio/dummy/incoming")
    monkeypatch.setattr(simulator, "INCOMING_STATUS_PATH", "/twilio/dummy/incoming/status")


def test_calling_in_from_any_spelling_queues_then_connects(browser, db, incoming_here):
    response = browser.post("/simulator/call-in", data={"number": "0086 138 0013 8000"})

    assert response.status_code == 303
    sid = response.headers["Location"].rsplit("/", 1)[-1]
    (path, form), (wait_path, wait_form) = RECEIVED
    assert path == "/twilio/dummy/incoming"
    assert (form["From"], form["CallStatus"], form["Direction"], form["CallSid"]) == (
        CUSTOMER,
        "ringing",
        "inbound",
        sid,
    )
    assert form["To"] == "+15005550006"
    assert wait_path == "/twilio/dummy/wait"
    assert wait_form["QueueTime"] == "0"
    page = browser.get(response.headers["Location"])
    assert "Welcome to the service desk" in text(page)
    assert "Please hold, waited 0" in text(page)
    assert "You are waiting in the queue “general”." in text(page)

    SimulatedLine().connect_to_agent(sid, "+8613911112222")
    page = browser.get(response.headers["Location"])
    assert "You are talking to the agent at" in text(page)
    assert "waiting in the queue" not in text(page)

    act(browser, sid, "hangup")
    assert RECEIVED[-1][0] == "/twilio/dummy/incoming/status"
    assert RECEIVED[-1][1]["CallStatus"] == "completed"
    assert "/twilio/dummy/left" not in paths()


def test_hanging_up_in_the_queue_tells_the_enqueue_action(browser, db, incoming_here):
    response = browser.post("/simulator/call-in", data={"number": "138 0013 8000"})
    sid = response.headers["Location"].rsplit("/", 1)[-1]
    act(browser, sid, "listen")
    assert paths().count("/twilio/dummy/wait") == 2

    act(browser, sid, "hangup")

    assert paths()[-2:] == ["/twilio/dummy/left", "/twilio/dummy/incoming/status"]
    assert RECEIVED[-2][1]["QueueResult"] == "hangup"


def test_calling_in_with_the_number_withheld(browser, db, incoming_here):
    browser.post("/simulator/call-in", data={"number": "", "withheld": "1"})

    assert RECEIVED[0][1]["From"] == "anonymous"


def test_a_rejected_call_in_is_busy(browser, db, incoming_here):
    response = browser.post("/simulator/call-in", data={"number": "139 0000 0000"})
    sid = response.headers["Location"].rsplit("/", 1)[-1]

    assert stored(db, sid).status == "busy"
    assert RECEIVED[-1][1]["CallStatus"] == "busy"


@pytest.mark.parametrize(
    ("number", "message"),
    [("", "Enter the number to call from."), ("12", "This is not a valid phone number.")],
)
def test_calling_in_from_a_wrong_number_is_explained(browser, db, incoming_here, number, message):
    response = browser.post("/simulator/call-in", data={"number": number})

    assert response.status_code == 400
    assert message in text(response)
    assert 'aria-invalid="true"' in response.get_data(as_text=True)
    assert RECEIVED == []
    assert db.session.scalars(sa.select(SimulatedCall)).all() == []


def test_the_page_is_for_call_center_staff(sim_app, db, make_user, make_station):
    make_user("station1", role="station", station_code=make_station().code)
    db.session.commit()
    client = sim_app.test_client()
    assert client.get("/simulator/").status_code == 302
    client.post("/login", data={"username": "station1", "password": PASSWORD})
    assert client.get("/simulator/").status_code == 403


def test_the_nav_links_the_simulator_only_on_the_simulated_line(sim_app, browser):
    assert 'href="/simulator/"' in browser.get("/agent/").get_data(as_text=True)
    sim_app.config["SERVICEDESK_TELEPHONY"] = "twilio"
    try:
        assert 'href="/simulator/"' not in browser.get("/agent/").get_data(as_text=True)
        assert browser.get("/simulator/").status_code == 404
    finally:
        sim_app.config["SERVICEDESK_TELEPHONY"] = "simulated"


def test_the_page_speaks_chinese(sim_app, db, make_user):
    make_user("agent2", role="agent", language="zh")
    db.session.commit()
    client = sim_app.test_client()
    client.post("/login", data={"username": "agent2", "password": PASSWORD})

    page = client.get("/simulator/")

    assert page.status_code == 200
    assert '<html lang="zh-Hans">' in page.get_data(as_text=True)


def test_parse_twiml_refuses_what_is_not_twiml():
    assert parse_twiml("<Response><Say>Hi</Say></Response>")[0].text == "Hi"
    with pytest.raises(ValueError, match="not XML"):
        parse_twiml("<Response>")
    with pytest.raises(ValueError, match="not TwiML"):
        parse_twiml("<html></html>")


def test_app_path_is_only_for_urls_under_the_public_url(sim_app):
    with sim_app.app_context():
        assert app_path(f"{PUBLIC}/twilio/voice/x?q=1") == "/twilio/voice/x?q=1"
        assert app_path(PUBLIC) is None
        assert app_path("http://testserver.example.evil/twilio") is None
