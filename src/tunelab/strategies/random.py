"""Random search: uniform points of the unit cube, decoded by each definition's space.

Contract:

- Each suggestion first picks a definition uniformly among those not exhausted (with
  several definitions this spreads a multi-algorithm job's budget evenly), then draws
  ``u ~ U[0, 1)^d`` and returns ``space.decode(u)``.
- A discrete definition (``space.is_discrete``) never repeats a configuration: the
  next one follows the decoded distribution *conditioned on not being issued yet*
  (sampling without replacement). When all its configurations are issued it is
  exhausted; when every definition is exhausted ``suggest`` returns fewer (or none).
- Results are ignored, but every observed configuration counts as tried (a warm
  start's parents, failed jobs included, as the Bayesian strategy counts them; not a
  parent's run under other conditions, see ``already_evaluated``): a
  discrete definition never issues it, and a draw of another definition that equals
  one exactly is drawn again (a child with its parent's ``RandomSeed`` continues the
  parent's sequence instead of replaying it). ``observe`` accepts any events.
- ``state()`` is versioned JSON: the generator state, the issued discrete
  configurations (observed ones included) and the observed configurations of the
  other definitions; ``restore`` continues exactly.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any, Self

import numpy as np

from tunelab.domain.search_space import (
    CategoricalRange,
    IntegerRange,
    ParameterRange,
    ParamValue,
    SearchSpace,
)
from tunelab.domain.trial import Suggestion, TrialEvent
from tunelab.domain.warm_start_events import already_evaluated
from tunelab.strategies.base import (
    DefinitionSpace,
    StrategyState,
    TuningProblem,
    event_definition,
    rng_from_state,
    rng_state,
)

STATE_VERSION = 1

TABLE_LIMIT = 4096
"""Discrete spaces with at most this many configurations get a precomputed table of
configurations and probabilities; larger ones are sampled by rejection."""

MAX_REJECTIONS = 64
"""Rejected draws before a large space falls back to its table (built once, O(cardinality)).
Rejection fails 64 times in a row with probability p**64, p the probability mass already
issued: under 1% while p < 0.93. Either way the draw follows the same distribution."""

Config = tuple[ParamValue, ...]


def _axis(r: ParameterRange) -> Sequence[ParamValue]:
    if isinstance(r, CategoricalRange):
        return r.values
    if isinstance(r, IntegerRange):
        return r.values()
    raise ValueError(f"range {r.name!r} is continuous")


def _masses(r: ParameterRange) -> list[float]:
    """Probability of each value of ``_axis(r)`` when ``r.decode`` gets ``u ~ U[0, 1)``."""
    ends = r.log_ends() if isinstance(r, IntegerRange) else None
    if ends is not None:
        # decode rounds exp(U[log(lo - 0.5), log(hi + 0.5)]): v owns [v - 0.5, v + 0.5).
        total = ends[1] - ends[0]
        return [(math.log(v + 0.5) - math.log(v - 0.5)) / total for v in r.values()]
    n = len(_axis(r))
    return [1.0 / n] * n


class _Discrete:
    """Sampling without replacement from one discrete definition's space."""

    def __init__(self, space: SearchSpace, issued: Sequence[Config] = ()) -> None:
        self.space = space
        self.cardinality = space.cardinality or 0
        self.issued: list[Config] = list(issued)
        self._issued_set: set[Config] = set(self.issued)
        self._configs: list[Config] | None = None  # the table, built on first need
        self._position: dict[Config, int] = {}
        self._left = np.zeros(0)  # table weights, issued entries zeroed

    @property
    def exhausted(self) -> bool:
        return len(self._issued_set) >= self.cardinality

    def draw(self, rng: np.random.Generator) -> dict[str, ParamValue]:
        """A configuration not issued yet (the space must not be exhausted)."""
        if self.cardinality > TABLE_LIMIT:
            for _ in range(MAX_REJECTIONS):
                params = self.space.decode(rng.random(self.space.dimension))
                config = tuple(params[name] for name in self.space.names)
                if config not in self._issued_set:
                    return self._issue(config)
        configs = self._table()
        cumulative = np.cumsum(self._left)
        target = rng.random() * cumulative[-1]
        index = min(int(np.searchsorted(cumulative, target, side="right")), len(configs) - 1)
        return self._issue(configs[index])

    def _table(self) -> list[Config]:
        if self._configs is None:
            weights = np.ones(1)
            for r in self.space.ranges:
                weights = np.multiply.outer(weights, np.array(_masses(r))).ravel()
            self._configs = list(itertools.product(*(_axis(r) for r in self.space.ranges)))
            self._position = {c: i for i, c in enumerate(self._configs)}
            self._left = weights
            for config in self._issued_set:
                self._left[self._position[config]] = 0.0
        return self._configs

    def mark_tried(self, config: Config) -> None:
        """Never issue ``config``: it was evaluated elsewhere (a warm start's parent)."""
        if config not in self._issued_set:
            self._issue(config)

    def _issue(self, config: Config) -> dict[str, ParamValue]:
        self.issued.append(config)
        self._issued_set.add(config)
        if self._configs is not None:
            self._left[self._position[config]] = 0.0
        return dict(zip(self.space.names, config, strict=True))


