"""The Strategy contract, run over every entry of STRATEGIES.

Every strategy gets problems with every range kind (continuous linear / log /
reverse-log, integer linear / log, categorical) with one and with three definitions;
strategies that search only discrete spaces (Grid) get the discrete problems.
"""

from __future__ import annotations

import json
import math

import pytest

from tunelab.domain.enums import ObjectiveType, ScalingType, StrategyType, TrainingJobStatus
from tunelab.domain.search_space import (
    CategoricalRange,
    ContinuousRange,
    IntegerRange,
    SearchSpace,
)
from tunelab.domain.trial import Suggestion, TrialEvent
from tunelab.strategies.base import DefinitionSpace, Strategy, TuningProblem
from tunelab.strategies.registry import STRATEGIES, create_strategy, restore_strategy

CONTINUOUS = (
    ContinuousRange("lr", 0.0, 1.0, ScalingType.LINEAR),
    ContinuousRange("alpha", 1e-6, 10.0, ScalingType.LOGARITHMIC),
    ContinuousRange("momentum", 0.5, 0.9999, ScalingType.REVERSE_LOGARITHMIC),
    ContinuousRange("dropout", 0.0, 0.5),
)
INTEGER = (
    IntegerRange("depth", 2, 5, ScalingType.LINEAR),
    IntegerRange("trees", 1, 20, ScalingType.LOGARITHMIC),
)
CATEGORICAL = (CategoricalRange("booster", ("gbtree", "dart", "gblinear")),)

DISCRETE_ONLY = {StrategyType.GRID}
"""Strategies that need every range discrete (SageMaker's Grid takes categorical only)."""


def _problem(*spaces: tuple[str | None, SearchSpace]) -> TuningProblem:
    return TuningProblem(
        definitions=tuple(DefinitionSpace(name, space) for name, space in spaces),
        objective_type=ObjectiveType.MINIMIZE,
        max_jobs=50,
    )


PROBLEMS: dict[str, TuningProblem] = {
    "mixed-1": _problem((None, SearchSpace(CONTINUOUS + INTEGER + CATEGORICAL))),
    "mixed-3": _problem(
        ("xgb", SearchSpace(CONTINUOUS)),
        ("rf", SearchSpace(INTEGER + CATEGORICAL)),
        ("lin", SearchSpace((CONTINUOUS[1], INTEGER[1], CATEGORICAL[0]))),
    ),
    "discrete-1": _problem((None, SearchSpace(INTEGER + CATEGORICAL))),
    "discrete-3": _problem(
        ("a", SearchSpace(CATEGORICAL)),
        ("b", SearchSpace((INTEGER[0], CATEGORICAL[0]))),
        ("c", SearchSpace(INTEGER)),
    ),
}
DISCRETE_PROBLEMS = {"discrete-1", "discrete-3"}

CASES = [
    pytest.param(kind, name, id=f"{kind}-{name}")
    for kind in STRATEGIES
    for name in PROBLEMS
    if kind not in DISCRETE_ONLY or name in DISCRETE_PROBLEMS
]


def _types_match(space: SearchSpace, params: dict) -> bool:
    expected = {ContinuousRange: float, IntegerRange: int, CategoricalRange: str}
    return all(type(params[r.name]) is expected[type(r)] for r in space.ranges)


def _event(trial_id: str, s: Suggestion, value: float | None, final: bool) -> TrialEvent:
    return TrialEvent(
        trial_id=trial_id,
        definition_name=s.definition_name,
        params=s.params,
        status=TrainingJobStatus.COMPLETED if final else TrainingJobStatus.IN_PROGRESS,
        value=value,
        step=None if final else 0,
        is_final=final,
    )


def _drive(strategy: Strategy, batches: list[int]) -> list[Suggestion]:
    """Suggest in batches, observing an intermediate and a final event for each."""
    out: list[Suggestion] = []
    for size in batches:
        batch = strategy.suggest(size)
        strategy.observe(
            [_event(f"t{len(out) + i}", s, float(i), False) for i, s in enumerate(batch)]
        )
        strategy.observe(
            [_event(f"t{len(out) + i}", s, float(i) + 0.5, True) for i, s in enumerate(batch)]
        )
        out.extend(batch)
    return out


def test_every_strategy_type_has_cases() -> None:
    assert {case.values[0] for case in CASES} == set(STRATEGIES)


@pytest.mark.parametrize(("kind", "problem_name"), CASES)
def test_suggestions_lie_in_their_space_with_python_types(kind, problem_name) -> None:
    problem = PROBLEMS[problem_name]
    strategy = create_strategy(kind, problem, seed=1)
    names = {d.name for d in problem.definitions}
    total = 0
    for size in (1, 7, 25, 3):
        batch = strategy.suggest(size)
        assert len(batch) <= size
        for s in batch:
            assert s.definition_name in names
            space = problem.space(s.definition_name)
            assert space.contains(s.params), s
            assert _types_match(space, dict(s.params)), s
        total += len(batch)
    assert total > 0


@pytest.mark.parametrize(("kind", "problem_name"), CASES)
def test_same_seed_gives_identical_sequences(kind, problem_name) -> None:
    problem = PROBLEMS[problem_name]
    first = _drive(create_strategy(kind, problem, seed=42), [3, 1, 5])
    second = _drive(create_strategy(kind, problem, seed=42), [3, 1, 5])
    assert first == second
    assert len(first) == 9


@pytest.mark.parametrize(("kind", "problem_name"), CASES)
def test_restore_continues_exactly(kind, problem_name) -> None:
    problem = PROBLEMS[problem_name]
    original = create_strategy(kind, problem, seed=7)
    _drive(original, [4, 2])
    state = original.state()
    restored = restore_strategy(kind, problem, state)
    assert restored.state() == state
    assert restored.suggest(6) == original.suggest(6)
    assert _drive(restored, [2, 3]) == _drive(original, [2, 3])


