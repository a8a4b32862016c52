"""The survey state machine: questions in order, one re-prompt, 9 opts out, stale requests."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from servicedesk.callcenter import survey
from servicedesk.callcenter.survey import (
    GREETING,
    OPTED_OUT,
    QUESTIONS,
    REPROMPT,
    THANKS,
    Step,
    SurveyState,
    answer,
    begin,
    is_satisfied,
    needs_follow_up,
    say_language,
)

PROMPT = {question.key: question.prompt.message for question in QUESTIONS}


def messages(step: Step) -> list[str]:
    return [reason.message for reason in step.say]


def run(keys: list[str | None]) -> tuple[dict[str, int], list[Step]]:
    """Feed key presses to a survey from its start; the answers recorded and every step."""
    step = begin()
    steps = [step]
    answers: dict[str, int] = {}
    for digits in keys:
        if step.hang_up:
            break
        step = answer(step.state, step.state.question, step.state.tries, digits)
        steps.append(step)
        if step.answer:
            key, value = step.answer
            assert key not in answers
            answers[key] = value
    return answers, steps


def test_begin_greets_and_asks_the_first_question():
    step = begin()
    assert messages(step) == [GREETING, PROMPT["overall"]]
    assert step.state == SurveyState("overall", 1)
    assert not step.hang_up and step.answer is None


def test_question_keys_and_ranges():
    assert [q.key for q in QUESTIONS] == ["overall", "solved", "engineer"]
    assert [sorted(q.valid) for q in QUESTIONS] == [[1, 2, 3, 4, 5], [1, 2], [1, 2, 3, 4, 5]]
    assert survey.question("solved").key == "solved"
    with pytest.raises(ValueError):
        survey.question("price")


@pytest.mark.parametrize(
    ("keys", "answers", "last_messages", "opted_out"),
    [
        # Straight through.
        (["5", "1", "4"], {"overall": 5, "solved": 1, "engineer": 4}, [THANKS], False),
        (["1", "2", "1"], {"overall": 1, "solved": 2, "engineer": 1}, [THANKS], False),
        # One miss on a question: re-asked, then answered.
        (["", "4", "1", "5"], {"overall": 4, "solved": 1, "engineer": 5}, [THANKS], False),
        (["7", "3", "1", "2"], {"overall": 3, "solved": 1, "engineer": 2}, [THANKS], False),
        (["5", "3", "2", "5"], {"overall": 5, "solved": 2, "engineer": 5}, [THANKS], False),
        (["0", "", "1", "4"], {"solved": 1, "engineer": 4}, [THANKS], False),
        # Two misses: the question is skipped, answers so far kept.
        (["", None, "", "", "", ""], {}, [THANKS], False),
        (["4", "", "8", "3"], {"overall": 4, "engineer": 3}, [THANKS], False),
        (["4", "1", "6", "x"], {"overall": 4, "solved": 1}, [THANKS], False),
        (["12", "45", "2", "1", "3"], {"solved": 2, "engineer": 1}, [THANKS], False),
        # 9 at any point: over at once, answers before it kept.
        (["9"], {}, [OPTED_OUT], True),
        (["3", "9"], {"overall": 3}, [OPTED_OUT], True),
        (["3", "1", "9"], {"overall": 3, "solved": 1}, [OPTED_OUT], True),
        (["", "9"], {}, [OPTED_OUT], True),
        (["2", "5", "9"], {"overall": 2}, [OPTED_OUT], True),
        ([" 9 "], {}, [OPTED_OUT], True),
    ],
)
def test_survey_paths(keys, answers, last_messages, opted_out):
    recorded, steps = run(keys)
    assert recorded == answers
    final = steps[-1]
    assert final.hang_up
    assert messages(final) == last_messages
    assert final.opted_out is opted_out


def test_a_miss_re_prompts_the_same_question_once():
    first = begin()
    second = answer(first.state, "overall", 1, "")
    assert second.state == SurveyState("overall", 2)
    assert messages(second) == [REPROMPT, PROMPT["overall"]]
    third = answer(second.state, "overall", 2, "6")
    assert third.state == SurveyState("solved", 1)
    assert messages(third) == [PROMPT["solved"]]
    assert third.answer is None


def test_each_answer_moves_to_the_next_question():
    step = answer(SurveyState("overall", 1), "overall", 1, "4")
    assert step.answer == ("overall", 4)
    assert messages(step) == [PROMPT["solved"]]
    step = answer(step.state, "solved", 1, "2")
    assert step.answer == ("solved", 2)
    assert messages(step) == [PROMPT["engineer"]]
    step = answer(step.state, "engineer", 1, "5")
    assert step.answer == ("engineer", 5)
    assert step.state.finished and messages(step) == [THANKS]


@pytest.mark.parametrize(
    ("state", "asked", "tries"),
    [
        (SurveyState("solved", 1), "overall", 1),  # a replay of the first question
        (SurveyState("solved", 2), "solved", 1),  # a replay of the first try
        (SurveyState("overall", 1), "engineer", 1),  # a question not reached yet
        (SurveyState(None, 1), "engineer", 1),  # after the end
        (SurveyState(None, 1, opted_out=True), "overall", 1),
    ],
)
def test_stale_requests_change_nothing(state, asked, tries):
    step = answer(state, asked, tries, "5")
    assert step.stale
    assert step.state == state
    assert step.answer is None
    if state.finished:
        assert step.hang_up and step.say == ()
    else:
        assert messages(step) == [PROMPT[state.question]]


def test_state_round_trips_through_json():
    for state in (SurveyState(), SurveyState("solved", 2), SurveyState(None, 1, opted_out=True)):
        assert SurveyState.from_json(state.to_json()) == state
    assert SurveyState.from_json(None) == SurveyState("overall", 1)


@pytest.mark.parametrize(
    "data",
    [
        {"question": "price"},
        {"question": "overall", "tries": 3},
        {"question": "overall", "tries": 0},
        {"question": "overall", "tries": "1"},
        ["overall"],
    ],
)
def test_bad_stored_state_is_refused(data):
    with pytest.raises(ValueError):
        SurveyState.from_json(data)


@pytest.mark.parametrize(
    ("language", "say"), [("zh", "zh-CN"), ("en", "en-US"), ("fr", "zh-CN"), ("", "zh-CN")]
)
def test_say_language(language, say):
    assert say_language(language) == say


@pytest.mark.parametrize(
    ("overall", "satisfied"), [(None, None), (1, False), (3, False), (4, True), (5, True)]
)
def test_satisfied_means_four_or_five(overall, satisfied):
    assert is_satisfied(overall) is satisfied


@pytest.mark.parametrize(
    ("answers", "follow_up"),
    [
        ({}, False),
        ({"overall": 1}, True),
        ({"overall": 2}, True),
        ({"overall": 3}, False),
        ({"overall": 5, "solved": 2}, True),
        ({"overall": 5, "solved": 1}, False),
        ({"solved": 2}, True),
        ({"overall": 4, "solved": 1, "engineer": 1}, False),
    ],
)
def test_follow_up_complaint_rule(answers, follow_up):
    assert needs_follow_up(answers) is follow_up


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=3)), max_size=12))
def test_any_key_presses_end_within_six_questions_asked(keys):
    recorded, steps = run(keys + [""] * 6)
    assert steps[-1].hang_up
    # At most two asks per question, plus the start.
    assert len(steps) <= 1 + 2 * len(QUESTIONS)
    for key, value in recorded.items():
        assert value in survey.question(key).valid
    assert list(recorded) == [q.key for q in QUESTIONS if q.key in recorded]
