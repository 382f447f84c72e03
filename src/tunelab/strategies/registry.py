"""Strategy implementations by SageMaker ``Strategy`` name.

An explicit table, no reflection: a strategy is available once it is listed here.
Each implementation is imported the first time it is used, so a job that runs
``Random`` never loads the Bayesian optimizer's scipy (memory and start-up time).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from tunelab.domain.enums import StrategyType
from tunelab.strategies.base import Strategy, TuningProblem


@dataclass(frozen=True)
class StrategyEntry:
    module: str
    name: str
    converges: bool = False
    """Its model can tell convergence (``converged()``: ``CompleteOnConvergence``)."""


ENTRIES: dict[StrategyType, StrategyEntry] = {
    StrategyType.RANDOM: StrategyEntry("tunelab.strategies.random", "RandomStrategy"),
    StrategyType.GRID: StrategyEntry("tunelab.strategies.grid", "GridStrategy"),
    StrategyType.HYPERBAND: StrategyEntry("tunelab.strategies.hyperband", "HyperbandStrategy"),
    StrategyType.BAYESIAN: StrategyEntry(
        "tunelab.strategies.bayesian", "BayesianStrategy", converges=True
    ),
}


class _Strategies(Mapping[StrategyType, type[Strategy]]):
    """``ENTRIES`` as classes, each imported on first access (membership and
    iteration import nothing)."""

    def __getitem__(self, key: StrategyType) -> type[Strategy]:
        entry = ENTRIES[key]
        return getattr(importlib.import_module(entry.module), entry.name)

    def __contains__(self, key: object) -> bool:
        return key in ENTRIES

    def __iter__(self) -> Iterator[StrategyType]:
        return iter(ENTRIES)

    def __len__(self) -> int:
        return len(ENTRIES)


STRATEGIES: Mapping[StrategyType, type[Strategy]] = _Strategies()


def strategy_class(strategy_type: StrategyType | str) -> type[Strategy]:
    """The class for ``strategy_type``; KeyError naming the available ones otherwise."""
    try:
        return STRATEGIES[StrategyType(strategy_type)]
    except (KeyError, ValueError):
        available = ", ".join(str(t) for t in STRATEGIES)
        raise KeyError(
            f"strategy {str(strategy_type)!r} is not available; available: {available}"
        ) from None


def create_strategy(
    strategy_type: StrategyType | str, problem: TuningProblem, seed: int | None
) -> Strategy:
    """A fresh strategy drawing from ``np.random.default_rng(seed)``."""
    return strategy_class(strategy_type).create(problem, np.random.default_rng(seed))


def restore_strategy(
    strategy_type: StrategyType | str, problem: TuningProblem, state: Mapping[str, Any]
) -> Strategy:
    """The strategy that saved ``state``, continuing exactly where it stopped."""
    return strategy_class(strategy_type).restore(problem, state)
