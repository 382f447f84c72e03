"""Hyperband (ASHA over brackets) on scripted curves: exact promotions and stops,
MaxResource (and jobs left to end there), restarts, state round trips, brackets and
configurations independent of the order of reports, and the model-based sampler."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tunelab.domain.enums import ObjectiveType, TrainingJobStatus
from tunelab.domain.search_space import (
    CategoricalRange,
    ContinuousRange,
    IntegerRange,
    SearchSpace,
)
from tunelab.domain.trial import TrialEvent
from tunelab.stopping import EarlyStopper
from tunelab.strategies.base import DefinitionSpace, TuningProblem
from tunelab.strategies.hyperband import (
    EpochsHyperparameter,
    HyperbandProblem,
    HyperbandStrategy,
    RungDecision,
)
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


# -- a job that ends by itself at MaxResource is left to end (it saves its model) --------


def epochs_problem(epochs: EpochsHyperparameter | None, **extra) -> HyperbandProblem:
    space = SearchSpace((ContinuousRange("x", 0.0, 1.0), IntegerRange("epochs", 1, 20)))
    return HyperbandProblem(
        (DefinitionSpace(None, space),), MAX, max_resource=9, brackets=1, epochs=(epochs,), **extra
    )


def job_report(trial: str, step: int, epochs: int) -> TrialEvent:
    params = {"x": 0.5, "epochs": epochs}
    return TrialEvent(trial, None, params, TrainingJobStatus.IN_PROGRESS, 0.5 + step / 100, step)


def run_to(strategy: HyperbandStrategy, trial: str, epochs: int, reports: int) -> list:
    return [d for k in range(reports) for d in feed(strategy, [job_report(trial, k, epochs)])]


@pytest.mark.parametrize(
    ("epochs", "own", "stopped_at_max"),
    [
        (EpochsHyperparameter("epochs", 9), 20, False),  # static = MaxResource: ends itself
        (EpochsHyperparameter("epochs", 4), 20, False),  # static below it (reports more)
        (EpochsHyperparameter("epochs"), 9, False),  # tuned, = MaxResource
        (EpochsHyperparameter("epochs"), 7, False),  # tuned, below it
        (EpochsHyperparameter("epochs"), 10, True),  # tuned, would run longer
        (EpochsHyperparameter("epochs", 12), 9, True),  # static, would run longer
        (None, 9, True),  # no epochs hyperparameter known
    ],
)
def test_max_resource_stops_only_jobs_that_would_run_longer(
    epochs: EpochsHyperparameter | None, own: int, stopped_at_max: bool
) -> None:
    strategy = HyperbandStrategy.create(epochs_problem(epochs), np.random.default_rng(0))
    decisions = run_to(strategy, "a", own, 9)
    at_max = RungDecision(
        "a", 8, True, "Hyperband: reached MaxResource (9 reports of the objective)"
    )
    assert brief(decisions) == [("a", 0, False), ("a", 2, False)] + (
        [("a", 8, True)] if stopped_at_max else []
    )
    assert (decisions[-1] == at_max) is stopped_at_max
    # the record is the same either way: its value at MaxResource, nothing after it
    [job] = strategy.state()["jobs"]
    assert job["levels"] == [[1, 0.5], [3, 0.52], [9, 0.58]] and job["stopped_at"] == 9
    # a report past MaxResource: a job left to end that reports again is stopped then,
    # once; any other decides nothing (and counts for nothing)
    later = feed(strategy, [job_report("a", 9, own)]) + feed(strategy, [job_report("a", 10, own)])
    if stopped_at_max:
        assert later == []
    else:
        assert later == [
            RungDecision(
                "a",
                9,
                True,
                "Hyperband: reached MaxResource (9 reports of the objective; it reported again)",
            )
        ]
    [job] = strategy.state()["jobs"]
    assert job["levels"] == [[1, 0.5], [3, 0.52], [9, 0.58]]


def test_a_job_left_to_end_keeps_its_record_after_a_restore() -> None:
    problem_ = epochs_problem(EpochsHyperparameter("epochs", 9))
    strategy = HyperbandStrategy.create(problem_, np.random.default_rng(0))
    assert brief(run_to(strategy, "a", 9, 9)) == [("a", 0, False), ("a", 2, False)]
    restored = HyperbandStrategy.restore(problem_, json.loads(json.dumps(strategy.state())))
    assert feed(restored, [job_report("a", 8, 9)]) == []  # run again: verdict kept
    assert brief(feed(restored, [job_report("a", 9, 9)])) == [("a", 9, True)]


@pytest.mark.parametrize(
    ("epochs", "params", "expected"),
    [
        (EpochsHyperparameter("epochs", 9), {}, 9),
        (EpochsHyperparameter("epochs"), {"epochs": 7}, 7),
        (EpochsHyperparameter("epochs"), {"epochs": " 12 "}, 12),  # categorical text
        (EpochsHyperparameter("epochs"), {"epochs": 5.0}, 5),
        (EpochsHyperparameter("epochs"), {"epochs": 5.5}, None),
        (EpochsHyperparameter("epochs"), {"epochs": "ten"}, None),
        (EpochsHyperparameter("epochs"), {"epochs": True}, None),
        (EpochsHyperparameter("epochs"), {}, None),
    ],
)
def test_epochs_of_a_configuration(
    epochs: EpochsHyperparameter, params: dict, expected: int | None
) -> None:
    assert epochs.of(params) == expected


# -- the k-th job's bracket and configuration do not depend on the order of reports ------


def scripted_run(order_seed: int, jobs: int = 30, parallel: int = 4) -> list[tuple]:
    """A Hyperband strategy (seed 11) driven like the loop at ``parallel`` jobs at a
    time: at each step one running job, picked by ``order_seed``'s generator (timing),
    reports its next value; a job ends when a verdict stops it or after 9 reports, and
    its slot is filled at once. Returns (configuration, bracket) of each job, in the
    order they were suggested."""
    strategy = HyperbandStrategy.create(
        problem(max_resource=9, brackets=None), np.random.default_rng(11)
    )
    timing = np.random.default_rng(order_seed)
    running: dict[str, tuple[dict, int]] = {}
    suggested: list[tuple[str, dict]] = []
    while len(suggested) < jobs or running:
        for suggestion in strategy.suggest(min(parallel - len(running), jobs - len(suggested))):
            trial = f"t{len(suggested)}"
            suggested.append((trial, dict(suggestion.params)))
            running[trial] = (dict(suggestion.params), 0)
        trial = sorted(running)[int(timing.integers(len(running)))]
        params, step = running[trial]
        event = TrialEvent(
            trial, None, params, TrainingJobStatus.IN_PROGRESS, float(timing.random()), step
        )
        if any(d.stop for d in feed(strategy, [event])) or step == 8:
            del running[trial]
            feed(strategy, [final(trial, event.value)])
        else:
            running[trial] = (params, step + 1)
    brackets = {job["id"]: job["bracket"] for job in strategy.state()["jobs"]}
    return [(params["x"], brackets[trial]) for trial, params in suggested]


def test_same_seed_same_configurations_and_brackets_whatever_the_report_order() -> None:
    first, second = scripted_run(order_seed=1), scripted_run(order_seed=2)
    assert first == second
    assert len({bracket for _, bracket in first}) > 1  # several brackets were drawn


def test_restore_continues_the_bracket_draws_of_jobs_not_reporting_yet() -> None:
    original = HyperbandStrategy.create(
        problem(max_resource=27, brackets=None), np.random.default_rng(5)
    )
    batch = original.suggest(6)
    state = json.loads(json.dumps(original.state(), allow_nan=False))
    restored = HyperbandStrategy.restore(problem(max_resource=27), state)
    for strategy in (original, restored):  # the jobs report in reverse order
        for i, suggestion in reversed(list(enumerate(batch))):
            strategy.observe([report(f"t{i}", 0, 0.5, float(suggestion.params["x"]))])
    assert restored.state() == original.state()
    assert restored.suggest(4) == original.suggest(4)


def test_a_state_saved_before_the_bracket_stream_still_loads_and_continues() -> None:
    """A tuning job created before brackets had their own stream, resumed after: its
    state has no ``bracket_draws``; the stream is derived from its generator, so every
    restore of that state continues alike, and the next state has the stream."""
    strategy = HyperbandStrategy.create(
        problem(max_resource=27, brackets=None), np.random.default_rng(5)
    )
    feed(strategy, [report(f"t{i}", 0, float(i) / 10) for i in range(6)])
    old = json.loads(json.dumps(strategy.state()))
    del old["bracket_draws"]
    one = HyperbandStrategy.restore(problem(max_resource=27), old)
    two = HyperbandStrategy.restore(problem(max_resource=27), old)
    assert one.suggest(5) == two.suggest(5)
    events = [report(f"n{i}", k, 0.3) for k in range(3) for i in range(8)]
    assert feed(one, events) == feed(two, events)
    assert one.state() == two.state() and "bracket_draws" in one.state()
    assert [j["bracket"] for j in one.state()["jobs"][:6]] == [j["bracket"] for j in old["jobs"]]
