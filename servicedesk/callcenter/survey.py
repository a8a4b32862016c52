"""The keypad survey of a satisfaction callback, as a state machine.

Pure domain code: no Flask, no database, no telephony. The webhook feeds it the digits the
customer pressed and turns the :class:`Step` it returns into TwiML.

The three questions of DESIGN.md, asked in order:

1. ``overall``: overall satisfaction, 1 (very dissatisfied) to 5 (very satisfied);
2. ``solved``: was the problem solved? 1 yes, 2 no;
3. ``engineer``: the engineer's service, 1 to 5.

Rules:

* a valid key records the answer and moves to the next question;
* no input (the gather timed out) or an invalid key re-asks the same question once; a second
  miss moves on without an answer (the answers given so far are kept);
* 9 at any point opts out: the call ends and the number is never called again;
* after the last question the customer is thanked and the call ends.

Every prompt is an English message written as ``N_("...")`` and carried as a
:class:`~servicedesk.warranty.coverage.Reason`, translated only when the webhook renders it in
the customer's language.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from servicedesk.warranty.coverage import N_, Reason

__all__ = [
    "MAX_TRIES",
    "OPT_OUT_DIGIT",
    "QUESTIONS",
    "SAY_LANGUAGES",
    "Question",
    "Step",
    "SurveyState",
    "answer",
    "begin",
    "is_satisfied",
    "needs_follow_up",
    "repeat",
    "say_language",
]

OPT_OUT_DIGIT = "9"
MAX_TRIES = 2
"""Each question is asked at most twice: once, and once more after no or an invalid answer."""
SAY_LANGUAGES = {"zh": "zh-CN", "en": "en-US"}
"""The ``<Say language>`` of each customer language."""
SATISFIED_FROM = 4
"""Question 1 at this or above means satisfied."""
COMPLAINT_UP_TO = 2
"""Question 1 at this or below opens a follow-up complaint."""
SOLVED_YES = 1
SOLVED_NO = 2

GREETING = N_(
    "Hello, this is the service desk calling about your recent repair. Please answer three "
    "short questions with your telephone keypad. Press 9 at any time if you do not want to "
    "receive these calls again."
)
REPROMPT = N_("Sorry, we did not get that.")
THANKS = N_("Thank you for your answers. Goodbye.")
OPTED_OUT = N_("We will not call you again for surveys. Goodbye.")


@dataclass(frozen=True)
class Question:
    """One survey question: its key, the prompt read out and the keys that answer it."""

    key: str
    prompt: Reason
    valid: frozenset[int]


QUESTIONS: tuple[Question, ...] = (
    Question(
        "overall",
        Reason(
            N_(
                "How satisfied are you with the repair overall? Press 1 for very dissatisfied, "
                "up to 5 for very satisfied."
            )
        ),
        frozenset({1, 2, 3, 4, 5}),
    ),
    Question(
        "solved",
        Reason(N_("Was your problem solved? Press 1 for yes, or 2 for no.")),
        frozenset({SOLVED_YES, SOLVED_NO}),
    ),
    Question(
        "engineer",
        Reason(
            N_(
                "How would you rate the service of our engineer? Press 1 for very poor, "
                "up to 5 for excellent."
            )
        ),
        frozenset({1, 2, 3, 4, 5}),
    ),
)
_BY_KEY = {question.key: question for question in QUESTIONS}
_ORDER = tuple(question.key for question in QUESTIONS)


def question(key: str) -> Question:
    """The question named ``key``; ValueError for an unknown key."""
    try:
        return _BY_KEY[key]
    except KeyError:
        raise ValueError(f"unknown survey question {key!r}") from None


def say_language(language: str) -> str:
    """The ``<Say language>`` for a customer language (``zh`` → ``zh-CN``, ``en`` → ``en-US``);
    an unknown language falls back to Chinese, the desk's default."""
    return SAY_LANGUAGES.get(language, SAY_LANGUAGES["zh"])


