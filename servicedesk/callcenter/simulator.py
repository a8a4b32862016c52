"""The simulator page: a person plays the customer on the simulated line, the page plays Twilio.

It answers the calls the simulated line placed (as a person or an answering machine), refuses
them (busy, no answer, failed), reads out the ``<Say>`` texts of the TwiML the application
answers, sends the keys pressed to each ``<Gather>``'s ``action``, follows ``<Redirect>``, and
hangs up; "call in" rings the service desk from any number. Like Twilio, it reaches the
application only through its webhook URLs: each request is signed with ``webhook_auth_token()``
and sent through the application's own test client, in an application context of its own (its
own database session), after the simulator has committed its writes (SQLite has one writer).

What it leaves out: "initiated", "ringing" and "answered" status callbacks (only the final one
is sent), ``<Gather>`` with ``method="GET"`` (sent as POST), speech input, and the Enqueue
``action`` once the call left the queue for an agent.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from servicedesk.auth.access import AGENT_ROLES, roles_required
from servicedesk.callcenter.models import SimulatedCall
from servicedesk.callcenter.simulated_line import ENDED_STATUSES, new_sid
from servicedesk.callcenter.telephony import caller_id, public_url
from servicedesk.callcenter.webhooks import signature_for
from servicedesk.core.db import db, utcnow
from servicedesk.customers.phones import format_phone, normalize_phone

bp = Blueprint("simulator", __name__, url_prefix="/simulator")

INCOMING_PATH = "/twilio/voice/incoming"
INCOMING_STATUS_PATH = "/twilio/voice/incoming/status"
SIMULATED_ACCOUNT_SID = "AC" + "0" * 32
WITHHELD = "anonymous"
"""The ``From`` Twilio sends for a caller who withholds the number."""
KEYS = "123456789*0#"
MAX_KEYS = 32
MAX_REDIRECTS = 10
"""Redirects followed in a row before the simulator gives up on a looping TwiML."""
ENDED_SHOWN = 20
ERROR_BODY_SHOWN = 500
"""Characters of a failed webhook's answer kept in the transcript."""

DECLINES = {
    "busy": _l("Busy"),
    "no-answer": _l("No answer"),
    "failed": _l("Call failed"),
}
ANSWERS = ("human", "machine_start")
"""``AnsweredBy``: a person, or the start of an answering machine's greeting."""
STATUS_LABELS = {
    "queued": _l("Queued"),
    "ringing": _l("Ringing"),
    "in-progress": _l("In progress"),
    "completed": _l("Ended"),
    "busy": _l("Busy"),
    "no-answer": _l("No answer"),
    "failed": _l("Call failed"),
    "canceled": _l("Cancelled"),
}


class SimulatorError(Exception):
    """What the person asked for cannot be done to the call in its present state."""


@dataclass(frozen=True)
class Webhook:
    """One request the simulator sent: ``status`` 0 when it never reached a view."""

    url: str
    status: int
    body: str

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass(frozen=True)
class Gather:
    """The ``<Gather>`` the call waits at (from its transcript entry)."""

    action: str
    num_digits: int | None
    finish_on_key: str
    action_on_empty: bool
    base: str
    index: int


def parse_twiml(text: str) -> ElementTree.Element:
    """The ``<Response>`` element of a TwiML document; ``ValueError`` if it is not one."""
    try:
        root = ElementTree.fromstring(text.encode() if isinstance(text, str) else text)
    except ElementTree.ParseError as error:
        raise ValueError(f"not XML: {error}") from error
    if root.tag != "Response":
        raise ValueError(f"not TwiML: the root element is <{root.tag}>")
    return root


def app_path(url: str) -> str | None:
    """The path (and query string) of ``url`` inside this application, or ``None`` when
    ``url`` is not under SERVICEDESK_PUBLIC_URL."""
    base = public_url("")
    if url == base or not url.startswith(base + "/"):
        return None
    return url[len(base) :]


