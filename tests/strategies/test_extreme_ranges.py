"""Legal but extreme ranges, run through every strategy (Random, Grid on discrete spaces,
Bayesian, Hyperband with each sampler) one job at a time, as a tuning job with
MaxParallelTrainingJobs 1 does: a continuous range of two floats, integer ranges beyond
int64 (up to 256 digits, the longest bound a request holds), a linear range wider than
the largest float, log ranges spanning hundreds of decades or too narrow for the float
logarithm. Every strategy keeps proposing values inside the range (or says it has none
left) and its state stays JSON."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from tunelab.domain.enums import ObjectiveType, ScalingType, TrainingJobStatus
from tunelab.domain.search_space import (
    CategoricalRange,
    ContinuousRange,
    IntegerRange,
    SearchSpace,
)
from tunelab.domain.trial import TrialEvent
from tunelab.strategies.base import DefinitionSpace, Strategy, TuningProblem
from tunelab.strategies.hyperband import HyperbandProblem, HyperbandStrategy
from tunelab.strategies.registry import create_strategy

TWO_FLOATS = ContinuousRange("x", 0.3, 0.30000000000000004)
SPACES = {
    "two-floats": SearchSpace((TWO_FLOATS,)),
    "two-floats-and-categorical": SearchSpace((TWO_FLOATS, CategoricalRange("c", ("a", "b")))),
    "int-beyond-int64": SearchSpace(
        (IntegerRange("k", 0, 99999999999999999999), ContinuousRange("x", 0.0, 1.0))
    ),
    "int-beyond-int64-only": SearchSpace((IntegerRange("k", 0, 99999999999999999999),)),
    "int64-full": SearchSpace((IntegerRange("k", -(2**63), 2**63 - 1),)),
    "int-256-digits": SearchSpace((IntegerRange("k", -(10**255), 10**255),)),
    "int-256-digits-auto": SearchSpace((IntegerRange("k", 1, 10**255),)),
    "int-log-too-narrow": SearchSpace(
        (IntegerRange("k", 10**15, 10**15 + 5, ScalingType.LOGARITHMIC),)
    ),
    "linear-wider-than-float": SearchSpace(
        (ContinuousRange("x", -1e308, 1e308, ScalingType.LINEAR),)
    ),
    "auto-600-decades": SearchSpace((ContinuousRange("x", 1e-300, 1e300),)),
    "log-adjacent-floats": SearchSpace(
        (ContinuousRange("x", 1e300, math.nextafter(1e300, 2e300), ScalingType.LOGARITHMIC),)
    ),
    "reverse-log-near-zero": SearchSpace(
        (ContinuousRange("x", 0.0, 1e-300, ScalingType.REVERSE_LOGARITHMIC),)
    ),
}
KINDS = ["Random", "Grid", "Bayesian", "Hyperband/random", "Hyperband/model", "Hyperband/gp"]
JOBS = 12


def _strategy(kind: str, space: SearchSpace) -> Strategy:
    definitions = (DefinitionSpace(None, space),)
    if kind.startswith("Hyperband/"):
        problem = HyperbandProblem(
            definitions, ObjectiveType.MINIMIZE, JOBS, max_resource=3, sampler=kind[10:]
        )
        return HyperbandStrategy.create(problem, np.random.default_rng(3))
    return create_strategy(kind, TuningProblem(definitions, ObjectiveType.MINIMIZE, JOBS), 3)


def _run(strategy: Strategy, space: SearchSpace) -> list[tuple]:
    """One job at a time until JOBS ran or the strategy has none left: three reports
    and a final value each (a smooth function of the unit-cube point)."""
    configs = []
    for j in range(JOBS):
        batch = strategy.suggest(1)
        if not batch:
            break
        params = batch[0].params
        assert space.contains(params), params
        value = float(np.sum((space.encode(params) - 0.3) ** 2))
        for step in range(3):
            strategy.observe(
                [TrialEvent(f"t{j}", None, params, TrainingJobStatus.IN_PROGRESS,
                            value + 1 - step / 3, step)]
            )  # fmt: skip
        strategy.observe(
            [TrialEvent(f"t{j}", None, params, TrainingJobStatus.COMPLETED, value, None, True)]
        )
        json.dumps(strategy.state(), allow_nan=False)
        configs.append(tuple(params[name] for name in space.names))
    return configs


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        (kind, name)
        for name, space in SPACES.items()
        for kind in KINDS
        if kind != "Grid" or space.is_discrete  # Grid takes discrete spaces only
    ],
)
def test_every_strategy_copes_with_extreme_ranges(kind: str, name: str) -> None:
    space = SPACES[name]
    configs = _run(_strategy(kind, space), space)
    distinct = set(configs)
    cardinality = space.cardinality
    if cardinality is not None and cardinality < JOBS:  # a small discrete space: all of it
        assert len(configs) == len(distinct) == cardinality
    elif kind == "Bayesian":  # never a duplicate; a range of a few floats runs out
        assert len(configs) == len(distinct) == min(JOBS, _floats_in(space))
    else:
        assert len(configs) == JOBS
    assert len(distinct) == min(JOBS, _floats_in(space))


def _floats_in(space: SearchSpace) -> int:
    """How many configurations the space holds, counting the floats of a continuous range
    (JOBS when more)."""
    count = 1
    for r in space.ranges:
        if isinstance(r, ContinuousRange):
            lo, hi, n = r.min_value, r.max_value, 1
            while lo < hi and n <= JOBS:
                lo, n = math.nextafter(lo, hi), n + 1
            count *= n
        else:
            count *= min(r.cardinality, JOBS + 1)
    return min(count, JOBS)


def test_bayesian_with_a_two_float_range_completes_instead_of_failing() -> None:
    """The repro of a job stuck In Progress: once both floats are used while the
    definition is still in its initial design, suggest says there is nothing left."""
    strategy = _strategy("Bayesian", SPACES["two-floats"])
    assert sorted(c[0] for c in _run(strategy, SPACES["two-floats"])) == [
        0.3,
        0.30000000000000004,
    ]
    assert strategy.suggest(1) == []


def test_a_linear_range_wider_than_the_largest_float_is_sampled_all_over() -> None:
    """[-1e308, 1e308] once sampled 1e+308 every time (max - min overflowed to inf)."""
    space = SPACES["linear-wider-than-float"]
    values = [c[0] for c in _run(_strategy("Random", space), space)]
    assert min(values) < -1e307 and max(values) > 1e307