@dataclass(frozen=True)
class SurveyState:
    """Where one call's survey stands: the question being asked (``None`` once over) and
    which try of it this is (1 or 2)."""

    question: str | None = _ORDER[0]
    tries: int = 1
    opted_out: bool = False

    def __post_init__(self) -> None:
        if self.question is not None:
            question(self.question)
        if isinstance(self.tries, bool) or not isinstance(self.tries, int):
            raise ValueError(f"tries must be a whole number, got {self.tries!r}")
        if not 1 <= self.tries <= MAX_TRIES:
            raise ValueError(f"tries must be 1 to {MAX_TRIES}, got {self.tries}")

    @property
    def finished(self) -> bool:
        return self.question is None

    def to_json(self) -> dict[str, Any]:
        return {"question": self.question, "tries": self.tries, "opted_out": self.opted_out}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> SurveyState:
        """The stored state; ``None`` (a call whose survey has not started) is the start."""
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise ValueError(f"not a stored survey state: {data!r}")
        return cls(
            question=data.get("question"),
            tries=data.get("tries", 1),
            opted_out=bool(data.get("opted_out", False)),
        )


@dataclass(frozen=True)
class Step:
    """What the call does after one event: say ``say`` (in order), record ``answer`` if any
    (``(question, value)``), then ask ``state.question`` (try ``state.tries``) or hang up
    when the survey is over (``state.finished``)."""

    state: SurveyState
    say: tuple[Reason, ...]
    answer: tuple[str, int] | None = None
    stale: bool = False
    """The event was not for the question being asked (a replayed or late request): nothing
    was recorded and the current question is asked again."""

    @property
    def opted_out(self) -> bool:
        return self.state.opted_out

    @property
    def hang_up(self) -> bool:
        return self.state.finished


def _asking(state: SurveyState, *preamble: Reason) -> tuple[Reason, ...]:
    if state.finished:
        return preamble
    return (*preamble, question(state.question).prompt)


def begin() -> Step:
    """The call was answered by a person: the greeting and the first question."""
    state = SurveyState()
    return Step(state=state, say=_asking(state, Reason(GREETING)))


def repeat(state: SurveyState) -> Step:
    """Where the call stands, said again: the current question (a replayed answer webhook),
    or nothing and hang up once the survey is over."""
    return Step(state=state, say=_asking(state), stale=True)


def _next_question(key: str) -> str | None:
    index = _ORDER.index(key) + 1
    return _ORDER[index] if index < len(_ORDER) else None


def _parse_digit(digits: str | None) -> int | None:
    text = (digits or "").strip()
    if len(text) != 1 or text not in "0123456789":
        return None
    return int(text)


def answer(state: SurveyState, asked: str, tries: int, digits: str | None) -> Step:
    """The customer pressed ``digits`` (``""``/``None``: nothing before the timeout) for
    question ``asked`` on try ``tries``, while the call is in ``state``.

    A request for another question or try than ``state``'s, or after the survey ended, is
    stale: nothing changes and the current question is asked again (or the call hangs up).
    """
    if state.finished or (asked, tries) != (state.question, state.tries):
        return repeat(state)
    text = (digits or "").strip()
    if text == OPT_OUT_DIGIT:
        return Step(state=SurveyState(None, 1, opted_out=True), say=(Reason(OPTED_OUT),))
    current = question(asked)
    value = _parse_digit(text)
    if value is not None and value in current.valid:
        following = _next_question(asked)
        new_state = SurveyState(following, 1)
        closing = () if following is not None else (Reason(THANKS),)
        return Step(state=new_state, say=_asking(new_state, *closing), answer=(asked, value))
    if tries < MAX_TRIES:
        new_state = SurveyState(asked, tries + 1)
        return Step(state=new_state, say=_asking(new_state, Reason(REPROMPT)))
    following = _next_question(asked)
    new_state = SurveyState(following, 1)
    closing = () if following is not None else (Reason(THANKS),)
    return Step(state=new_state, say=_asking(new_state, *closing))


def is_satisfied(overall: int | None) -> bool | None:
    """Satisfied means question 1 at 4 or 5; ``None`` while question 1 is unanswered."""
    if overall is None:
        return None
    return overall >= SATISFIED_FROM


def needs_follow_up(answers: Mapping[str, int]) -> bool:
    """Whether the answers open a follow-up complaint: question 1 at 1-2, or "not solved"."""
    overall = answers.get("overall")
    if overall is not None and overall <= COMPLAINT_UP_TO:
        return True
    return answers.get("solved") == SOLVED_NO