def send_webhook(url: str, params: Mapping[str, str]) -> Webhook:
    """POST ``params`` to ``url``, signed as Twilio signs, through the app's test client."""
    path = app_path(url)
    if path is None:
        return Webhook(url, 0, _("This address is not part of the application: %(url)s", url=url))
    signature = signature_for(url, params)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        with app.app_context():
            response = app.test_client().post(
                path, data=dict(params), headers={"X-Twilio-Signature": signature}
            )
            return Webhook(url, response.status_code, response.get_data(as_text=True))
    except Exception as error:  # a crashing webhook is what the page must show
        current_app.logger.exception("simulated webhook %s failed", url)
        return Webhook(url, 500, f"{type(error).__name__}: {error}")


def pending_gather(call: SimulatedCall) -> Gather | None:
    """The ``<Gather>`` the call waits at, if its last step was one."""
    if call.status in ENDED_STATUSES:
        return None
    for entry in reversed(call.transcript or []):
        kind = entry.get("kind")
        if kind == "gather":
            return Gather(
                action=entry["action"],
                num_digits=entry.get("num_digits"),
                finish_on_key=entry.get("finish_on_key", "#"),
                action_on_empty=bool(entry.get("action_on_empty")),
                base=entry["base"],
                index=entry["index"],
            )
        if kind in STEP_KINDS:
            return None
    return None


def queue_entry(call: SimulatedCall) -> dict[str, Any] | None:
    """The ``<Enqueue>`` the call waits in, if it is still waiting there."""
    if call.status in ENDED_STATUSES:
        return None
    for entry in reversed(call.transcript or []):
        kind = entry.get("kind")
        if kind == "enqueue":
            return entry
        if kind in STEP_KINDS:
            return None
    return None


def connected_to(call: SimulatedCall) -> str | None:
    """The number the call was put through to (``<Dial>``), while it lasts."""
    if call.status in ENDED_STATUSES:
        return None
    for entry in reversed(call.transcript or []):
        kind = entry.get("kind")
        if kind == "dial":
            return entry.get("text") or ""
        if kind in STEP_KINDS:
            return None
    return None


STEP_KINDS = frozenset({"gather", "keys", "silence", "enqueue", "dial", "hangup", "status"})
"""Transcript entries that move the call on (the others only record what was heard)."""


