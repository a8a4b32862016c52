"""The webhooks of an outbound survey call, on the ``/twilio`` blueprint (all signed):

* ``POST /twilio/voice/survey/<token>``: the call was answered; TwiML with the greeting and the
  first question (or ``<Hangup/>`` for an answering machine, AMD's ``AnsweredBy``);
* ``POST /twilio/voice/survey/<token>/gather?q=<question>&try=<n>``: each ``<Gather>``'s own
  ``action``, with the key pressed in ``Digits`` (empty when nothing was pressed);
* ``POST /twilio/voice/status/<token>``: the status callback of the call (idempotent).

``<token>`` is the attempt's token. Prompts are rendered in the customer's language
(``force_locale``) and spoken with ``<Say language="zh-CN">`` or ``"en-US"``. Each view commits
its own transaction; bad input answers 4xx, never 500.
"""

from __future__ import annotations

from flask import abort, request, url_for
from flask_babel import force_locale, gettext
from twilio.twiml.voice_response import Gather, VoiceResponse

from servicedesk.callcenter import callbacks
from servicedesk.callcenter.models import Callback, CallbackAttempt
from servicedesk.callcenter.survey import (
    MAX_TRIES,
    QUESTIONS,
    Step,
    SurveyState,
    answer,
    begin,
    repeat,
    say_language,
)
from servicedesk.callcenter.telephony import public_url
from servicedesk.callcenter.webhooks import bp, twilio_signed, twiml
from servicedesk.core.db import db, utcnow

GATHER_TIMEOUT_SECONDS = 6
MACHINE_PREFIXES = ("machine", "fax")
"""``AnsweredBy`` values of answering-machine detection that are not a person."""
PROGRESS_STATUSES = frozenset({"queued", "initiated", "ringing", "in-progress"})
QUESTION_KEYS = frozenset(question.key for question in QUESTIONS)


def _attempt(token: str) -> CallbackAttempt:
    attempt = callbacks.attempt_for_token(token)
    if attempt is None:
        abort(404)
    return attempt


def _adopt_sid(attempt: CallbackAttempt) -> None:
    sid = (request.form.get("CallSid") or "").strip()
    if sid and attempt.call_sid is None and len(sid) <= 64:
        attempt.call_sid = sid


def _is_machine(answered_by: str) -> bool:
    return answered_by.startswith(MACHINE_PREFIXES)


def _hang_up() -> VoiceResponse:
    response = VoiceResponse()
    response.hangup()
    return response


def _render(step: Step, callback: Callback, token: str) -> VoiceResponse:
    """The TwiML of a survey step: its sentences, then a ``<Gather>`` for the question it asks
    (whose ``action`` names the question and try) or ``<Hangup/>``."""
    language = say_language(callback.language)
    with force_locale(callback.language):
        sentences = [reason.render(gettext) for reason in step.say]
    response = VoiceResponse()
    if step.hang_up:
        for sentence in sentences:
            response.say(sentence, language=language)
        response.hangup()
        return response
    action = public_url(
        url_for(
            "twilio.survey_gather",
            token=token,
            q=step.state.question,
            **{"try": step.state.tries},
        )
    )
    gather = Gather(
        input="dtmf",
        num_digits=1,
        timeout=GATHER_TIMEOUT_SECONDS,
        action=action,
        method="POST",
        action_on_empty_result=True,
    )
    for sentence in sentences:
        gather.say(sentence, language=language)
    response.append(gather)
    return response


@bp.post("/voice/survey/<token>")
@twilio_signed
def survey_answered(token: str):
    """The survey call was picked up: greet and ask question 1 (see the module docstring)."""
    attempt = _attempt(token)
    callback = attempt.callback
    now = utcnow()
    _adopt_sid(attempt)
    answered_by = (request.form.get("AnsweredBy") or "").strip()
    if _is_machine(answered_by):
        callbacks.mark_machine(attempt, answered_by=answered_by, now=now)
        db.session.commit()
        return twiml(_hang_up())
    if attempt.ended_at is not None or callback.status in ("stopped", "cancelled"):
        db.session.commit()
        return twiml(_hang_up())
    callbacks.mark_answered(attempt, answered_by=answered_by or None, now=now)
    if attempt.survey_state is None:
        step = begin()
        attempt.survey_state = step.state.to_json()
    else:
        step = repeat(SurveyState.from_json(attempt.survey_state))
    response = _render(step, callback, token)
    db.session.commit()
    return twiml(response)


@bp.post("/voice/survey/<token>/gather")
@twilio_signed
def survey_gather(token: str):
    """A key pressed (or none) for question ``q``, try ``try``: record, then the next step."""
    question = request.args.get("q", "")
    try:
        tries = int(request.args.get("try", ""))
    except ValueError:
        abort(400)
    if question not in QUESTION_KEYS or not 1 <= tries <= MAX_TRIES:
        abort(400)
    digits = request.form.get("Digits", "")
    attempt = _attempt(token)
    callback = attempt.callback
    now = utcnow()
    _adopt_sid(attempt)
    if callback.status in ("stopped", "cancelled") or attempt.ended_at is not None:
        db.session.commit()
        return twiml(_hang_up())
    state = SurveyState.from_json(attempt.survey_state)
    step = answer(state, question, tries, digits)
    if not step.stale:
        if step.answer is not None:
            callbacks.record_answer(attempt, *step.answer, now=now)
        if step.opted_out:
            callbacks.opt_out(attempt, now=now)
        attempt.survey_state = step.state.to_json()
    response = _render(step, callback, token)
    db.session.commit()
    return twiml(response)


@bp.post("/voice/status/<token>")
@twilio_signed
def survey_status(token: str):
    """The status callback of a survey call. Progress (``ringing``, ``in-progress``) is noted
    while the call lasts; a final status ends the attempt once: the same status again, or any
    status after the end, changes nothing."""
    status = (request.form.get("CallStatus") or "").strip()
    if status not in callbacks.FINAL_CALL_STATUSES and status not in PROGRESS_STATUSES:
        abort(400)
    attempt = _attempt(token)
    now = utcnow()
    _adopt_sid(attempt)
    answered_by = (request.form.get("AnsweredBy") or "").strip()
    if status in PROGRESS_STATUSES:
        if attempt.ended_at is None:
            if status == "in-progress" and _is_machine(answered_by):
                callbacks.mark_machine(attempt, answered_by=answered_by, now=now)
            elif status == "in-progress":
                callbacks.mark_answered(attempt, answered_by=answered_by or None, now=now)
            elif attempt.status == "dialling":
                attempt.status = "placed"
                attempt.placed_at = attempt.placed_at or now
    else:
        if _is_machine(answered_by):
            callbacks.mark_machine(attempt, answered_by=answered_by, now=now)
        callbacks.finish_attempt(attempt, callbacks.FINAL_CALL_STATUSES[status], now=now)
    db.session.commit()
    return twiml(VoiceResponse())
