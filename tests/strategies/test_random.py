"""RandomStrategy: distribution checks and sampling without replacement.

Statistical tolerances are about 5 standard deviations of the checked statistic, and
every test uses a fixed seed, so a failure means a real bias, not bad luck.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from tunelab.domain.enums import ObjectiveType, ScalingType, TrainingJobStatus
from tunelab.domain.search_space import (
    CategoricalRange,
    ContinuousRange,
    IntegerRange,
    SearchSpace,
)
from tunelab.domain.trial import Suggestion, TrialEvent
from tunelab.domain.warm_start_events import ParentEvent
from tunelab.strategies.base import DefinitionSpace, TuningProblem
from tunelab.strategies.random import RandomStrategy


def _problem(*spaces: tuple[str | None, SearchSpace]) -> TuningProblem:
    return TuningProblem(
        tuple(DefinitionSpace(name, space) for name, space in spaces), ObjectiveType.MAXIMIZE
    )


def _strategy(problem: TuningProblem, seed: int = 0) -> RandomStrategy:
    return RandomStrategy.create(problem, np.random.default_rng(seed))


SIX = SearchSpace((CategoricalRange("c", ("x", "y", "z")), IntegerRange("i", 1, 2)))


def test_unit_cube_coordinates_are_uniform_and_independent() -> None:
    space = SearchSpace(tuple(ContinuousRange(f"x{k}", 0.0, 1.0) for k in range(3)))
    problem = _problem((None, space))
    n, bins = 20_000, 10
    points = np.array([space.encode(s.params) for s in _strategy(problem).suggest(n)])
    for k in range(3):
        counts = np.histogram(points[:, k], bins=bins, range=(0.0, 1.0))[0]
        chi2 = float(((counts - n / bins) ** 2 / (n / bins)).sum())
        # chi-square with 9 degrees of freedom: mean 9, sd sqrt(18) ~ 4.2; 5 sd ~ 30.
        assert chi2 < 30, (k, counts)
    correlation = np.corrcoef(points.T)
    # Sample correlation of independent coordinates has sd ~ 1/sqrt(n); 5 sd.
    off_diagonal = correlation[~np.eye(3, dtype=bool)]
    assert np.abs(off_diagonal).max() < 5 / math.sqrt(n)


@pytest.mark.parametrize(
    ("rng", "below_centre"),
    [
        (
            ContinuousRange("lr", 1e-4, 1e2, ScalingType.LOGARITHMIC),
            lambda x: x < math.sqrt(1e-4 * 1e2),
        ),
        (
            # 1 - x is log-uniform on [1 - hi, 1 - lo].
            ContinuousRange("beta", 0.9, 0.99999, ScalingType.REVERSE_LOGARITHMIC),
            lambda x: 1 - x > math.sqrt((1 - 0.9) * (1 - 0.99999)),
        ),
    ],
    ids=["log", "reverse-log"],
)
def test_log_scalings_put_half_the_samples_below_the_geometric_mean(rng, below_centre) -> None:
    n = 4000
    samples = [
        s.params[rng.name] for s in _strategy(_problem((None, SearchSpace((rng,))))).suggest(n)
    ]
    fraction = sum(map(below_centre, samples)) / n
    # Binomial fraction: sd = 0.5 / sqrt(4000) ~ 0.0079; 5 sd ~ 0.04. A linear
    # sampler would put ~0.0001 (log) or ~0.9 (reverse log) below the centre.
    assert abs(fraction - 0.5) < 0.04


def test_definitions_are_chosen_evenly() -> None:
    space = SearchSpace((ContinuousRange("x", 0.0, 1.0),))
    problem = _problem(("a", space), ("b", space), ("c", space))
    n = 3000
    counts = Counter(s.definition_name for s in _strategy(problem).suggest(n))
    # Each count is binomial(3000, 1/3): sd ~ 25.8; 5 sd ~ 130.
    assert set(counts) == {"a", "b", "c"}
    assert all(abs(c - n / 3) < 130 for c in counts.values()), counts


def test_discrete_space_of_six_gives_six_distinct_then_nothing() -> None:
    strategy = _strategy(_problem((None, SIX)))
    batch = strategy.suggest(10)
    assert len(batch) == 6
    assert sorted(tuple(s.params.items()) for s in batch) == sorted(
        tuple(p.items()) for p in SIX.grid()
    )
    assert strategy.suggest(1) == []
    assert strategy.suggest(5) == []


def test_discrete_space_one_at_a_time_across_a_restore() -> None:
    problem = _problem(("only", SIX))
    strategy = _strategy(problem, seed=9)
    first = [strategy.suggest(1)[0].params for _ in range(3)]
    restored = RandomStrategy.restore(problem, strategy.state())
    rest = [restored.suggest(1)[0].params for _ in range(3)]
    assert restored.suggest(1) == []
    assert sorted(tuple(p.items()) for p in first + rest) == sorted(
        tuple(p.items()) for p in SIX.grid()
    )


def test_mixed_discrete_and_continuous_definitions() -> None:
    tiny = SearchSpace((CategoricalRange("kernel", ("rbf", "linear")),))
    wide = SearchSpace((ContinuousRange("c", 0.01, 100.0, ScalingType.LOGARITHMIC),))
    strategy = _strategy(_problem(("svm", tiny), ("ridge", wide)), seed=4)
    batch = strategy.suggest(100)
    assert len(batch) == 100
    svm = [s.params["kernel"] for s in batch if s.definition_name == "svm"]
    assert sorted(svm) == ["linear", "rbf"]
    # Once "svm" is exhausted every pick goes to "ridge" (it got 49 picks of 50/50
    # before that would be p ~ 1e-13), and the budget keeps flowing.
    assert [s.definition_name for s in strategy.suggest(20)] == ["ridge"] * 20


def test_discrete_draws_follow_the_decoded_distribution_without_replacement() -> None:
    # A log integer range: decode gives v with probability log((v+.5)/(v-.5)) / log(9).
    space = SearchSpace((IntegerRange("n", 1, 4, ScalingType.LOGARITHMIC),))
    mass = {v: math.log((v + 0.5) / (v - 0.5)) / math.log(4.5 / 0.5) for v in range(1, 5)}
    problem = _problem((None, space))
    runs = [[s.params["n"] for s in _strategy(problem, seed).suggest(2)] for seed in range(4000)]
    first = Counter(r[0] for r in runs)
    for v, p in mass.items():
        # Binomial frequency over 4000 runs; 5 sd.
        assert abs(first[v] / 4000 - p) < 5 * math.sqrt(p * (1 - p) / 4000), (v, first)
    # Without replacement: after a 1, the next is 2 with probability mass[2] / (1 - mass[1]).
    after_one = [r[1] for r in runs if r[0] == 1]
    p = mass[2] / (1 - mass[1])
    observed = after_one.count(2) / len(after_one)
    assert 1 not in after_one
    assert abs(observed - p) < 5 * math.sqrt(p * (1 - p) / len(after_one))


def test_large_discrete_space_is_exhausted_without_repeats() -> None:
    # 5000 configurations: above the table limit, so rejection sampling, then the
    # fallback once the issued ones hold most of the mass.
    space = SearchSpace(
        (IntegerRange("n", 1, 2500, ScalingType.LOGARITHMIC), CategoricalRange("c", ("a", "b")))
    )
    strategy = _strategy(_problem((None, space)), seed=2)
    batch = strategy.suggest(6000)
    assert len(batch) == 5000
    assert len({(s.params["n"], s.params["c"]) for s in batch}) == 5000
    assert strategy.suggest(1) == []


def test_different_seeds_differ() -> None:
    problem = _problem((None, SearchSpace((ContinuousRange("x", 0.0, 1.0),))))
    assert _strategy(problem, 1).suggest(3) != _strategy(problem, 2).suggest(3)


def test_restore_refuses_states_that_do_not_fit() -> None:
    problem = _problem(("only", SIX))
    strategy = _strategy(problem)
    strategy.suggest(2)
    state = strategy.state()
    with pytest.raises(ValueError, match="version 2"):
        RandomStrategy.restore(problem, {**state, "version": 2})
    other = _problem(("renamed", SIX))
    with pytest.raises(ValueError, match="'only'"):
        RandomStrategy.restore(other, state)
    bad = {**state, "issued": [{"definition": "only", "configs": [["w", 1]]}]}
    with pytest.raises(ValueError, match="not in the space"):
        RandomStrategy.restore(problem, bad)


def _parent_events(suggestions: list[Suggestion], failed: int = 0) -> list[TrialEvent]:
    """A warm-start parent's finished jobs as the orchestrator feeds them: no definition
    name, final; the first ``failed`` of them Failed without a value."""
    return [
        TrialEvent(
            f"parent-{i}",
            None,
            s.params,
            TrainingJobStatus.FAILED if i < failed else TrainingJobStatus.COMPLETED,
            None if i < failed else float(i),
            is_final=True,
        )
        for i, s in enumerate(suggestions)
    ]


def test_warm_start_skips_the_discrete_configurations_its_parents_evaluated() -> None:
    """README: Random runs no configuration twice; with a warm start that counts the
    parents' (failed ones too, as the Bayesian strategy does). Same seed as the parent,
    as ``tunelab clone --warm-start`` writes it."""
    problem = _problem(("only", SIX))
    parent = _strategy(problem, seed=5).suggest(4)
    child = _strategy(problem, seed=5)
    child.observe(_parent_events(parent, failed=1))
    rest = child.suggest(6)
    assert len(rest) == 2
    assert {tuple(s.params.items()) for s in rest}.isdisjoint(
        tuple(s.params.items()) for s in parent
    )
    assert child.suggest(1) == []


def test_warm_start_with_the_parents_seed_does_not_replay_their_continuous_draws() -> None:
    space = SearchSpace((ContinuousRange("x", 0.0, 1.0), IntegerRange("n", 1, 50)))
    problem = _problem((None, space))
    parent = _strategy(problem, seed=3).suggest(5)
    child = _strategy(problem, seed=3)
    child.observe(_parent_events(parent))
    first = child.suggest(2)
    assert {tuple(s.params.items()) for s in first}.isdisjoint(
        tuple(s.params.items()) for s in parent
    )
    restored = RandomStrategy.restore(problem, child.state())
    assert restored.suggest(4) == child.suggest(4)


def test_a_transfer_learning_parents_configurations_stay_open() -> None:
    """A parent run under other conditions (TransferLearning: new data, another
    algorithm) evaluated nothing this child runs: its configurations may be drawn."""
    problem = _problem(("only", SIX))
    parent = _strategy(problem, seed=5).suggest(4)
    child, fresh = _strategy(problem, seed=5), _strategy(problem, seed=5)
    child.observe(
        [
            ParentEvent(e.trial_id, e.definition_name, e.params, e.status, e.value,
                        is_final=True, same_conditions=False)
            for e in _parent_events(parent)
        ]
    )  # fmt: skip
    assert child.state() == fresh.state()
    assert child.suggest(6) == fresh.suggest(6)
