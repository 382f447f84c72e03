"""Grid search: every configuration of every definition's grid, exactly once.

Contract:

- Each definition's configurations come in ``SearchSpace.grid()`` order
  (lexicographic, the last range varies fastest).
- Definitions are interleaved round robin: A#0, B#0, A#1, B#1, ...; when one runs
  out the others continue in their order.
- A configuration observed before the grid reached it (a warm start's parents'
  jobs, failed ones included, run under the child's conditions: see
  ``already_evaluated``) is skipped: it counts as run. Other results are
  ignored and the generator is not used (the grid is deterministic).
- After the last configuration ``suggest`` returns ``[]`` (exhausted).
- ``state()`` is ``{"version": 1, "position": <grid points passed, issued or
  skipped>, "sizes": [...]}``, plus ``"skip"`` (per definition, the observed
  configurations still ahead) when there are any.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Self

import numpy as np

from tunelab.domain.search_space import CategoricalRange, IntegerRange, ParamValue, SearchSpace
from tunelab.domain.trial import Suggestion, TrialEvent
from tunelab.domain.warm_start_events import already_evaluated
from tunelab.strategies.base import StrategyState, TuningProblem, event_definition

STATE_VERSION = 1

Config = tuple[ParamValue, ...]


def _round_robin(sizes: Sequence[int]) -> Iterator[int]:
    """Definition indices in suggestion order: one of each per round, skipping the
    definitions whose grid is used up."""
    for round_ in range(max(sizes, default=0)):
        for i, size in enumerate(sizes):
            if round_ < size:
                yield i


def _grid_index(space: SearchSpace, config: Config) -> int | None:
    """Position of ``config`` in ``space.grid()``, or None when it is not a grid point."""
    index = 0
    for r, value in zip(space.ranges, config, strict=True):
        if isinstance(r, CategoricalRange) and isinstance(value, str) and value in r.values:
            offset, size = r.values.index(value), len(r.values)
        elif isinstance(r, IntegerRange) and type(value) is int and r.contains(value):
            offset, size = value - r.min_value, r.max_value - r.min_value + 1
        else:
            return None
        index = index * size + offset
    return index


class GridStrategy:
    """Exhaustive search over discrete spaces (see the module doc)."""

    def __init__(
        self,
        problem: TuningProblem,
        position: int = 0,
        skip: Mapping[int, Sequence[Config]] | None = None,
    ) -> None:
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
        self._consumed = [0] * len(sizes)
        for index in itertools.islice(self._order, position):  # O(position), cheap
            self._consumed[index] += 1
        self._grids: list[Iterator[dict[str, ParamValue]]] = [
            itertools.islice(d.space.grid(), self._consumed[i], None)
            for i, d in enumerate(problem.definitions)
        ]
        self._skip: list[set[Config]] = [set((skip or {}).get(i, ())) for i in range(len(sizes))]

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
        skip = {i: [tuple(c) for c in configs] for i, configs in enumerate(state.get("skip", []))}
        strategy = cls(problem, int(state["position"]), skip)
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
        while len(suggestions) < count:
            index = next(self._order, None)
            if index is None:
                break
            params = next(self._grids[index])
            self._position += 1
            self._consumed[index] += 1
            space = self._problem.definitions[index].space
            config = tuple(params[name] for name in space.names)
            if config in self._skip[index]:
                self._skip[index].discard(config)
                continue
            suggestions.append(Suggestion(self._problem.definitions[index].name, params))
        return suggestions

    def observe(self, events: Sequence[TrialEvent]) -> None:
        """Grid points the grid has not reached yet are skipped (see the module doc)."""
        for event in events:
            index = event_definition(self._problem, event)
            if index is None or not already_evaluated(event):
                continue
            space = self._problem.definitions[index].space
            config = tuple(event.params[name] for name in space.names)
            at = _grid_index(space, config)
            if at is not None and at >= self._consumed[index]:
                self._skip[index].add(config)

    def state(self) -> StrategyState:
        state: StrategyState = {
            "version": STATE_VERSION,
            "position": self._position,
            "sizes": list(self._sizes),
        }
        if any(self._skip):
            spaces = [d.space for d in self._problem.definitions]
            state["skip"] = [
                [list(c) for c in sorted(skip, key=lambda c: _grid_index(space, c) or 0)]
                for space, skip in zip(spaces, self._skip, strict=True)
            ]
        return state
