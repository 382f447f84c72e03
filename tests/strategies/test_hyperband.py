"""Hyperband (ASHA over brackets) on scripted curves: exact promotions and stops,
MaxResource, restarts, state round trips, and the model-based sampler."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tunelab.domain.enums import ObjectiveType, TrainingJobStatus
from tunelab.domain.search_space import CategoricalRange, ContinuousRange, SearchSpace
from tunelab.domain.trial import TrialEvent
from tunelab.stopping import EarlyStopper
from tunelab.strategies.base import DefinitionSpace, TuningProblem
from tunelab.strategies.hyperband import HyperbandProblem, HyperbandStrategy, RungDecision
from tunelab.strategies.hyperband_rungs import Brackets, Verdict, judge

MAX, MIN = ObjectiveType.MAXIMIZE, ObjectiveType.MINIMIZE
SPACE = SearchSpace((ContinuousRange("x", 0.0, 1.0),))


def problem(max_resource: int = 9, brackets: int | None = 1, **extra) -> HyperbandProblem:
    return HyperbandProblem(
        (DefinitionSpace(None, SPACE),),
        extra.pop("objective", MAX),
        max_resource=max_resource,
        brackets=brackets,
        **extra,
    )


def report(trial: str, step: int, value: float, x: float = 0.5) -> TrialEvent:
    return TrialEvent(trial, None, {"x": x}, TrainingJobStatus.IN_PROGRESS, value, step)


def final(trial: str, value: float | None) -> TrialEvent:
    return TrialEvent(trial, None, {"x": 0.5}, TrainingJobStatus.STOPPED, value, None, True)


def feed(strategy: HyperbandStrategy, events: list[TrialEvent]) -> list[RungDecision]:
    strategy.observe(events)
    return strategy.decide(events)


def brief(decisions: list[RungDecision]) -> list[tuple[str, int, bool]]:
    return [(d.trial_id, d.step, d.stop) for d in decisions]


def test_brackets_rungs_and_weights() -> None:
    brackets = Brackets(1, 81, 3)
    assert brackets.s_max == 4 and brackets.count == 5
    assert [brackets.rungs(b) for b in range(5)] == [
        (1, 3, 9, 27),
        (3, 9, 27),
        (9, 27),
        (27,),
        (),
    ]
    # synchronous Hyperband's bracket sizes: 81, 34, 15, 8, 5 configurations
    assert brackets.weights() == pytest.approx(np.array([81, 34, 15, 8, 5]) / 143)
    assert Brackets(2, 20, 3).rungs(0) == (2, 6, 18)
    assert Brackets(1, 81, 3, limit=1).weights() == [1.0]
    with pytest.raises(ValueError):
        Brackets(10, 9)


def test_judge_ranks_direction_aware_and_ties_favour_the_newcomer() -> None:
    assert judge(0.5, [], MAX, 3) == Verdict(rank=1, recorded=1, keep=1)
    assert judge(0.5, [0.5, 0.6], MAX, 3) == Verdict(rank=2, recorded=3, keep=1)
    assert not judge(0.5, [0.5, 0.6], MAX, 3).promoted
    assert judge(0.5, [0.5, 0.6], MIN, 3).promoted
    assert judge(0.4, [0.1, 0.2, 0.3], MIN, 3) == Verdict(rank=4, recorded=4, keep=2)


def test_asha_promotes_the_top_third_and_stops_the_rest_exactly() -> None:
    strategy = HyperbandStrategy.create(problem(), np.random.default_rng(0))  # rungs 1, 3
    assert isinstance(strategy, EarlyStopper)
    assert brief(feed(strategy, [report("a", 0, 0.5)])) == [("a", 0, False)]
    assert brief(feed(strategy, [report("b", 0, 0.4)])) == [("b", 0, True)]  # 2nd of 2
    assert brief(feed(strategy, [report("c", 0, 0.6)])) == [("c", 0, False)]  # 1st of 3
    # 4 values: the top 2 go on; d (0.45) ranks 3rd
    [d] = feed(strategy, [report("d", 0, 0.45)])
    assert d == RungDecision(
        "d",
        0,
        True,
        "Hyperband: stopped at rung 1 of bracket 0 (resource 1/9): ranked 3 of 4 with 0.45; "
        "only the top 2 go on",
    )
    [e] = feed(strategy, [report("e", 0, 0.55)])
    assert e.reason == (
        "Hyperband: promoted at rung 1 of bracket 0 (resource 1/9): ranked 2 of 5 with 0.55; "
        "the top 2 go on"
    )
    # between rungs nothing is decided; at rung 3 the first job always goes on
    assert feed(strategy, [report("a", 1, 0.6)]) == []
    assert brief(feed(strategy, [report("a", 2, 0.7), report("c", 1, 0.7)])) == [("a", 2, False)]
    assert brief(feed(strategy, [report("c", 2, 0.65)])) == [("c", 2, True)]
    # a reaches MaxResource: stopped there
    events = [report("a", k, 0.8) for k in range(3, 9)]
    assert feed(strategy, events) == [
        RungDecision("a", 8, True, "Hyperband: reached MaxResource (9 reports of the objective)")
    ]


def test_reports_after_a_stop_and_of_a_job_run_again_decide_nothing() -> None:
    strategy = HyperbandStrategy.create(problem(), np.random.default_rng(0))
    feed(strategy, [report("a", 0, 0.9), report("b", 0, 0.1)])
    assert feed(strategy, [report("b", 1, 0.2), report("b", 2, 0.3)]) == []  # b was stopped
    # "a" runs again after a crash (attempt 2): its rung-1 verdict stands
    assert feed(strategy, [report("a", 0, 0.0)]) == []
    assert brief(feed(strategy, [report("a", 1, 0.5), report("a", 2, 0.5)])) == [("a", 2, False)]


def test_decide_returns_only_the_verdicts_of_the_events_given() -> None:
    strategy = HyperbandStrategy.create(problem(), np.random.default_rng(0))
    events = [report("a", 0, 0.9), report("b", 0, 0.1)]
    strategy.observe(events)
    assert brief(strategy.decide(events[1:])) == [("b", 0, True)]
    assert strategy.decide([]) == []


def test_minimize_and_min_resource() -> None:
    strategy = HyperbandStrategy.create(
        problem(max_resource=20, min_resource=2, objective=MIN), np.random.default_rng(0)
    )  # rungs 2, 6, 18
    assert feed(strategy, [report("a", 0, 1.0)]) == []  # before MinResource: never stopped
    assert brief(feed(strategy, [report("a", 1, 0.5), report("b", 0, 2.0)])) == [("a", 1, False)]
    assert brief(feed(strategy, [report("b", 1, 0.7)])) == [("b", 1, True)]


def test_brackets_are_drawn_per_job_with_their_weights() -> None:
    strategy = HyperbandStrategy.create(
        problem(max_resource=81, brackets=None), np.random.default_rng(3)
    )
    events = [report(f"t{i}", 0, float(i)) for i in range(2000)]
    strategy.observe(events)
    state = strategy.state()
    counts = np.bincount([job["bracket"] for job in state["jobs"]], minlength=5)
    # 2000 draws: each share within 4 standard deviations of its weight
    weights = np.array([81, 34, 15, 8, 5]) / 143
    assert np.all(np.abs(counts / 2000 - weights) < 4 * np.sqrt(weights * (1 - weights) / 2000))


def test_state_round_trip_continues_the_decisions_exactly() -> None:
    original = HyperbandStrategy.create(
        problem(max_resource=27, brackets=None), np.random.default_rng(5)
    )
    rng = np.random.default_rng(1)
    first = [report(f"t{i}", k, float(rng.random())) for k in range(4) for i in range(12)]
    feed(original, first)
    state = json.loads(json.dumps(original.state(), allow_nan=False))
    restored = HyperbandStrategy.restore(problem(max_resource=27), state)
    assert restored.state() == original.state()
    later = [report(f"t{i}", k, float(rng.random())) for k in range(4, 12) for i in range(16)]
    assert feed(restored, later) == feed(original, later)
    assert restored.suggest(5) == original.suggest(5)


def test_infinite_values_survive_the_json_state() -> None:
    strategy = HyperbandStrategy.create(problem(objective=MIN), np.random.default_rng(0))
    feed(strategy, [report("a", 0, float("inf")), report("b", 0, 1.0)])
    state = json.loads(json.dumps(strategy.state(), allow_nan=False))
    restored = HyperbandStrategy.restore(problem(objective=MIN), state)
    assert brief(feed(restored, [report("c", 0, 2.0)])) == [("c", 0, True)]  # 2nd of 3


def test_model_sampler_concentrates_on_the_good_region() -> None:
    """Jobs whose values at rung 1 favour x near 0.2: model-based suggestions land
    closer to 0.2 than uniform ones (0.33 away on average)."""
    strategy = HyperbandStrategy.create(problem(sampler="model"), np.random.default_rng(7))
    rng = np.random.default_rng(2)
    xs = rng.random(40)
    strategy.observe([report(f"t{i}", 0, -((x - 0.2) ** 2), float(x)) for i, x in enumerate(xs)])
    picks = np.array([s.params["x"] for s in strategy.suggest(90)])
    # two thirds come from the model: the mean distance drops well below uniform's 0.33
    assert np.mean(np.abs(picks - 0.2)) < 0.2
    uniform = HyperbandStrategy.create(problem(), np.random.default_rng(7))
    uniform.observe([report(f"t{i}", 0, -((x - 0.2) ** 2), float(x)) for i, x in enumerate(xs)])
    assert np.mean(np.abs([s.params["x"] for s in uniform.suggest(90)] - np.float64(0.2))) > 0.25


@pytest.mark.parametrize("sampler", ["random", "model", "gp"])
def test_discrete_spaces_are_never_repeated_then_exhausted(sampler: str) -> None:
    space = SearchSpace(
        (CategoricalRange("k", ("a", "b", "c")), CategoricalRange("m", ("x", "y")))
    )
    discrete = HyperbandProblem(
        (DefinitionSpace(None, space),), MAX, max_resource=9, sampler=sampler
    )
    strategy = HyperbandStrategy.create(discrete, np.random.default_rng(0))
    seen = []
    for i in range(10):
        batch = strategy.suggest(1)
        for s in batch:
            seen.append((s.params["k"], s.params["m"]))
            event = TrialEvent(f"t{i}", None, s.params, TrainingJobStatus.IN_PROGRESS, float(i), 0)
            strategy.observe([event])
    assert len(seen) == 6 == len(set(seen))
    assert strategy.suggest(3) == []


def test_a_plain_problem_gets_the_defaults_and_bad_states_are_refused() -> None:
    plain = TuningProblem((DefinitionSpace(None, SPACE),), MAX)
    state = HyperbandStrategy.create(plain, np.random.default_rng(0)).state()
    assert state["settings"] == {
        "min_resource": 1,
        "max_resource": 81,
        "eta": 3,
        "sampler": "random",
        "brackets": None,
    }
    with pytest.raises(ValueError, match="does not fit"):
        HyperbandStrategy.restore(plain, {**state, "jobs": [{"id": "a", "definition": "zz"}]})
