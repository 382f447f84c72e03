"""What the Bayesian strategy knows: finished configurations with their values, and
the configurations in flight, per definition; their JSON form.

Contract of :meth:`History.observe`:

- an event is matched to a definition by name; an event naming no known definition
  (a warm-start parent's) goes to the only definition whose hyperparameter names it
  has, and is ignored when there is no such definition;
- an intermediate event marks its configuration as running (unless the strategy
  suggested it, in which case it is pending already);
- a final event ends the configuration's pending or running entry and records an
  observation: its value when finite and the job did not fail, None (a failure) when
  the job Failed or never reported a finite objective;
- an observed configuration is never proposed again, but for a warm start's parent's
  run under other conditions (``already_evaluated`` False: TransferLearning): the
  model learns from it, and it stays open (``reusable``; a state saved without it
  has none).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tunelab.domain.enums import TrainingJobStatus
from tunelab.domain.search_space import ParamValue
from tunelab.domain.trial import TrialEvent
from tunelab.domain.warm_start_events import already_evaluated
from tunelab.strategies.base import TuningProblem, event_definition

Config = tuple[ParamValue, ...]


@dataclass
class DefinitionHistory:
    observations: list[tuple[Config, float | None]] = field(default_factory=list)
    pending: list[Config] = field(default_factory=list)
    """Suggested by this strategy, not finished yet, in suggestion order."""
    running: dict[str, Config] = field(default_factory=dict)
    """Jobs seen running that this strategy did not suggest, by trial id."""
    reusable: list[Config] = field(default_factory=list)
    """The configurations of observations run under other conditions (a TransferLearning
    parent's): they do not make a configuration used."""

    def used(self) -> set[Config]:
        """Configurations never to propose again: finished (but reusable observations),
        pending or running."""
        runs = Counter(c for c, _ in self.observations)
        runs.subtract(self.reusable)
        finished = {c for c, n in runs.items() if n > 0}
        return finished | set(self.pending) | set(self.running.values())

    def in_flight(self) -> list[Config]:
        extra = [c for c in self.running.values() if c not in self.pending]
        return self.pending + extra


class History:
    def __init__(self, problem: TuningProblem) -> None:
        self.problem = problem
        self.names = [d.space.names for d in problem.definitions]
        self.definitions = [DefinitionHistory() for _ in problem.definitions]

    def observe(self, events: Sequence[TrialEvent]) -> None:
        for event in events:
            index = event_definition(self.problem, event)
            if index is None:
                continue
            history = self.definitions[index]
            config = tuple(event.params[n] for n in self.names[index])
            if not event.is_final:
                if config not in history.pending:
                    history.running[event.trial_id] = config
                continue
            history.running.pop(event.trial_id, None)
            if config in history.pending:
                history.pending.remove(config)
            value = event.value
            failed = event.status is TrainingJobStatus.FAILED
            if failed or value is None or not math.isfinite(value):
                value = None
            history.observations.append((config, None if value is None else float(value)))
            if not already_evaluated(event):
                history.reusable.append(config)

    def to_json(self) -> list[dict[str, Any]]:
        return [
            {
                "definition": d.name,
                "observations": [[list(c), v] for c, v in h.observations],
                "pending": [list(c) for c in h.pending],
                "running": [[t, list(c)] for t, c in h.running.items()],
                **({"reusable": [list(c) for c in h.reusable]} if h.reusable else {}),
            }
            for d, h in zip(self.problem.definitions, self.definitions, strict=True)
        ]

    @classmethod
    def from_json(cls, problem: TuningProblem, data: Sequence[Mapping[str, Any]]) -> History:
        """Raises ValueError when ``data`` names other definitions than ``problem``."""
        history = cls(problem)
        names = [d.name for d in problem.definitions]
        if [entry["definition"] for entry in data] != names:
            raise ValueError(
                f"state was saved for definitions {[e['definition'] for e in data]}, "
                f"the problem has {names}"
            )
        for h, entry in zip(history.definitions, data, strict=True):
            h.observations = [(tuple(c), v) for c, v in entry["observations"]]
            h.pending = [tuple(c) for c in entry["pending"]]
            h.running = {t: tuple(c) for t, c in entry["running"]}
            h.reusable = [tuple(c) for c in entry.get("reusable", [])]
        return history
