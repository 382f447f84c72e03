"""How Hyperband picks each new configuration.

A definition is drawn uniformly among those not exhausted; then the configuration is

- ``random``: uniform random (SageMaker's way);
- ``model``: the most promising candidate of a TPE-like :class:`DensityModel` fitted
  on the highest resource level with enough observations (BOHB), except a
  ``RANDOM_FRACTION`` of the time;
- ``gp``: the candidate of highest expected improvement under a Gaussian process over
  configuration and resource (:class:`~tunelab.strategies.hyperband_gp.ResourceGP`,
  MOBSTER), jobs in flight (suggested and not yet reporting, or running below the
  acquisition level) as fantasies, except a ``RANDOM_FRACTION`` of the time too.

The models start once a definition has enough observations; before, draws are
uniform. A discrete space never gets the same configuration twice; a definition
whose every configuration was issued is exhausted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from tunelab.domain.search_space import ParamValue, SearchSpace
from tunelab.domain.trial import Suggestion
from tunelab.strategies.base import TuningProblem
from tunelab.strategies.hyperband_model import DensityModel, min_observations
from tunelab.strategies.hyperband_rungs import Observation

if TYPE_CHECKING:  # the GP sampler (and scipy) is imported only when a job uses it
    from tunelab.strategies.hyperband_gp import GpSampler, ResourceGP

SAMPLERS = ("random", "model", "gp")
SAMPLER_TAG = "tunelab:hyperband-sampler"
"""The tuning job's tag that chooses its sampler (tunelab's own setting; SageMaker's
request has no field for it, and a tag travels with the job)."""
RANDOM_FRACTION = 1 / 3
"""Share of ``model`` and ``gp`` suggestions that stay uniform random (BOHB's default:
robust to a misleading model, and every region keeps being sampled)."""
REJECTIONS = 64
"""Uniform draws of a discrete space before the remaining configurations are listed."""
LIST_LIMIT = 4096
"""The model scores every configuration not issued yet of discrete spaces this small."""

Config = tuple[ParamValue, ...]


class Evidence(Protocol):
    """What the strategy knows about a definition's jobs (index into definitions):
    its :class:`~tunelab.strategies.hyperband_ledger.RungLedger`."""

    def at_level(self, index: int, needed: int) -> tuple[list[list[float]], list[float]]:
        """Points and values at the highest level with at least ``needed`` finite values."""
        ...

    def evidence(self, index: int) -> tuple[list[Observation], list[tuple[list[float], int]]]:
        """Every value reported at a rung or at MaxResource, and the point and highest
        level reached of each job still running."""
        ...


class ConfigSampler:
    """Draws from the strategy's generator ``rng``; ``kind`` is one of
    :data:`SAMPLERS`; ``resources`` = (MinResource, MaxResource); ``issued`` maps a
    discrete definition's index to the configurations already issued, in order."""

    def __init__(
        self,
        problem: TuningProblem,
        rng: np.random.Generator,
        kind: str,
        resources: tuple[int, int],
        issued: Mapping[int, Sequence[Sequence[ParamValue]]] | None = None,
    ) -> None:
        if kind not in SAMPLERS:
            raise ValueError(f"unknown Hyperband sampler {kind!r}")
        self._problem, self._rng, self._kind = problem, rng, kind
        self.gp: GpSampler | None = None
        if kind == "gp":
            from tunelab.strategies.hyperband_gp import GpSampler

            self.gp = GpSampler(problem.objective_type, resources)
        """The ``gp`` sampler's fits and pending suggestions (None for the others)."""
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

    def started(self, index: int, point: Sequence[float]) -> None:
        """A job of ``point`` reported or ended: it is no longer pending."""
        if self.gp is not None:
            self.gp.started(index, point)

    def batch(self, count: int, evidence: Evidence) -> list[Suggestion]:
        """Up to ``count`` new configurations (fewer when every definition is exhausted)."""
        if self.gp is not None:
            self.gp.begin_batch()
        suggestions = []
        for _ in range(count):
            suggestion = self._next(evidence)
            if suggestion is None:
                break
            suggestions.append(suggestion)
        return suggestions

    def _next(self, evidence: Evidence) -> Suggestion | None:
        definitions = self._problem.definitions
        open_ = [i for i in range(len(definitions)) if not self._exhausted(i)]
        if not open_:
            return None
        pick = open_[0] if len(open_) == 1 else open_[int(self._rng.integers(len(open_)))]
        space = definitions[pick].space
        params = self._propose(pick, space, evidence)
        if pick in self._issued:
            key = _key(space, params)
            self._issued[pick].add(key)
            self._order[pick].append(key)
        if self.gp is not None and space.dimension:
            self.gp.chosen(pick, space.encode(params))
        return Suggestion(definitions[pick].name, params)

    def _exhausted(self, index: int) -> bool:
        space = self._problem.definitions[index].space
        return index in self._issued and len(self._issued[index]) >= (space.cardinality or 0)

    def _propose(
        self, index: int, space: SearchSpace, evidence: Evidence
    ) -> dict[str, ParamValue]:
        model: DensityModel | ResourceGP | None = None
        if self._kind == "model" and space.dimension:
            points, values = evidence.at_level(index, min_observations(space))
            if values and self._rng.random() >= RANDOM_FRACTION:
                model = DensityModel(space, points, values, self._problem.objective_type)
        elif self.gp is not None and space.dimension:
            model = self.gp.model(index, space, evidence.evidence)
            if model is not None and self._rng.random() < RANDOM_FRACTION:
                model = None
        if model is not None:
            chosen = self._best_candidate(index, space, model)
            if chosen is not None:
                return chosen
        return self._uniform(index, space)

    def _best_candidate(
        self, index: int, space: SearchSpace, model: DensityModel | ResourceGP
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
