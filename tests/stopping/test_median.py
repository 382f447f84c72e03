"""The median stopping rule on scripted curves: exact decisions."""

from __future__ import annotations

import pytest

from tunelab.domain.enums import ObjectiveType, TrainingJobStatus
from tunelab.domain.trial import TrialEvent
from tunelab.stopping import EarlyStopper, MedianRuleSettings, MedianStoppingRule, StopDecision
from tunelab.stopping.median import REPORTS_JUDGED

MAX, MIN = ObjectiveType.MAXIMIZE, ObjectiveType.MINIMIZE


def report(trial: str, step: int, value: float) -> TrialEvent:
    return TrialEvent(trial, None, {}, TrainingJobStatus.IN_PROGRESS, value, step)


def final(trial: str, value: float | None) -> TrialEvent:
    return TrialEvent(trial, None, {}, TrainingJobStatus.COMPLETED, value, None, True)


def curve(trial: str, values: list[float]) -> list[TrialEvent]:
    return [report(trial, k, v) for k, v in enumerate(values)]


def test_is_an_early_stopper() -> None:
    assert isinstance(MedianStoppingRule(MAX), EarlyStopper)


def test_stops_below_the_median_of_running_averages_when_maximizing() -> None:
    rule = MedianStoppingRule(MAX, MedianRuleSettings(min_jobs=3, grace_reports=1))
    # running averages at report 2: a 0.5, b 0.6, c 0.7 -> median 0.6
    for trial, values in {"a": [0.4, 0.6], "b": [0.5, 0.7], "c": [0.6, 0.8]}.items():
        assert rule.decide([*curve(trial, values), final(trial, values[-1])]) == []
    assert rule.decide([report("d", 0, 0.1)]) == []  # report 1 is in the grace period
    assert rule.decide([report("d", 1, 0.6)]) == []  # a tie with the median goes on
    # now four earlier averages at report 2: 0.5, 0.6, 0.7 and d's 0.35 -> median 0.55
    assert rule.decide([report("e", 0, 0.3), report("e", 1, 0.56)]) == []
    # and with e's 0.43: 0.35, 0.43, 0.5, 0.6, 0.7 -> median 0.5
    assert rule.decide([report("f", 0, 0.3), report("f", 1, 0.49)]) == [
        StopDecision(
            "f",
            1,
            True,
            "median stopping rule: report 2 of the objective (0.49) is lower than the "
            "median (0.5) of the running averages of 5 earlier training jobs up to report 2",
        )
    ]


def test_direction_aware_when_minimizing() -> None:
    rule = MedianStoppingRule(MIN, MedianRuleSettings(min_jobs=2, grace_reports=0))
    rule.decide(curve("a", [1.0, 0.8]) + curve("b", [2.0, 1.0]))
    # averages at report 1: 1.0 and 2.0 -> median 1.5; at report 2: 0.9 and 1.5 -> 1.2
    assert rule.decide([report("c", 0, 1.4)]) == []
    [decision] = rule.decide([report("c", 1, 1.25)])
    assert decision.stop and decision.step == 1
    assert "(1.25) is higher than the median (1.2)" in decision.reason


def test_needs_min_jobs_that_reached_the_same_report() -> None:
    rule = MedianStoppingRule(MAX, MedianRuleSettings(min_jobs=2, grace_reports=1))
    rule.decide([*curve("long", [0.9, 0.9, 0.9]), *curve("short", [0.9]), final("short", 0.9)])
    # at report 2 only "long" reached it ("short" ended after one): not enough
    assert rule.decide(curve("y", [0.1, 0.1])) == []
    # for z, "long" and "y" reached report 2: averages 0.9 and 0.1 -> median 0.5
    [decision] = rule.decide(curve("z", [0.1, 0.2]))
    assert (decision.trial_id, decision.step) == ("z", 1)
    assert "median (0.5) of the running averages of 2 earlier" in decision.reason