@pytest.mark.parametrize(("kind", "problem_name"), CASES)
def test_state_is_versioned_json(kind, problem_name) -> None:
    problem = PROBLEMS[problem_name]
    original = create_strategy(kind, problem, seed=3)
    _drive(original, [5])
    text = json.dumps(original.state(), allow_nan=False)
    state = json.loads(text)
    assert isinstance(state["version"], int)
    restored = restore_strategy(kind, problem, state)
    assert restored.suggest(5) == original.suggest(5)


@pytest.mark.parametrize(("kind", "problem_name"), CASES)
def test_unknown_state_version_is_refused(kind, problem_name) -> None:
    problem = PROBLEMS[problem_name]
    state = create_strategy(kind, problem, seed=3).state()
    with pytest.raises(ValueError, match="999"):
        restore_strategy(kind, problem, {**state, "version": 999})


@pytest.mark.parametrize(("kind", "problem_name"), CASES)
def test_suggest_zero_returns_nothing_and_changes_nothing(kind, problem_name) -> None:
    problem = PROBLEMS[problem_name]
    strategy = create_strategy(kind, problem, seed=5)
    before = strategy.state()
    assert strategy.suggest(0) == []
    assert strategy.state() == before


@pytest.mark.parametrize(("kind", "problem_name"), CASES)
def test_events_of_unknown_trials_are_accepted(kind, problem_name) -> None:
    problem = PROBLEMS[problem_name]
    strategy = create_strategy(kind, problem, seed=5)
    reference = create_strategy(kind, problem, seed=5)
    s = reference.suggest(1)[0]
    strangers = [
        _event("never-suggested", s, 0.3, False),
        _event("never-suggested", s, 0.2, True),
        TrialEvent(
            "failed-one",
            s.definition_name,
            s.params,
            TrainingJobStatus.FAILED,
            None,
            is_final=True,
        ),
        TrialEvent(
            "stopped",
            s.definition_name,
            s.params,
            TrainingJobStatus.STOPPED,
            math.inf,
            is_final=True,
        ),
    ]
    strategy.observe(strangers)
    strategy.observe([])
    batch = strategy.suggest(3)
    assert len(batch) == 3
    assert all(problem.space(b.definition_name).contains(b.params) for b in batch)


def _key(s: Suggestion) -> tuple:
    return (s.definition_name, tuple(sorted(s.params.items())))


@pytest.mark.parametrize(("kind", "problem_name"), CASES)
def test_no_duplicates_under_pending_jobs(kind, problem_name) -> None:
    """Batches asked while earlier jobs still run (only intermediate reports seen),
    then more after some finished: no configuration is proposed twice."""
    problem = PROBLEMS[problem_name]
    strategy = create_strategy(kind, problem, seed=13)
    issued: list[Suggestion] = []
    for size in (4, 4, 3):
        batch = strategy.suggest(size)
        strategy.observe(
            [_event(f"p{len(issued) + i}", s, 1.0, False) for i, s in enumerate(batch)]
        )
        issued.extend(batch)
    strategy.observe([_event(f"p{i}", s, float(i), True) for i, s in enumerate(issued[:6])])
    issued.extend(strategy.suggest(4))
    keys = [_key(s) for s in issued]
    assert len(keys) == len(set(keys))
    assert len(issued) == 15


def _objective(problem: TuningProblem, s: Suggestion) -> float:
    """A smooth fake objective of the unit-cube point, different per definition."""
    names = [d.name for d in problem.definitions]
    point = problem.space(s.definition_name).encode(s.params)
    shift = names.index(s.definition_name) / 10
    return float(sum((u - 0.3 - shift) ** 2 for u in point))


@pytest.mark.parametrize(("kind", "problem_name"), CASES)
def test_smoke_loop_with_fake_objective(kind, problem_name) -> None:
    """A tiny in-memory tuning loop (vizier's run_with_random_metrics): 3 in parallel,
    intermediate reports, then final values, until the budget or exhaustion."""
    problem = PROBLEMS[problem_name]
    strategy = create_strategy(kind, problem, seed=11)
    budget, parallel = 40, 3
    finished: list[tuple[Suggestion, float]] = []
    running: list[tuple[str, Suggestion]] = []
    launched = 0
    while launched < budget or running:
        for s in strategy.suggest(min(parallel - len(running), budget - launched)):
            running.append((f"job-{launched}", s))
            launched += 1
        if not running:
            break  # exhausted
        trial_id, s = running.pop(0)
        value = _objective(problem, s)
        strategy.observe([_event(trial_id, s, value * 2, False)])
        strategy.observe([_event(trial_id, s, value, True)])
        finished.append((s, value))
    cardinalities = [d.space.cardinality for d in problem.definitions]
    expected = budget if None in cardinalities else min(budget, sum(cardinalities))
    assert len(finished) == expected
    assert all(math.isfinite(v) for _, v in finished)
    if kind is StrategyType.GRID:
        assert len({(s.definition_name, tuple(s.params.items())) for s, _ in finished}) == len(
            finished
        )


def test_registry_accepts_wire_names_and_lists_what_is_available() -> None:
    problem = PROBLEMS["discrete-1"]
    assert create_strategy("Random", problem, seed=1).suggest(2) == create_strategy(
        StrategyType.RANDOM, problem, seed=1
    ).suggest(2)
    for missing in ("Bayesian", "Nonsense"):
        if missing in STRATEGIES:
            continue
        with pytest.raises(KeyError, match="available: Random, Grid"):
            create_strategy(missing, problem, seed=1)
        with pytest.raises(KeyError, match=missing):
            restore_strategy(missing, problem, {"version": 1})
