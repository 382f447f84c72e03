"""Strategy implementations by SageMaker ``Strategy`` name.

An explicit dict, no reflection: a strategy is available once it is listed here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from tunelab.domain.enums import StrategyType
from tunelab.strategies.base import Strategy, TuningProblem
from tunelab.strategies.bayesian import BayesianStrategy
from tunelab.strategies.grid import GridStrategy
from tunelab.strategies.hyperband import HyperbandStrategy
from tunelab.strategies.random import RandomStrategy

STRATEGIES: dict[StrategyType, type[Strategy]] = {
    StrategyType.RANDOM: RandomStrategy,
    StrategyType.GRID: GridStrategy,
    StrategyType.HYPERBAND: HyperbandStrategy,
    StrategyType.BAYESIAN: BayesianStrategy,
}


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
