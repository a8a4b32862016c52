"""Table and property tests for the pure station scorecard rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from servicedesk.dispatch.rules import UNSCORED_SATISFACTION
from servicedesk.stations.scorecard import (
    MIN_ANSWERS,
    PROBATION_THRESHOLD,
    SATISFACTION_TARGET,
    STANDINGS,
    WINDOW_DAYS,
    RepairRecord,
    Scorecard,
    SurveyResponse,
    compute_scorecard,
    percent,
    review_status,
    window_start,
)
from servicedesk.warranty.coverage import Reason

NOW = datetime(2026, 11, 20, 2, 30, tzinfo=UTC)
DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)


def answers(satisfied: int, unsatisfied: int, *, at: datetime = NOW - DAY) -> list:
    return [SurveyResponse(at, overall=5)] * satisfied + [SurveyResponse(at, overall=2)] * (
        unsatisfied
    )


def card(responses=(), repairs=(), now=NOW) -> Scorecard:
    return compute_scorecard(responses, repairs, now=now)


def test_the_organisation_figures_match_design_and_dispatch():
    assert WINDOW_DAYS == 90
    assert MIN_ANSWERS == 20
    assert Fraction(85, 100) == PROBATION_THRESHOLD
    assert Fraction(88, 100) == SATISFACTION_TARGET
    assert float(SATISFACTION_TARGET) == UNSCORED_SATISFACTION


def test_an_empty_card_has_no_figures():
    empty = card()
    assert (empty.answers, empty.solved_answers, empty.repairs_opened, empty.repairs_closed) == (
        0,
        0,
        0,
        0,
    )
    assert empty.satisfaction is None
    assert empty.score is None
    assert empty.solved_rate is None
    assert empty.sla_compliance is None
    assert empty.repeat_rate is None
    assert empty.standing == "no_answers"
    assert empty.last_answer_at is None
    assert "no satisfaction score yet" in empty.render_reasons()[0]


# --- the window -------------------------------------------------------------------------

START = NOW - timedelta(days=WINDOW_DAYS)


@pytest.mark.parametrize(
    ("answered_at", "counted"),
    [
        (NOW, True),  # the end is included: answers recorded at ``now`` count at once
        (NOW - SECOND, True),
        (NOW - DAY, True),
        (START + SECOND, True),
        (START + timedelta(microseconds=1), True),
        (START, False),  # the start is excluded: exactly 90 days old has left
        (START - SECOND, False),
        (START - 30 * DAY, False),
        (NOW + timedelta(microseconds=1), False),  # after now: not yet
        (NOW + DAY, False),
    ],
)
def test_answers_count_inside_the_window_only(answered_at, counted):
    result = card([SurveyResponse(answered_at, overall=5, solved=True)])
    assert result.answers == int(counted)
    assert result.solved_answers == int(counted)
    assert window_start(NOW) == START
    assert result.window_start == START


def test_a_window_in_another_zone_is_the_same_instant():
    shanghai = NOW.astimezone(ZoneInfo("Asia/Shanghai"))
    assert card(answers(3, 1), now=shanghai).answers == card(answers(3, 1)).answers == 4


# --- satisfaction and the probation decision -----------------------------------------------


@pytest.mark.parametrize(
    ("overall", "satisfied"),
    [(1, False), (2, False), (3, False), (4, True), (5, True)],
)
def test_satisfied_means_question_one_at_four_or_five(overall, satisfied):
    result = card([SurveyResponse(NOW, overall=overall)])
    assert result.answers == 1
    assert result.satisfied == int(satisfied)
    assert SurveyResponse(NOW, overall=overall).satisfied is satisfied


@pytest.mark.parametrize(
    ("satisfied", "unsatisfied", "standing", "score"),
    [
        (0, 0, "no_answers", None),
        (1, 0, "too_few_answers", None),
        (0, 1, "too_few_answers", None),
        (0, 19, "too_few_answers", None),  # 0% but only 19 answers: no score, no probation
        (19, 0, "too_few_answers", None),
        (16, 3, "too_few_answers", None),  # 84.2% with 19 answers
        (17, 3, "below_target", Fraction(85, 100)),  # exactly 85% with 20 answers
        (16, 4, "below_threshold", Fraction(80, 100)),  # 80% with 20 answers
        (0, 20, "below_threshold", Fraction(0)),
        (20, 0, "on_target", Fraction(1)),
        (849, 151, "below_threshold", Fraction(849, 1000)),  # 84.9%
        (850, 150, "below_target", Fraction(85, 100)),  # exactly 85%: not below
        (1699, 301, "below_threshold", Fraction(1699, 2000)),  # 84.95%
        (879, 121, "below_target", Fraction(879, 1000)),  # 87.9%
        (880, 120, "on_target", Fraction(88, 100)),  # exactly the target
        (22, 3, "on_target", Fraction(88, 100)),
        (21, 4, "below_threshold", Fraction(84, 100)),
    ],
)
def test_standing_by_answers_and_rate(satisfied, unsatisfied, standing, score):
    result = card(answers(satisfied, unsatisfied))
    assert result.standing == standing
    assert result.answers == satisfied + unsatisfied
    if satisfied + unsatisfied:
        assert result.satisfaction == Fraction(satisfied, satisfied + unsatisfied)
    assert result.score == score
    assert result.calls_for_probation is (standing == "below_threshold")


@pytest.mark.parametrize(
    ("satisfied", "unsatisfied", "probation"),
    [
        (16, 3, False),  # 19 answers at 84.2%: too few
        (17, 3, False),  # 20 answers at 85%
        (16, 4, True),  # 20 answers at 80%
        (849, 151, True),  # 84.9%
        (850, 150, False),  # 85.0%
        (8499, 1501, True),  # 84.99%
    ],
)
def test_probation_needs_twenty_answers_below_85_percent(satisfied, unsatisfied, probation):
    assert card(answers(satisfied, unsatisfied)).calls_for_probation is probation


@pytest.mark.parametrize(
    ("satisfied", "unsatisfied", "words"),
    [
        (0, 0, ["No customer answered", "90 days"]),
        (3, 2, ["5 (3 satisfied, 60%)", "at least 20 answers"]),
        (16, 4, ["Satisfaction is 80% (16 of 20 answers in the last 90 days)", "85% probation"]),
        (850, 150, ["85% (850 of 1000", "not below the 85%", "88% target"]),
        (1699, 301, ["84.9% (1699 of 2000", "below the 85% probation threshold"]),
        (22, 3, ["88% (22 of 25", "meeting the organisation's 88% target"]),
    ],
)
def test_the_reason_reads_well(satisfied, unsatisfied, words):
    text = card(answers(satisfied, unsatisfied)).render_reasons()[0]
    for word in words:
        assert word in text


def test_the_reason_is_translated_when_rendered():
    result = card(answers(16, 4))
    rendered = result.reasons[0].render(lambda message: "【" + message + "】")
    assert rendered.startswith("【Satisfaction is 80%")


# --- problem solved ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("solved_values", "answered", "solved", "rate"),
    [
        ([], 0, 0, None),
        ([None, None], 0, 0, None),
        ([True], 1, 1, Fraction(1)),
        ([False], 1, 0, Fraction(0)),
        ([True, False, None, True], 3, 2, Fraction(2, 3)),
    ],
)
def test_solved_rate_counts_answers_to_question_two(solved_values, answered, solved, rate):
    result = card([SurveyResponse(NOW, overall=None, solved=value) for value in solved_values])
    assert (result.solved_answers, result.solved, result.solved_rate) == (answered, solved, rate)
    assert result.answers == 0  # no answer to question 1


def test_partial_answers_count_for_their_own_question():
    result = card([SurveyResponse(NOW, overall=5), SurveyResponse(NOW, solved=False)])
    assert (result.answers, result.satisfied) == (1, 1)
    assert (result.solved_answers, result.solved) == (1, 0)


# --- SLA compliance -------------------------------------------------------------------


def repair(opened_days_ago, closed_days_ago=None, *, asset="A1", met=0, breached=0, **kwargs):
    return RepairRecord(
        opened_at=NOW - opened_days_ago * DAY,
        asset=asset,
        closed_at=None if closed_days_ago is None else NOW - closed_days_ago * DAY,
        sla_met=met,
        sla_breached=breached,
        **kwargs,
    )


@pytest.mark.parametrize(
    ("repairs", "met", "breached", "compliance", "closed"),
    [
        ([], 0, 0, None, 0),
        ([repair(5, 1, met=3)], 3, 0, Fraction(1), 1),
        ([repair(5, 1, met=2, breached=1)], 2, 1, Fraction(2, 3), 1),
        ([repair(5, None, met=1, breached=1)], 0, 0, None, 0),  # still open: not counted
        ([repair(100, 90, met=3)], 0, 0, None, 0),  # closed exactly at the start: out
        ([repair(100, 89.9, met=3)], 3, 0, Fraction(1), 1),  # closed inside, opened before
        ([repair(5, 1, met=0, breached=0)], 0, 0, None, 1),  # nothing decided
        ([repair(5, 1, met=3, cancelled=True)], 0, 0, None, 0),  # cancelled: ignored
        (
            [repair(5, 1, met=3), repair(6, 2, breached=3, asset="A2"), repair(3, None, met=1)],
            3,
            3,
            Fraction(1, 2),
            2,
        ),
    ],
)
def test_sla_compliance_of_repairs_closed_in_the_window(repairs, met, breached, compliance, closed):
    result = card(repairs=repairs)
    assert (result.sla_met, result.sla_breached, result.sla_compliance) == (
        met,
        breached,
        compliance,
    )
    assert result.repairs_closed == closed


# --- repeat repairs ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("repairs", "opened", "repeats"),
    [
        ([], 0, 0),
        ([repair(10)], 1, 0),
        ([repair(40, 35), repair(10)], 2, 1),  # back 25 days after closing
        ([repair(45, 40), repair(10)], 2, 1),  # back 30 days after closing: a repeat
        ([repair(61, 40 + 1 / 86400), repair(10)], 2, 0),  # 30 days and a second: not
        ([repair(61, 41), repair(10)], 2, 0),  # 31 days: not a repeat
        ([repair(40, 35), repair(10, asset="A2")], 2, 0),  # another machine
        ([repair(40, 35), repair(10, asset=None)], 2, 0),  # no machine
        ([repair(40, 35, asset=None), repair(10, asset=None)], 2, 0),
        ([repair(40, None), repair(10)], 2, 0),  # the first is still open
        ([repair(40, 5), repair(10)], 2, 0),  # opened before the first was closed
        ([repair(40, 10), repair(10)], 2, 1),  # opened the instant the first closed
        ([repair(40, 35, cancelled=True), repair(10)], 1, 0),  # cancelled first
        ([repair(40, 35), repair(10, cancelled=True)], 1, 0),  # cancelled second
        ([repair(120, 100), repair(95)], 0, 0),  # the repeat was opened before the window
        ([repair(130, 110), repair(89)], 1, 1),  # earlier repair long before the window
        ([repair(50, 45), repair(40, 30), repair(20)], 3, 2),  # twice back
        ([repair(40, 35), repair(20), repair(15)], 3, 2),  # two repeats of one closing
        ([repair(10, 5)], 1, 0),  # one repair is never its own repeat
        ([repair(10, 10)], 1, 0),  # not even when closed the instant it was opened
    ],
)
def test_repeat_repairs_within_30_days(repairs, opened, repeats):
    result = card(repairs=repairs)
    assert (result.repairs_opened, result.repeat_repairs) == (opened, repeats)
    assert result.repeat_rate == (None if not opened else Fraction(repeats, opened))


def test_a_future_closing_is_no_earlier_repair():
    result = card(repairs=[RepairRecord(NOW - DAY, "A1", NOW + DAY), repair(0.5)])
    assert result.repeat_repairs == 0


# --- inputs ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"answered_at": datetime(2026, 1, 1)}, ValueError),  # naive
        ({"answered_at": "2026-01-01"}, TypeError),
        ({"overall": 0}, ValueError),
        ({"overall": 6}, ValueError),
        ({"overall": True}, TypeError),
        ({"overall": 4.0}, TypeError),
        ({"solved": 1}, TypeError),
    ],
)
def test_bad_responses_are_refused(kwargs, error):
    with pytest.raises(error):
        SurveyResponse(**{"answered_at": NOW, **kwargs})


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"opened_at": datetime(2026, 1, 1)}, ValueError),
        ({"closed_at": NOW - 2 * DAY}, ValueError),  # closed before opened
        ({"sla_met": -1}, ValueError),
        ({"sla_breached": 1.5}, TypeError),
        ({"cancelled": None}, TypeError),
    ],
)
def test_bad_repairs_are_refused(kwargs, error):
    with pytest.raises(error):
        RepairRecord(**{"opened_at": NOW - DAY, **kwargs})


def test_other_objects_and_naive_now_are_refused():
    with pytest.raises(TypeError):
        compute_scorecard([("2026-01-01", 5)], [], now=NOW)
    with pytest.raises(TypeError):
        compute_scorecard([], [object()], now=NOW)
    with pytest.raises(ValueError):
        compute_scorecard([], [], now=datetime(2026, 1, 1))


# --- percentages ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rate", "text"),
    [
        (None, "—"),
        (Fraction(0), "0%"),
        (Fraction(1), "100%"),
        (Fraction(85, 100), "85%"),
        (0.85, "85%"),
        (0.88, "88%"),
        (Fraction(1699, 2000), "84.9%"),  # 84.95 rounds down
        (Fraction(8499, 10000), "84.9%"),
        (Fraction(2, 3), "66.6%"),
        (Fraction(1, 3), "33.3%"),
        (0.842105, "84.2%"),
    ],
)
def test_percent(rate, text):
    assert percent(rate) == text


# --- what the card means for the station -------------------------------------------------


@pytest.mark.parametrize(
    ("status", "satisfied", "unsatisfied", "new_status", "words"),
    [
        ("active", 16, 4, "probation", "put on probation"),
        ("active", 16, 3, None, None),  # 19 answers
        ("active", 17, 3, None, None),  # 85%
        ("active", 0, 0, None, None),
        ("probation", 16, 4, None, "stays on probation"),
        ("probation", 17, 3, None, "a supervisor may reinstate it"),
        ("probation", 22, 3, None, "a supervisor may reinstate it"),
        ("probation", 3, 0, None, "stays on probation"),  # too few answers to say
        ("suspended", 16, 4, None, "only a supervisor can reinstate it"),
        ("suspended", 25, 0, None, "only a supervisor can reinstate it"),  # never un-suspended
    ],
)
def test_review_status(status, satisfied, unsatisfied, new_status, words):
    result = card(answers(satisfied, unsatisfied))
    review = review_status(status, result)
    assert review.new_status == new_status
    assert review.reasons[0] == result.reasons[0]
    texts = " ".join(reason.render() for reason in review.reasons)
    if words:
        assert words in texts
    else:
        assert len(review.reasons) == 1


@pytest.mark.parametrize(
    ("decided_at", "last_answer", "new_status"),
    [
        (None, NOW - DAY, "probation"),
        (NOW - 2 * DAY, NOW - DAY, "probation"),  # an answer after the decision
        (NOW - DAY, NOW - DAY, None),  # an answer at the very instant: not after
        (NOW - DAY + SECOND, NOW - DAY, None),  # reinstated after the last answer
        (NOW, NOW - DAY, None),
    ],
)
def test_a_supervisor_decision_stands_until_new_answers(decided_at, last_answer, new_status):
    result = card(answers(16, 4, at=last_answer))
    review = review_status("active", result, decided_at=decided_at)
    assert review.new_status == new_status
    if new_status is None:
        assert "no answer has come in since" in review.reasons[-1].render()
        assert review.reasons[-1].params["decided_on"] == decided_at.date().isoformat()


def test_review_refuses_unknown_status():
    with pytest.raises(ValueError):
        review_status("closed", card())
    with pytest.raises(ValueError):
        review_status("active", card(), decided_at=datetime(2026, 1, 1))


# --- storage ----------------------------------------------------------------------------


def test_the_card_round_trips_through_json():
    result = card(
        [*answers(16, 4), SurveyResponse(NOW, solved=True)],
        [repair(40, 35, met=2), repair(10, 5, met=1, breached=1)],
    )
    stored = result.to_json()
    assert stored["satisfaction"] == 0.8
    assert stored["score"] == 0.8
    assert stored["window"] == {
        "days": 90,
        "start": START.isoformat(),
        "end": NOW.isoformat(),
    }
    assert stored["target"] == 0.88 and stored["threshold"] == 0.85
    assert stored["min_answers"] == 20 and stored["repeat_days"] == 30
    assert stored["standing"] == "below_threshold"
    assert Scorecard.from_json(stored) == result


@pytest.mark.parametrize(
    "data",
    [
        None,
        [],
        {},
        {"standing": "great"},
        {**card().to_json(), "answers": -1},
        {**card().to_json(), "computed_at": "yesterday"},
        {**card().to_json(), "reasons": [{"message": 3}]},
    ],
)
def test_unreadable_stored_cards_are_refused(data):
    with pytest.raises(ValueError):
        Scorecard.from_json(data)


# --- properties -------------------------------------------------------------------------

instants = st.integers(min_value=-200 * 86400, max_value=2 * 86400).map(
    lambda seconds: NOW + timedelta(seconds=seconds)
)
responses = st.builds(
    SurveyResponse,
    answered_at=instants,
    overall=st.none() | st.integers(min_value=1, max_value=5),
    solved=st.none() | st.booleans(),
)


@st.composite
def repairs_(draw):
    opened = draw(instants)
    closed = draw(st.none() | st.integers(min_value=0, max_value=60 * 86400))
    return RepairRecord(
        opened_at=opened,
        asset=draw(st.none() | st.sampled_from(["A1", "A2", "A3"])),
        closed_at=None if closed is None else opened + timedelta(seconds=closed),
        sla_met=draw(st.integers(min_value=0, max_value=3)),
        sla_breached=draw(st.integers(min_value=0, max_value=3)),
        cancelled=draw(st.booleans()),
    )


@given(st.lists(responses, max_size=60), st.lists(repairs_(), max_size=30))
def test_rates_are_within_zero_and_one_and_counts_consistent(response_list, repair_list):
    result = card(response_list, repair_list)
    assert 0 <= result.satisfied <= result.answers
    assert 0 <= result.solved <= result.solved_answers
    assert 0 <= result.repeat_repairs <= result.repairs_opened
    assert result.repairs_opened <= sum(not r.cancelled for r in repair_list)
    assert result.repairs_closed <= sum(
        not r.cancelled and r.closed_at is not None for r in repair_list
    )
    for rate, whole in (
        (result.satisfaction, result.answers),
        (result.solved_rate, result.solved_answers),
        (result.sla_compliance, result.sla_met + result.sla_breached),
        (result.repeat_rate, result.repairs_opened),
    ):
        assert (rate is None) == (whole == 0)
        assert rate is None or 0 <= rate <= 1
    assert result.standing in STANDINGS
    assert result.calls_for_probation == (
        result.answers >= MIN_ANSWERS and result.satisfaction < PROBATION_THRESHOLD
    )
    in_window = [r for r in response_list if START < r.answered_at <= NOW]
    assert result.answers == sum(r.overall is not None for r in in_window)
    assert result.solved_answers == sum(r.solved is not None for r in in_window)
    assert Scorecard.from_json(result.to_json()) == result


@given(st.lists(responses, max_size=40), st.lists(repairs_(), max_size=20), st.randoms())
def test_the_order_of_the_inputs_does_not_matter(response_list, repair_list, random):
    shuffled_responses = list(response_list)
    shuffled_repairs = list(repair_list)
    random.shuffle(shuffled_responses)
    random.shuffle(shuffled_repairs)
    assert card(response_list, repair_list) == card(shuffled_responses, shuffled_repairs)


@given(st.lists(responses, max_size=40), st.integers(min_value=1, max_value=5))
def test_one_more_answer_moves_the_rate_its_way(response_list, overall):
    before = card(response_list)
    after = card([*response_list, SurveyResponse(NOW, overall=overall)])
    assert after.answers == before.answers + 1
    assert after.satisfied == before.satisfied + (overall >= 4)
    if before.satisfaction is not None and overall >= 4:
        assert after.satisfaction >= before.satisfaction
    if before.satisfaction is not None and overall < 4:
        assert after.satisfaction <= before.satisfaction


@given(st.lists(responses, max_size=40))
def test_a_suspended_station_is_never_moved(response_list):
    assert review_status("suspended", card(response_list)).new_status is None
    assert review_status("probation", card(response_list)).new_status is None


def test_reasons_are_reasons():
    assert all(isinstance(reason, Reason) for reason in card(answers(16, 4)).reasons)