class Simulation:
    """Plays Twilio's part for one simulated call. Its writes are committed before each
    webhook it sends; the view commits what is left at the end."""

    def __init__(self, call: SimulatedCall) -> None:
        self.call = call

    # What the person does

    def answer(self, answered_by: str) -> None:
        if answered_by not in ANSWERS:
            raise SimulatorError(_("Choose who answers: a person or an answering machine."))
        self._require(self.call.status == "ringing", _("Only a ringing call can be answered."))
        self.call.status = "in-progress"
        self._log("answered", answered_by)
        self._fetch(self.call.url, {**self._params("in-progress"), "AnsweredBy": answered_by})

    def decline(self, outcome: str) -> None:
        if outcome not in DECLINES:
            raise SimulatorError(_("Choose busy, no answer or call failed."))
        self._require(self.call.status == "ringing", _("Only a ringing call can be refused."))
        self._finish(outcome)

    def press(self, keys: str) -> None:
        gather = pending_gather(self.call)
        self._require(gather is not None, _("The call is not waiting for keys now."))
        assert gather is not None
        keys = keys.strip()
        if not keys or len(keys) > MAX_KEYS or any(key not in KEYS for key in keys):
            raise SimulatorError(
                _("Press the keys 0 to 9, * or # (at most %(max)d at once).", max=MAX_KEYS)
            )
        digits = _digits_gathered(keys, gather)
        self._log("keys", keys)
        params = {**self._params("in-progress"), "Digits": digits}
        if gather.finish_on_key and keys.endswith(gather.finish_on_key):
            params["FinishedOnKey"] = gather.finish_on_key
        self._fetch(gather.action, params)

    def stay_silent(self) -> None:
        """Let the ``<Gather>`` time out: its ``action`` without digits when it asks for that
        (``actionOnEmptyResult``), otherwise the verbs after it."""
        gather = pending_gather(self.call)
        self._require(gather is not None, _("The call is not waiting for keys now."))
        assert gather is not None
        self._log("silence", "")
        if gather.action_on_empty:
            self._fetch(gather.action, {**self._params("in-progress"), "Digits": ""})
            return
        root = parse_twiml(self.call.twiml)
        self._execute(list(root)[gather.index + 1 :], gather.base, depth=0)

    def listen_again(self) -> None:
        """Fetch the queue's ``waitUrl`` again, as Twilio does while the caller waits."""
        entry = queue_entry(self.call)
        self._require(
            entry is not None and bool(entry.get("wait_url")),
            _("The call is not waiting in a queue with a waiting message."),
        )
        assert entry is not None
        self._wait_message(entry)

    def hang_up(self) -> None:
        self._require(
            self.call.status not in ENDED_STATUSES and self.call.status != "ringing",
            _("Only a call in progress can be hung up."),
        )
        entry = queue_entry(self.call)
        self._log("hangup", "customer")
        if entry is not None and entry.get("action"):
            self._send(entry["action"], {**self._params("in-progress"), "QueueResult": "hangup"})
        self._finish("completed")

    def call_in(self) -> None:
        """Ring the service desk: the incoming-call webhook decides what happens."""
        self.call.status = "ringing"
        self._fetch(self.call.url, self._params("ringing"), answering=True)

    # Playing Twilio

    def _fetch(
        self, url: str, params: Mapping[str, str], *, depth: int = 0, answering: bool = False
    ) -> None:
        """Request TwiML from ``url`` and carry it out; a failure ends the call as Twilio
        ends it (an application error: the caller hears an apology and the line drops)."""
        hook = self._send(url, params)
        if not hook.ok:
            self._finish("failed" if answering else "completed")
            return
        try:
            root = parse_twiml(hook.body)
        except ValueError as error:
            self._log("error", str(error), status=hook.status, body=hook.body[:ERROR_BODY_SHOWN])
            self._finish("failed" if answering else "completed")
            return
        self.call.twiml = hook.body
        verbs = list(root)
        if answering:
            if verbs and verbs[0].tag == "Reject":
                self._finish("busy" if verbs[0].get("reason") == "busy" else "no-answer")
                return
            self.call.status = "in-progress"
            self._log("answered", "desk")
        self._execute(verbs, url, depth)

    def _execute(self, verbs: list[ElementTree.Element], base: str, depth: int) -> None:
        for index, verb in enumerate(verbs):
            if verb.tag in ("Say", "Play"):
                self._hear(verb)
            elif verb.tag == "Gather":
                for child in verb:
                    if child.tag in ("Say", "Play"):
                        self._hear(child)
                self._log("gather", "", **_gather_entry(verb, base, index))
                return
            elif verb.tag == "Redirect":
                if depth >= MAX_REDIRECTS:
                    self._log("error", _("The TwiML keeps redirecting; the call was dropped."))
                    self._finish("completed")
                    return
                target = urljoin(base, (verb.text or "").strip() or base)
                self._fetch(target, self._params("in-progress"), depth=depth + 1)
                return
            elif verb.tag in ("Hangup", "Reject"):
                self._log("hangup", "application")
                self._finish("completed")
                return
            elif verb.tag == "Enqueue":
                self._enqueue(verb, base)
                return
            elif verb.tag == "Dial":
                self._log("dial", _dialled(verb))
                self._save()
                return
            elif verb.tag != "Pause":
                self._log("unsupported", verb.tag)
        self._log("hangup", "end")
        self._finish("completed")

    def _hear(self, verb: ElementTree.Element) -> None:
        text = " ".join("".join(verb.itertext()).split())
        if verb.tag == "Say":
            self._log("say", text, lang=verb.get("language") or "")
        else:
            self._log("play", text)

    def _enqueue(self, verb: ElementTree.Element, base: str) -> None:
        wait_url = verb.get("waitUrl")
        action = verb.get("action")
        entry = self._log(
            "enqueue",
            (verb.text or "").strip(),
            wait_url=urljoin(base, wait_url) if wait_url else "",
            action=urljoin(base, action) if action else "",
        )
        if entry["wait_url"]:
            self._wait_message(entry)
        else:
            self._save()

    def _wait_message(self, entry: Mapping[str, Any]) -> None:
        """The waiting message: its Say/Play texts are heard; nothing else in it is followed
        (the call stays in the queue)."""
        waited = int((utcnow() - datetime.fromisoformat(entry["at"])).total_seconds())
        params = {
            **self._params("in-progress"),
            "QueueTime": str(max(waited, 0)),
            "QueueSid": "QU" + "0" * 32,
        }
        hook = self._send(entry["wait_url"], params)
        if hook.ok:
            try:
                root = parse_twiml(hook.body)
            except ValueError as error:
                self._log("error", str(error), status=hook.status)
            else:
                for verb in root.iter():
                    if verb.tag in ("Say", "Play"):
                        self._hear(verb)
        self._save()

    def _finish(self, status: str) -> None:
        """End the call with Twilio's final ``status`` and send the status callback."""
        if self.call.status in ENDED_STATUSES:
            return
        answered = self._answered_at()
        now = utcnow()
        self.call.status = status
        self.call.ended_at = now
        self._log("status", status)
        duration = int((now - answered).total_seconds()) if answered else 0
        if self.call.status_callback:
            self._send(
                self.call.status_callback,
                {**self._params(status), "CallDuration": str(max(duration, 0))},
            )
        self._save()

    def _answered_at(self) -> datetime | None:
        for entry in self.call.transcript or []:
            if entry.get("kind") == "answered":
                return datetime.fromisoformat(entry["at"])
        return None

    def _params(self, status: str) -> dict[str, str]:
        call = self.call
        return {
            "AccountSid": SIMULATED_ACCOUNT_SID,
            "ApiVersion": "2010-04-01",
            "CallSid": call.sid,
            "CallStatus": status,
            "Direction": "inbound" if call.direction == "inbound" else "outbound-api",
            "From": call.from_number,
            "To": call.to_number,
            "Caller": call.from_number,
            "Called": call.to_number,
        }

    def _send(self, url: str, params: Mapping[str, str]) -> Webhook:
        self._save()
        hook = send_webhook(url, params)
        db.session.refresh(self.call)
        path = app_path(url) or url
        self._log("webhook", path, status=hook.status)
        if hook.status == 0:
            self._log("error", hook.body, status=0)
        elif not hook.ok:
            self._log(
                "error",
                _("The application answered %(status)s.", status=hook.status),
                status=hook.status,
                body=hook.body[:ERROR_BODY_SHOWN],
            )
        return hook

    def _log(self, kind: str, text: str, **extra: Any) -> dict[str, Any]:
        entry = {"at": utcnow().isoformat(), "kind": kind, "text": str(text), **extra}
        self.call.transcript = [*(self.call.transcript or []), entry]
        return entry

    def _require(self, condition: bool, message: str) -> None:
        if not condition:
            raise SimulatorError(message)

    def _save(self) -> None:
        db.session.commit()