class RandomStrategy:
    """Uniform random search over one or several definitions (see the module doc)."""

    def __init__(
        self,
        problem: TuningProblem,
        rng: np.random.Generator,
        issued: Mapping[int, list[Config]] | None = None,
        tried: Mapping[int, list[Config]] | None = None,
    ) -> None:
        self._problem = problem
        self._rng = rng
        issued = issued or {}
        self._discrete: dict[int, _Discrete] = {
            i: _Discrete(d.space, issued.get(i, ()))
            for i, d in enumerate(problem.definitions)
            if d.space.is_discrete
        }
        self._tried: dict[int, list[Config]] = {
            i: list((tried or {}).get(i, ()))
            for i in range(len(problem.definitions))
            if i not in self._discrete
        }
        """Observed configurations of the definitions that are not discrete, in order."""
        self._tried_sets = {i: set(configs) for i, configs in self._tried.items()}

    @classmethod
    def create(cls, problem: TuningProblem, rng: np.random.Generator) -> Self:
        return cls(problem, rng)

    @classmethod
    def restore(cls, problem: TuningProblem, state: Mapping[str, Any]) -> Self:
        """Continue from ``state()``. Raises ValueError for an unknown version or a
        state that does not fit ``problem``."""
        if state.get("version") != STATE_VERSION:
            raise ValueError(
                f"unknown RandomStrategy state version {state.get('version')!r} "
                f"(this tunelab reads version {STATE_VERSION})"
            )
        issued = _configs_by_definition(problem, state.get("issued", []), "issued")
        tried = _configs_by_definition(problem, state.get("tried", []), "tried")
        return cls(problem, rng_from_state(state["rng"]), issued, tried)

    def suggest(self, count: int) -> list[Suggestion]:
        suggestions: list[Suggestion] = []
        for _ in range(count):
            candidates = [
                i
                for i in range(len(self._problem.definitions))
                if i not in self._discrete or not self._discrete[i].exhausted
            ]
            if not candidates:
                break
            pick = candidates[0]
            if len(candidates) > 1:
                pick = candidates[int(self._rng.integers(len(candidates)))]
            definition = self._problem.definitions[pick]
            if pick in self._discrete:
                params = self._discrete[pick].draw(self._rng)
            else:
                params = self._draw_untried(pick)
            suggestions.append(Suggestion(definition.name, params))
        return suggestions

    def _draw_untried(self, index: int) -> dict[str, ParamValue]:
        """A draw of a definition that is not discrete, drawn again while it equals a
        tried configuration (each redraw passes at most one of them)."""
        space = self._problem.definitions[index].space
        tried = self._tried_sets[index]
        params = space.decode(self._rng.random(space.dimension))
        for _ in range(len(tried)):
            if tuple(params[name] for name in space.names) not in tried:
                break
            params = space.decode(self._rng.random(space.dimension))
        return params

    def observe(self, events: Sequence[TrialEvent]) -> None:
        """Results are ignored; each event's configuration counts as tried, but for a
        warm start's parent's run under other conditions (TransferLearning)."""
        for event in events:
            index = event_definition(self._problem, event)
            if index is None or not already_evaluated(event):
                continue
            space = self._problem.definitions[index].space
            if not space.contains(event.params):
                continue
            config = tuple(event.params[name] for name in space.names)
            if index in self._discrete:
                self._discrete[index].mark_tried(config)
            elif config not in self._tried_sets[index]:
                self._tried[index].append(config)
                self._tried_sets[index].add(config)

    def state(self) -> StrategyState:
        return {
            "version": STATE_VERSION,
            "rng": rng_state(self._rng),
            "issued": [
                {
                    "definition": self._problem.definitions[i].name,
                    "configs": [list(c) for c in d.issued],
                }
                for i, d in self._discrete.items()
                if d.issued
            ],
            **({"tried": self._tried_json()} if any(self._tried.values()) else {}),
        }

    def _tried_json(self) -> list[dict[str, Any]]:
        return [
            {"definition": self._problem.definitions[i].name, "configs": [list(c) for c in t]}
            for i, t in self._tried.items()
            if t
        ]


def _configs_by_definition(
    problem: TuningProblem, entries: Sequence[Mapping[str, Any]], what: str
) -> dict[int, list[Config]]:
    """A state's ``issued`` or ``tried`` lists by definition index; ValueError for a
    definition the problem lacks or a configuration outside its space."""
    found: dict[int, list[Config]] = {}
    for entry in entries:
        index = _definition_index(problem.definitions, entry["definition"])
        space = problem.definitions[index].space
        configs = [tuple(c) for c in entry["configs"]]
        for c in configs:
            if not space.contains(dict(zip(space.names, c, strict=True))):
                raise ValueError(f"{what} configuration {list(c)!r} is not in the space")
        found[index] = configs
    return found


def _definition_index(definitions: Sequence[DefinitionSpace], name: str | None) -> int:
    for i, d in enumerate(definitions):
        if d.name == name:
            return i
    raise ValueError(f"state names definition {name!r}, which the problem does not have")
