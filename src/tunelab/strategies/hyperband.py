"""Hyperband as SageMaker runs it: asynchronous successive halving (ASHA) over
Hyperband brackets, deciding at rungs which training jobs go on.

Contract:

- The resource is the number of reports of the objective: the report with
  ``step`` k is resource k + 1. A job's bracket
  (:class:`~tunelab.strategies.hyperband_rungs.Brackets`) is drawn when its
  configuration is suggested, from a stream of its own
  (:mod:`~tunelab.strategies.hyperband_draws`), and the job joins it at its first
  report. At each rung of its bracket the rung rule promotes or stops it; at
  ``MaxResource`` it is stopped, unless its own number of epochs
  (:class:`EpochsHyperparameter`) is at most ``MaxResource``: such a job is about to
  end by itself and is left to, so that it saves its model (it is stopped if it
  reports once more). :class:`~tunelab.strategies.hyperband_ledger.RungLedger` keeps
  the jobs and reaches these verdicts. Each verdict is a :class:`RungDecision` with
  its reason; ``decide`` returns those reached by the events just observed, so the
  strategy is its own early-stopping rule (``tunelab.stopping.EarlyStopper``). A
  verdict is reached once per job and rung: a job run again after a crash keeps its
  earlier ones.
- New configurations (:mod:`~tunelab.strategies.hyperband_sampling`) come from the
  injected generator: uniform random, SageMaker's way (discrete spaces without
  repetition); with ``sampler="model"`` from a TPE-like density model fitted on the
  highest resource level with enough observations, except a third of them,
  which stay random (BOHB); with ``sampler="gp"`` from a Gaussian process over
  configuration and resource, by expected improvement at the highest level with
  enough observations, jobs in flight as fantasies (MOBSTER), a third random too.
- ``state()`` is versioned JSON: settings, the configurations' generator, issued
  discrete configurations, every job's bracket, point and values at its rungs, the
  bracket stream with the brackets drawn for jobs not reporting yet, and with ``gp``
  the fitted hyperparameters and pending suggestions. A state saved before the
  bracket stream existed continues with one derived from its generator.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Self

import numpy as np

from tunelab.domain.search_space import ParamValue
from tunelab.domain.trial import Suggestion, TrialEvent
from tunelab.strategies.base import StrategyState, TuningProblem, rng_from_state, rng_state
from tunelab.strategies.hyperband_draws import BracketDraws, derived_stream
from tunelab.strategies.hyperband_ledger import (
    MAX_RESOURCE_REASON,
    JobRecord,
    RungDecision,
    RungLedger,
)
from tunelab.strategies.hyperband_rungs import Brackets
from tunelab.strategies.hyperband_sampling import SAMPLERS, ConfigSampler

STATE_VERSION = 1
DEFAULT_MAX_RESOURCE = 81
"""MaxResource of a plain :class:`TuningProblem` (the loop always passes a
:class:`HyperbandProblem` with the request's resources)."""


@dataclass(frozen=True)
class EpochsHyperparameter:
    """The hyperparameter that tells a definition's jobs how many epochs to run (one
    report of the objective each): its ``name``, and its ``value`` when static (None:
    tuned, read from each job's configuration)."""

    name: str
    value: int | None = None

    def of(self, params: Mapping[str, ParamValue]) -> int | None:
        """The epochs a job of ``params`` runs; None when not a whole number."""
        value = self.value if self.value is not None else params.get(self.name)
        if isinstance(value, str) and value.strip().isdecimal():
            return int(value)
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class HyperbandProblem(TuningProblem):
    """A tuning problem with Hyperband's settings (``MinResource``, ``MaxResource``)."""

    min_resource: int = 1
    max_resource: int = DEFAULT_MAX_RESOURCE
    eta: int = 3
    sampler: str = "random"
    """How new configurations are picked: ``random`` (SageMaker), ``model`` (BOHB-style
    density model) or ``gp`` (MOBSTER-style Gaussian process)."""
    brackets: int | None = None
    """Use only the first ``brackets`` brackets (1 = plain ASHA); None: all."""
    epochs: tuple[EpochsHyperparameter | None, ...] = ()
    """Per definition (by index), where its jobs' own number of epochs is; None or
    missing: unknown, so its jobs are stopped at MaxResource."""


class HyperbandStrategy:
    """See the module doc. Not thread-safe."""

    def __init__(
        self,
        problem: TuningProblem,
        rng: np.random.Generator,
        settings: Mapping[str, Any],
        issued: Mapping[int, Sequence[Sequence[ParamValue]]] | None = None,
        draws: Mapping[str, Any] | None = None,
    ) -> None:
        """``draws``: :meth:`BracketDraws.to_json`'s output; None: a bracket stream
        derived from ``rng`` (a new strategy, or a state saved before it existed)."""
        if settings["sampler"] not in SAMPLERS:
            raise ValueError(f"unknown Hyperband sampler {settings['sampler']!r}")
        self._problem, self._rng = problem, rng
        self._settings = dict(settings)
        self._brackets = Brackets(
            settings["min_resource"],
            settings["max_resource"],
            settings["eta"],
            settings["brackets"],
        )
        weights = self._brackets.weights()
        self._draws = (
            BracketDraws(derived_stream(rng), weights)
            if draws is None
            else BracketDraws.load(draws, self._index(), weights)
        )
        resources = (settings["min_resource"], settings["max_resource"])
        self._sampler = ConfigSampler(problem, rng, settings["sampler"], resources, issued)
        self._ledger = RungLedger(self._brackets, problem.objective_type)
        self._fresh: list[RungDecision] = []

    # -- construction ------------------------------------------------------------------

    @classmethod
    def create(cls, problem: TuningProblem, rng: np.random.Generator) -> Self:
        settings: dict[str, Any] = {
            "min_resource": 1,
            "max_resource": DEFAULT_MAX_RESOURCE,
            "eta": 3,
            "sampler": "random",
            "brackets": None,
        }
        if isinstance(problem, HyperbandProblem):
            settings.update(
                min_resource=problem.min_resource,
                max_resource=problem.max_resource,
                eta=problem.eta,
                sampler=problem.sampler,
                brackets=problem.brackets,
            )
        return cls(problem, rng, settings)

    @classmethod
    def restore(cls, problem: TuningProblem, state: Mapping[str, Any]) -> Self:
        """Continue from ``state()`` (its settings win over the problem's). Raises
        ValueError for an unknown version or a state that does not fit ``problem``."""
        if state.get("version") != STATE_VERSION:
            raise ValueError(
                f"unknown HyperbandStrategy state version {state.get('version')!r} "
                f"(this tunelab reads version {STATE_VERSION})"
            )
        index = {d.name: i for i, d in enumerate(problem.definitions)}
        try:
            issued = {index[e["definition"]]: e["configs"] for e in state["issued"]}
            rng, draws = rng_from_state(state["rng"]), state.get("bracket_draws")
            strategy = cls(problem, rng, state["settings"], issued, draws)
            for entry in state["jobs"]:
                job = JobRecord(
                    definition=index[entry["definition"]],
                    bracket=entry["bracket"],
                    point=[float(u) for u in entry["point"]],
                    levels={int(k): float(v) for k, v in entry["levels"]},
                    stopped_at=entry["stopped_at"],
                    done=entry["done"],
                )
                strategy._ledger.add(entry["id"], job)
            if strategy._sampler.gp is not None and "gp" in state:
                strategy._sampler.gp.load(state["gp"], index)
        except KeyError as missing:
            raise ValueError(f"Hyperband state does not fit the problem: {missing}") from None
        return strategy

    def state(self) -> StrategyState:
        names = [d.name for d in self._problem.definitions]
        state: StrategyState = {
            "version": STATE_VERSION,
            "settings": dict(self._settings),
            "rng": rng_state(self._rng),
            "issued": self._sampler.issued_state(),
            "bracket_draws": self._draws.to_json(names),
            "jobs": [
                {
                    "id": trial_id,
                    "definition": names[job.definition],
                    "bracket": job.bracket,
                    "point": job.point,
                    "levels": [[k, _json_number(v)] for k, v in job.levels.items()],
                    "stopped_at": job.stopped_at,
                    "done": job.done,
                }
                for trial_id, job in self._ledger.jobs.items()
            ],
        }
        if self._sampler.gp is not None:
            state["gp"] = self._sampler.gp.to_json(names)
        return state

    # -- suggestions -------------------------------------------------------------------

    def suggest(self, count: int) -> list[Suggestion]:
        suggestions = self._sampler.batch(count, self._ledger)
        index = self._index()
        for suggestion in suggestions:
            i = index[suggestion.definition_name]
            space = self._problem.definitions[i].space
            self._draws.assign(i, [float(u) for u in space.encode(suggestion.params)])
        return suggestions

    # -- observations and verdicts -------------------------------------------------------

    def observe(self, events: Sequence[TrialEvent]) -> None:
        self._fresh = []
        for event in events:
            job = self._ledger.jobs.get(event.trial_id)
            if event.is_final:
                if job is not None:
                    job.done = True
                else:  # ended before its first report
                    self._forget_pending(event)
                continue
            if event.value is None or event.step is None:
                continue
            if job is None:
                job = self._admit(event)
                if job is None:
                    continue
            ends = self._ends_by_itself(job.definition, event.params)
            decision = self._ledger.report(event.trial_id, event.step, event.value, ends)
            if decision is not None:
                self._fresh.append(decision)

    def decide(self, events: Sequence[TrialEvent]) -> list[RungDecision]:
        """The verdicts reached by ``events``, which :meth:`observe` just took."""
        keys = {(e.trial_id, e.step) for e in events if not e.is_final}
        return [d for d in self._fresh if (d.trial_id, d.step) in keys]

    def _admit(self, event: TrialEvent) -> JobRecord | None:
        names = [d.name for d in self._problem.definitions]
        if event.definition_name not in names:
            return None
        index = names.index(event.definition_name)
        definition = self._problem.definitions[index]
        space = definition.space
        if not space.contains(event.params):
            return None
        point = [float(u) for u in space.encode(event.params)]
        job = JobRecord(index, self._draws.take(index, point), point)
        self._ledger.add(event.trial_id, job)
        self._sampler.started(index, job.point)
        return job

    def _forget_pending(self, event: TrialEvent) -> None:
        for index, d in enumerate(self._problem.definitions):
            if d.name == event.definition_name and d.space.contains(event.params):
                point = [float(u) for u in d.space.encode(event.params)]
                self._sampler.started(index, point)
                self._draws.forget(index, point)

    def _ends_by_itself(self, index: int, params: Mapping[str, ParamValue]) -> bool:
        """Whether a job of definition ``index`` runs at most MaxResource epochs."""
        known = self._problem.epochs if isinstance(self._problem, HyperbandProblem) else ()
        epochs = known[index] if index < len(known) else None
        own = epochs.of(params) if epochs is not None else None
        return own is not None and own <= self._brackets.max_resource

    def _index(self) -> dict[str | None, int]:
        return {d.name: i for i, d in enumerate(self._problem.definitions)}


def _json_number(value: float) -> float | str:
    """JSON has no infinities: they are kept as text (``float`` reads them back)."""
    return value if math.isfinite(value) else repr(value)


__all__ = [
    "DEFAULT_MAX_RESOURCE",
    "MAX_RESOURCE_REASON",
    "STATE_VERSION",
    "EpochsHyperparameter",
    "HyperbandProblem",
    "HyperbandStrategy",
    "RungDecision",
]