def _gather_entry(verb: ElementTree.Element, base: str, index: int) -> dict[str, Any]:
    num_digits = verb.get("numDigits")
    return {
        "action": urljoin(base, verb.get("action") or base),
        "num_digits": int(num_digits) if num_digits and num_digits.isdigit() else None,
        "finish_on_key": verb.get("finishOnKey", "#"),
        "action_on_empty": verb.get("actionOnEmptyResult") == "true",
        "base": base,
        "index": index,
    }


def _digits_gathered(keys: str, gather: Gather) -> str:
    """What Twilio sends as ``Digits``: the keys up to the finishing key (not included), at
    most ``numDigits`` of them."""
    if gather.finish_on_key and gather.finish_on_key in keys:
        keys = keys[: keys.index(gather.finish_on_key)]
    if gather.num_digits:
        keys = keys[: gather.num_digits]
    return keys


def _dialled(verb: ElementTree.Element) -> str:
    numbers = [" ".join("".join(child.itertext()).split()) for child in verb]
    own = (verb.text or "").strip()
    return ", ".join(part for part in [own, *numbers] if part)


# The page


@bp.before_request
def _only_on_the_simulated_line():
    if current_app.config.get("SERVICEDESK_TELEPHONY") != "simulated":
        abort(404)


@bp.route("/")
@roles_required(*AGENT_ROLES)
def index():
    return render_template("callcenter/simulator.html", **_lists(), form={}, errors={})


@bp.route("/calls/<sid>")
@roles_required(*AGENT_ROLES)
def call(sid: str):
    simulated = _call_or_404(sid)
    return render_template("callcenter/simulator_call.html", **_call_context(simulated))