def test_a_stopped_job_is_stopped_once_and_later_reports_change_nothing() -> None:
    rule = MedianStoppingRule(MAX, MedianRuleSettings(min_jobs=1, grace_reports=0))
    rule.decide(curve("a", [0.9, 0.9, 0.9]))
    assert len(rule.decide([report("b", 0, 0.1)])) == 1
    assert rule.decide([report("b", 1, 0.05), report("b", 2, 0.01)]) == []


def test_earlier_jobs_include_running_ones_and_reports_of_the_same_batch() -> None:
    rule = MedianStoppingRule(MAX, MedianRuleSettings(min_jobs=2, grace_reports=0))
    decisions = rule.decide([report("a", 0, 0.9), report("b", 0, 0.8), report("c", 0, 0.1)])
    assert [d.trial_id for d in decisions] == ["c"]  # a and b came before c in the batch


def test_rebuilt_from_curves_decides_as_the_live_rule() -> None:
    settings = MedianRuleSettings(min_jobs=3, grace_reports=2)
    history = {"a": [0.5, 0.6, 0.7, 0.8], "b": [0.4, 0.5, 0.6], "c": [0.6, 0.7, 0.8, 0.9]}
    live = MedianStoppingRule(MAX, settings)
    for trial, values in history.items():
        live.decide(curve(trial, values))
    rebuilt = MedianStoppingRule.from_curves(MAX, history, settings)
    probe = curve("d", [0.5, 0.55, 0.58, 0.61])  # report 3: 0.58 vs median 0.6 -> stop
    assert live.decide(probe) == rebuilt.decide(probe) != []
    # at report 3: a 0.6, b 0.5, c 0.7, d 0.543333 -> median 0.571667
    assert rebuilt.decide(curve("e", [0.5, 0.55, 0.56])) == [
        StopDecision(
            "e",
            2,
            True,
            "median stopping rule: report 3 of the objective (0.56) is lower than the "
            "median (0.571667) of the running averages of 4 earlier training jobs up to "
            "report 3",
        )
    ]


def test_a_job_run_again_starts_its_curve_over() -> None:
    rule = MedianStoppingRule(MAX, MedianRuleSettings(min_jobs=1, grace_reports=0))
    rule.decide(curve("a", [0.1, 0.1]))  # attempt 1 of "a", then a crash
    rule.decide(curve("b", [0.5, 0.5]))
    decisions = rule.decide(curve("a", [0.9, 0.9]))  # attempt 2 reports from step 0 again
    assert decisions == []  # a's curve is now [0.9, 0.9]: better than b's averages


def test_invalid_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        MedianRuleSettings(min_jobs=0)


def test_reports_past_the_judged_ones_are_neither_kept_nor_judged() -> None:
    # the store keeps every report up to REPORTS_JUDGED and a thinned series after it:
    # a rule rebuilt from it after a crash must decide as the live one did
    earlier = {name: [1.0] * (REPORTS_JUDGED + 50) for name in "abc"}
    live = MedianStoppingRule.from_curves(MIN, {})
    for name, values in earlier.items():
        assert live.decide(curve(name, values)) == []
    stored = {
        name: values[:REPORTS_JUDGED] + values[REPORTS_JUDGED::8]
        for name, values in earlier.items()
    }
    rebuilt = MedianStoppingRule.from_curves(MIN, stored)
    good = curve("d", [0.5] * REPORTS_JUDGED)
    assert live.decide(good) == [] and rebuilt.decide(good) == []
    worse = [report("d", REPORTS_JUDGED, 5.0), report("d", REPORTS_JUDGED + 1, 5.0)]
    assert live.decide(worse) == [] and rebuilt.decide(worse) == []
    last = [report("e", k, 2.0) for k in range(4)]  # under the limit: judged as ever
    assert [d.step for d in live.decide(last)] == [3] == [d.step for d in rebuilt.decide(last)]
