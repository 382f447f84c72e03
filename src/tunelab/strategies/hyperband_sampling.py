"""How Hyperband picks each new configuration.

A definition is drawn uniformly among those not exhausted; then the
configuration is uniform random (SageMaker's way), or, with the model-based
sampler, the most promising candidate of a :class:`DensityModel` fitted on the
highest resource level with enough observations, except a ``RANDOM_FRACTION``
of the time (BOHB). A discrete space never gets the same configuration twice; a
definition whose every configuration was issued is exhausted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from tunelab.domain.search_space import ParamValue, SearchSpace
from tunelab.domain.trial import Suggestion
from tunelab.strategies.base import TuningProblem
from tunelab.strategies.hyperband_model import DensityModel, min_observations

RANDOM_FRACTION = 1 / 3
"""Share of model-based suggestions that stay uniform random (BOHB's default)."""
REJECTIONS = 64
"""Uniform draws of a discrete space before the remaining configurations are listed."""
LIST_LIMIT = 4096
"""The model scores every configuration not issued yet of discrete spaces this small."""

Config = tuple[ParamValue, ...]
Observations = Callable[[int, int], tuple[list[list[float]], list[float]]]
"""(definition index, how many needed) -> unit-cube points and their values."""


class ConfigSampler:
    """Draws from the strategy's generator ``rng``; ``issued`` maps a discrete
    definition's index to the configurations already issued, in order."""

    def __init__(
        self,
        problem: TuningProblem,
        rng: np.random.Generator,
        model: bool,
        issued: Mapping[int, Sequence[Sequence[ParamValue]]] | None = None,
    ) -> None:
        self._problem, self._rng, self._model = problem, rng, model
        self._order: dict[int, list[Config]] = {
            i: [tuple(c) for c in (issued or {}).get(i, [])]
            for i, d in enumerate(problem.definitions)
            if d.space.is_discrete
        }
        self._issued = {i: set(configs) for i, configs in self._order.items()}

    def issued_state(self) -> list[dict[str, Any]]:
        names = [d.name for d in self._problem.definitions]
        return [
            {"definition": names[i], "configs": [list(c) for c in configs]}
            for i, configs in self._order.items()
        ]

    def next(self, observations: Observations) -> Suggestion | None:
        """A new configuration, or None when every definition is exhausted."""
        definitions = self._problem.definitions
        open_ = [i for i in range(len(definitions)) if not self._exhausted(i)]
        if not open_:
            return None
        pick = open_[0] if len(open_) == 1 else open_[int(self._rng.integers(len(open_)))]
        space = definitions[pick].space
        params = self._propose(pick, space, observations)
        if pick in self._issued:
            key = _key(space, params)
            self._issued[pick].add(key)
            self._order[pick].append(key)
        return Suggestion(definitions[pick].name, params)

    def _exhausted(self, index: int) -> bool:
        space = self._problem.definitions[index].space
        return index in self._issued and len(self._issued[index]) >= (space.cardinality or 0)

    def _propose(
        self, index: int, space: SearchSpace, observations: Observations
    ) -> dict[str, ParamValue]:
        if self._model and space.dimension:
            points, values = observations(index, min_observations(space))
            if values and self._rng.random() >= RANDOM_FRACTION:
                model = DensityModel(space, points, values, self._problem.objective_type)
                chosen = self._best_candidate(index, space, model)
                if chosen is not None:
                    return chosen
        return self._uniform(index, space)

    def _best_candidate(
        self, index: int, space: SearchSpace, model: DensityModel
    ) -> dict[str, ParamValue] | None:
        if index in self._issued and (space.cardinality or 0) <= LIST_LIMIT:
            left = self._unissued(index, space)  # score every configuration not issued yet
            if not left:
                return None
            return left[int(np.argmax(model.score(np.array([space.encode(p) for p in left]))))]
        candidates = model.candidates(self._rng)
        options = [space.decode(c) for c in candidates]
        if index in self._issued:
            keep = [k for k, p in enumerate(options) if _key(space, p) not in self._issued[index]]
            if not keep:
                return None
            candidates, options = candidates[keep], [options[k] for k in keep]
        return options[int(np.argmax(model.score(candidates)))]

    def _uniform(self, index: int, space: SearchSpace) -> dict[str, ParamValue]:
        if index not in self._issued:
            return space.decode(self._rng.random(space.dimension))
        for _ in range(REJECTIONS):
            params = space.decode(self._rng.random(space.dimension))
            if _key(space, params) not in self._issued[index]:
                return params
        left = self._unissued(index, space)
        return left[int(self._rng.integers(len(left)))]

    def _unissued(self, index: int, space: SearchSpace) -> list[dict[str, ParamValue]]:
        return [p for p in space.grid() if _key(space, p) not in self._issued[index]]


def _key(space: SearchSpace, params: Mapping[str, ParamValue]) -> Config:
    return tuple(params[n] for n in space.names)
