"""Grid search: every configuration of every definition's grid, exactly once.

Contract:

- Each definition's configurations come in ``SearchSpace.grid()`` order
  (lexicographic, the last range varies fastest).
- Definitions are interleaved round robin: A#0, B#0, A#1, B#1, ...; when one runs
  out the others continue in their order.
- After the last configuration ``suggest`` returns ``[]`` (exhausted).
- Results are ignored and the generator is not used (the grid is deterministic).
- ``state()`` is ``{"version": 1, "position": <suggestions issued>, "sizes": [...]}``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Self

import numpy as np

from tunelab.domain.search_space import ParamValue
from tunelab.domain.trial import Suggestion, TrialEvent
from tunelab.strategies.base import StrategyState, TuningProblem

STATE_VERSION = 1


def _round_robin(sizes: Sequence[int]) -> Iterator[int]:
    """Definition indices in suggestion order: one of each per round, skipping the
    definitions whose grid is used up."""
    for round_ in range(max(sizes, default=0)):
        for i, size in enumerate(sizes):
            if round_ < size:
                yield i


class GridStrategy:
    """Exhaustive search over discrete spaces (see the module doc)."""

    def __init__(self, problem: TuningProblem, position: int = 0) -> None:
        """Raises ValueError when a definition has a continuous range."""
        sizes: list[int] = []
        for d in problem.definitions:
            if d.space.cardinality is None:
                continuous = [r.name for r in d.space.ranges if r.cardinality is None]
                raise ValueError(
                    f"the Grid strategy needs discrete ranges; definition "
                    f"{d.name or 'TrainingJobDefinition'!r} has continuous ranges {continuous}"
                )
            sizes.append(d.space.cardinality)
        total = sum(sizes)
        if not 0 <= position <= total:
            raise ValueError(f"grid position {position} is outside 0..{total}")
        self._problem = problem
        self._sizes = sizes
        self._position = position
        self._order = _round_robin(sizes)
        consumed = [0] * len(sizes)
        for index in itertools.islice(self._order, position):  # O(position), cheap
            consumed[index] += 1
        self._grids: list[Iterator[dict[str, ParamValue]]] = [
            itertools.islice(d.space.grid(), consumed[i], None)
            for i, d in enumerate(problem.definitions)
        ]

    @classmethod
    def create(cls, problem: TuningProblem, rng: np.random.Generator) -> Self:
        """``rng`` is accepted for the common signature; the grid does not use it."""
        return cls(problem)

    @classmethod
    def restore(cls, problem: TuningProblem, state: Mapping[str, Any]) -> Self:
        """Continue from ``state()``. Raises ValueError for an unknown version or a
        state whose grid sizes differ from ``problem``'s."""
        if state.get("version") != STATE_VERSION:
            raise ValueError(
                f"unknown GridStrategy state version {state.get('version')!r} "
                f"(this tunelab reads version {STATE_VERSION})"
            )
        strategy = cls(problem, int(state["position"]))
        if "sizes" in state and list(state["sizes"]) != strategy._sizes:
            raise ValueError(
                f"state was saved for grids of sizes {list(state['sizes'])}, "
                f"the problem has {strategy._sizes}"
            )
        return strategy

    @property
    def total(self) -> int:
        """Number of configurations over all definitions."""
        return sum(self._sizes)

    def suggest(self, count: int) -> list[Suggestion]:
        suggestions: list[Suggestion] = []
        for index in itertools.islice(self._order, max(count, 0)):
            params = next(self._grids[index])
            suggestions.append(Suggestion(self._problem.definitions[index].name, params))
            self._position += 1
        return suggestions

    def observe(self, events: Sequence[TrialEvent]) -> None:
        """Grid search learns nothing from results."""

    def state(self) -> StrategyState:
        return {"version": STATE_VERSION, "position": self._position, "sizes": list(self._sizes)}
