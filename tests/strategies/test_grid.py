"""GridStrategy: exact order, round robin across definitions, exhaustion, state."""

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
from tunelab.domain.trial import Suggestion, TrialEvent
from tunelab.domain.warm_start_events import ParentEvent
from tunelab.strategies.base import DefinitionSpace, TuningProblem
from tunelab.strategies.grid import GridStrategy

TWO_BY_THREE = SearchSpace(
    (
        CategoricalRange("booster", ("gbtree", "dart")),
        CategoricalRange("depth", ("3", "6", "9")),
    )
)
PAIR = SearchSpace((CategoricalRange("kernel", ("rbf", "linear")),))


def _problem(*spaces: tuple[str | None, SearchSpace]) -> TuningProblem:
    return TuningProblem(
        tuple(DefinitionSpace(name, space) for name, space in spaces), ObjectiveType.MINIMIZE
    )


def _grid(problem: TuningProblem) -> GridStrategy:
    return GridStrategy.create(problem, np.random.default_rng(0))


def test_two_by_three_grid_in_exact_order_then_exhausted() -> None:
    strategy = _grid(_problem((None, TWO_BY_THREE)))
    assert strategy.suggest(10) == [
        Suggestion(None, {"booster": "gbtree", "depth": "3"}),
        Suggestion(None, {"booster": "gbtree", "depth": "6"}),
        Suggestion(None, {"booster": "gbtree", "depth": "9"}),
        Suggestion(None, {"booster": "dart", "depth": "3"}),
        Suggestion(None, {"booster": "dart", "depth": "6"}),
        Suggestion(None, {"booster": "dart", "depth": "9"}),
    ]
    assert strategy.suggest(1) == []
    assert strategy.suggest(3) == []


def test_round_robin_across_definitions_of_different_sizes() -> None:
    strategy = _grid(_problem(("svm", PAIR), ("xgb", TWO_BY_THREE)))
    order = [(s.definition_name, tuple(s.params.values())) for s in strategy.suggest(100)]
    assert order == [
        ("svm", ("rbf",)),
        ("xgb", ("gbtree", "3")),
        ("svm", ("linear",)),
        ("xgb", ("gbtree", "6")),
        ("xgb", ("gbtree", "9")),
        ("xgb", ("dart", "3")),
        ("xgb", ("dart", "6")),
        ("xgb", ("dart", "9")),
    ]
    assert strategy.suggest(1) == []


def test_small_batches_give_the_same_sequence_as_one_big_batch() -> None:
    problem = _problem(("a", TWO_BY_THREE), ("b", PAIR), ("c", TWO_BY_THREE))
    whole = _grid(problem).suggest(20)
    strategy = _grid(problem)
    pieces = [s for size in (1, 0, 4, 2, 5, 7) for s in strategy.suggest(size)]
    assert pieces == whole
    assert len(whole) == 14


def test_integer_ranges_are_gridded_too() -> None:
    space = SearchSpace((IntegerRange("layers", 1, 3), CategoricalRange("act", ("relu", "tanh"))))
    params = [s.params for s in _grid(_problem((None, space))).suggest(10)]
    assert params == list(space.grid())
    assert [type(p["layers"]) for p in params] == [int] * 6


def test_state_round_trip_mid_grid() -> None:
    problem = _problem(("svm", PAIR), ("xgb", TWO_BY_THREE))
    original = _grid(problem)
    original.suggest(3)
    state = json.loads(json.dumps(original.state()))
    assert state == {"version": 1, "position": 3, "sizes": [2, 6]}
    restored = GridStrategy.restore(problem, state)
    expected = original.suggest(10)
    assert restored.suggest(10) == expected
    assert [s.params for s in expected] == [
        {"booster": "gbtree", "depth": "6"},
        {"booster": "gbtree", "depth": "9"},
        {"booster": "dart", "depth": "3"},
        {"booster": "dart", "depth": "6"},
        {"booster": "dart", "depth": "9"},
    ]
    exhausted = GridStrategy.restore(problem, original.state())
    assert exhausted.suggest(1) == []


def test_restore_refuses_states_that_do_not_fit() -> None:
    problem = _problem(("svm", PAIR), ("xgb", TWO_BY_THREE))
    with pytest.raises(ValueError, match="version 7"):
        GridStrategy.restore(problem, {"version": 7, "position": 0})
    with pytest.raises(ValueError, match="sizes"):
        GridStrategy.restore(problem, {"version": 1, "position": 1, "sizes": [2, 5]})
    with pytest.raises(ValueError, match=r"outside 0\.\.8"):
        GridStrategy.restore(problem, {"version": 1, "position": 9, "sizes": [2, 6]})


def test_continuous_ranges_are_refused_with_their_names() -> None:
    space = SearchSpace((ContinuousRange("eta", 0.1, 0.5), CategoricalRange("c", ("a",))))
    with pytest.raises(ValueError, match=r"'xgb' has continuous ranges \['eta'\]"):
        _grid(_problem(("xgb", space)))


def _evaluated(*configs: dict[str, str], definition: str | None = None) -> list[TrialEvent]:
    """Finished jobs of another tuning job (a warm start's parent), as observed."""
    return [
        TrialEvent(f"parent-{i}", definition, c, TrainingJobStatus.COMPLETED, 1.0, is_final=True)
        for i, c in enumerate(configs)
    ]


def test_warm_start_runs_only_the_grid_points_its_parents_did_not_evaluate() -> None:
    problem = _problem((None, TWO_BY_THREE))
    strategy = _grid(problem)
    strategy.observe(
        _evaluated(
            {"booster": "gbtree", "depth": "3"},
            {"booster": "dart", "depth": "6"},
            {"booster": "xgb", "depth": "6"},  # not in this grid: ignored
        )
    )
    first = strategy.suggest(2)
    assert [tuple(s.params.values()) for s in first] == [("gbtree", "6"), ("gbtree", "9")]
    state = json.loads(json.dumps(strategy.state()))
    restored = GridStrategy.restore(problem, state)
    rest = [tuple(s.params.values()) for s in restored.suggest(10)]
    assert rest == [("dart", "3"), ("dart", "9")]
    assert [tuple(s.params.values()) for s in strategy.suggest(10)] == rest
    assert restored.suggest(1) == []


def test_observing_its_own_grid_points_changes_nothing() -> None:
    problem = _problem(("svm", PAIR), ("xgb", TWO_BY_THREE))
    strategy, reference = _grid(problem), _grid(problem)
    issued = strategy.suggest(3)
    strategy.observe(
        [
            TrialEvent(
                f"t{i}", s.definition_name, s.params, TrainingJobStatus.COMPLETED, 0.5, None, True
            )
            for i, s in enumerate(issued)
        ]
    )
    assert issued + strategy.suggest(10) == reference.suggest(20)


def test_a_transfer_learning_parents_grid_points_run_again() -> None:
    """A parent run under other conditions (TransferLearning) evaluated none of this
    child's grid points: the whole grid runs."""
    problem = _problem((None, TWO_BY_THREE))
    strategy = _grid(problem)
    evaluated = _evaluated({"booster": "gbtree", "depth": "3"}, {"booster": "dart", "depth": "6"})
    strategy.observe(
        [
            ParentEvent(e.trial_id, e.definition_name, e.params, e.status, e.value,
                        is_final=True, same_conditions=False)
            for e in evaluated
        ]
    )  # fmt: skip
    assert strategy.state() == _grid(problem).state()
    assert strategy.suggest(10) == _grid(problem).suggest(10)