@bp.route("/calls/<sid>/<action>", methods=["POST"])
@roles_required(*AGENT_ROLES)
def act(sid: str, action: str):
    simulation = Simulation(_call_or_404(sid))
    steps = {
        "answer": lambda: simulation.answer(request.form.get("answered_by", "")),
        "decline": lambda: simulation.decline(request.form.get("outcome", "")),
        "keys": lambda: simulation.press(request.form.get("keys", "")),
        "silence": simulation.stay_silent,
        "listen": simulation.listen_again,
        "hangup": simulation.hang_up,
    }
    if action not in steps:
        abort(404)
    before = len(simulation.call.transcript or [])
    try:
        steps[action]()
    except SimulatorError as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(url_for(".call", sid=sid), 303)
    db.session.commit()
    _flash_failures(simulation.call, before)
    return redirect(url_for(".call", sid=sid), 303)


@bp.route("/call-in", methods=["POST"])
@roles_required(*AGENT_ROLES)
def call_in():
    form = {"number": request.form.get("number", "").strip()[:100]}
    withheld = request.form.get("withheld") == "1"
    form["withheld"] = "1" if withheld else ""
    caller = WITHHELD if withheld else normalize_phone(form["number"])
    if caller is None:
        message = (
            _("Enter the number to call from.")
            if not form["number"]
            else _("This is not a valid phone number.")
        )
        return (
            render_template(
                "callcenter/simulator.html", **_lists(), form=form, errors={"number": message}
            ),
            400,
        )
    simulated = SimulatedCall(
        sid=new_sid(),
        direction="inbound",
        from_number=caller,
        to_number=caller_id(),
        url=public_url(INCOMING_PATH),
        status_callback=public_url(INCOMING_STATUS_PATH),
        status="ringing",
        twiml="",
        transcript=[],
    )
    db.session.add(simulated)
    Simulation(simulated).call_in()
    db.session.commit()
    _flash_failures(simulated, 0)
    return redirect(url_for(".call", sid=simulated.sid), 303)


def _flash_failures(simulated: SimulatedCall, before: int) -> None:
    for entry in (simulated.transcript or [])[before:]:
        if entry.get("kind") == "error":
            flash(entry.get("text", ""), "error")


def _call_or_404(sid: str) -> SimulatedCall:
    simulated = db.session.scalar(sa.select(SimulatedCall).filter_by(sid=sid))
    if simulated is None:
        abort(404)
    return simulated


def _lists() -> dict[str, list[SimulatedCall]]:
    active = db.session.scalars(
        sa.select(SimulatedCall)
        .where(SimulatedCall.status.not_in(ENDED_STATUSES))
        .order_by(SimulatedCall.created_at.desc(), SimulatedCall.id.desc())
    ).all()
    ended = db.session.scalars(
        sa.select(SimulatedCall)
        .where(SimulatedCall.status.in_(ENDED_STATUSES))
        .order_by(SimulatedCall.ended_at.desc(), SimulatedCall.id.desc())
        .limit(ENDED_SHOWN)
    ).all()
    return {
        "ringing": [c for c in active if c.status == "ringing"],
        "in_progress": [c for c in active if c.status != "ringing"],
        "ended": list(ended),
    }


def _call_context(simulated: SimulatedCall) -> dict[str, Any]:
    return {
        "call": simulated,
        "gather": pending_gather(simulated),
        "queue": queue_entry(simulated),
        "connected_to": connected_to(simulated),
        "keys": KEYS,
        "declines": DECLINES,
    }


@bp.app_template_filter("simulated_number")
def _simulated_number(number: str) -> str:
    if number == WITHHELD:
        return _("Number withheld")
    return format_phone(number) if number.startswith("+") else number


@bp.app_template_global("simulated_status")
def _simulated_status(status: str) -> str:
    return str(STATUS_LABELS.get(status, status))


@bp.app_template_filter("simulated_time")
def _simulated_time(moment: str) -> str:
    """A transcript entry's time (ISO 8601, UTC) in the reader's zone."""
    try:
        return format_datetime(datetime.fromisoformat(moment), "HH:mm:ss")
    except (TypeError, ValueError):
        return ""


@bp.app_template_global()
def simulator_available() -> bool:
    """Whether the nav links the simulator page (only on the simulated line)."""
    return current_app.config.get("SERVICEDESK_TELEPHONY") == "simulated"
