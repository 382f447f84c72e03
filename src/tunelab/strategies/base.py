"""The strategy interface: pure search algorithms.

A strategy proposes configurations (``suggest``) and learns from what happened
(``observe``). It never sees a clock, a process or a database: the orchestrator
feeds it events and persists ``state()`` in the same transaction as the training
jobs it created from the suggestions, so a restarted orchestrator restores the
strategy exactly (``restore(problem, state())`` proposes what the original would
have proposed next).

Randomness comes only from the injected ``numpy.random.Generator``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, Self, runtime_checkable

import numpy as np

from tunelab.domain.enums import ObjectiveType
from tunelab.domain.search_space import SearchSpace
from tunelab.domain.trial import Suggestion, TrialEvent

StrategyState = dict[str, Any]
"""JSON-compatible, with an integer ``version`` key. Never pickled."""


@dataclass(frozen=True)
class DefinitionSpace:
    """The search space of one training job definition (``name`` None for a
    single unnamed definition)."""

    name: str | None
    space: SearchSpace


@dataclass(frozen=True)
class TuningProblem:
    """What a strategy searches: one space per definition, the direction of the
    objective, the training-job budget (None: unbounded) and the seed."""

    definitions: tuple[DefinitionSpace, ...]
    objective_type: ObjectiveType
    max_jobs: int | None = None
    seed: int | None = None

    def space(self, definition_name: str | None) -> SearchSpace:
        for d in self.definitions:
            if d.name == definition_name:
                return d.space
        raise KeyError(definition_name)


class Strategy(Protocol):
    """Contract for every strategy.

    ``suggest(count)`` returns at most ``count`` suggestions (fewer, possibly none,
    when the strategy is exhausted, e.g. a finished grid); it may be called again
    before earlier suggestions are observed. ``observe(events)`` takes only new
    events (delta semantics); events of unknown trials are accepted. ``state()``
    is JSON-compatible."""

    def suggest(self, count: int) -> list[Suggestion]: ...

    def observe(self, events: Sequence[TrialEvent]) -> None: ...

    def state(self) -> StrategyState: ...

    @classmethod
    def create(cls, problem: TuningProblem, rng: np.random.Generator) -> Self: ...

    @classmethod
    def restore(cls, problem: TuningProblem, state: Mapping[str, Any]) -> Self: ...


@runtime_checkable
class ConvergenceSignal(Protocol):
    """A strategy whose model can tell that further jobs are unlikely to improve the
    best value meaningfully (SageMaker's ``CompleteOnConvergence``). Pure: asking
    changes no state, so it does not alter later suggestions."""

    def converged(self) -> bool: ...


def event_definition(problem: TuningProblem, event: TrialEvent) -> int | None:
    """Index of the definition an event belongs to: the one it names (when its
    hyperparameter names are that definition's); for an event naming no definition of
    ``problem`` (a warm-start parent's), the only definition with its hyperparameter
    names. None when there is no such definition."""
    names = set(event.params)
    for i, d in enumerate(problem.definitions):
        if d.name == event.definition_name:
            return i if names == set(d.space.names) else None
    matches = [i for i, d in enumerate(problem.definitions) if names == set(d.space.names)]
    return matches[0] if len(matches) == 1 else None


def rng_state(rng: np.random.Generator) -> dict[str, Any]:
    """The generator's state as JSON-compatible data."""
    return dict(rng.bit_generator.state)


def rng_from_state(state: Mapping[str, Any]) -> np.random.Generator:
    """A generator continuing exactly where the one that gave ``state`` stopped."""
    bit_generator = getattr(np.random, state["bit_generator"])()
    bit_generator.state = dict(state)
    return np.random.Generator(bit_generator)
