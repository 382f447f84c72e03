"""Hyperband's record of its jobs, and the verdicts it reaches at their rungs.

Contract (:class:`RungLedger`):

- A job is recorded with its bracket (drawn by the strategy when its first report
  arrives), the unit-cube point of its configuration and its value at each rung of
  its bracket it reached (and at ``MaxResource``). Each rung of each bracket keeps
  the values recorded there, for the rung rule
  (:func:`~tunelab.strategies.hyperband_rungs.judge`).
- :meth:`RungLedger.report` takes a report of the objective (the report with
  ``step`` k is resource k + 1) and returns the :class:`RungDecision` it reaches: at
  a rung of the job's bracket the rung rule promotes or stops it, at ``MaxResource``
  it is stopped, unless it ends by itself there (its own number of epochs is at most
  ``MaxResource``): then it is left to end, so that it saves its model, and stopped
  only if it reports once more. Either way its value at ``MaxResource`` is recorded
  and later reports count for nothing. A job gets at most one verdict per rung, and
  none once stopped.
- It answers the samplers' questions
  (:class:`~tunelab.strategies.hyperband_sampling.Evidence`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from tunelab.domain.enums import ObjectiveType
from tunelab.strategies.hyperband_rungs import Brackets, Observation, judge

MAX_RESOURCE_REASON = "Hyperband: reached MaxResource"
"""How the reason of every stop at ``MaxResource`` begins (such a job ran its full
resource: it was not stopped early)."""


@dataclass(frozen=True)
class RungDecision:
    """A verdict at a rung (``stop`` False: promoted), with its reason."""

    trial_id: str
    step: int
    stop: bool
    reason: str


@dataclass
class JobRecord:
    """What Hyperband knows of one job (``definition``: index into the definitions)."""

    definition: int
    bracket: int
    point: list[float]
    levels: dict[int, float] = field(default_factory=dict)
    """Value at each rung reached (and at MaxResource)."""
    stopped_at: int | None = None
    """The level after which the job's reports count for nothing: where it was stopped
    at a rung, MaxResource, or the report past MaxResource of a job left to end by
    itself that reported again (its stop)."""
    done: bool = False


class RungLedger:
    """Every job of one Hyperband strategy, by trial id, and the values at each rung
    of each bracket of ``brackets``. Not thread-safe."""

    def __init__(self, brackets: Brackets, objective_type: ObjectiveType) -> None:
        self._brackets, self._objective_type = brackets, objective_type
        self.jobs: dict[str, JobRecord] = {}
        """Every job recorded, in the order it was."""
        self._rungs: dict[tuple[int, int], list[float]] = {}

    def add(self, trial_id: str, job: JobRecord) -> None:
        """Record ``job``, with the values it already has at rungs of its bracket."""
        self.jobs[trial_id] = job
        rungs = self._brackets.rungs(job.bracket)
        for level, value in job.levels.items():
            if level in rungs:
                self._rungs.setdefault((job.bracket, level), []).append(value)

    def report(
        self, trial_id: str, step: int, value: float, ends_by_itself: bool = False
    ) -> RungDecision | None:
        """Take the report of ``value`` at ``step`` of the recorded job ``trial_id``
        (``ends_by_itself``: its own number of epochs is at most MaxResource); return
        the verdict it reaches, or None (not a rung of the job's bracket, judged there
        already, the job was stopped, or it reached MaxResource and ends by itself)."""
        job = self.jobs[trial_id]
        level, top = step + 1, self._brackets.max_resource
        reached = f"{MAX_RESOURCE_REASON} ({top} reports of the objective"
        if level > top and ends_by_itself and job.stopped_at == top:
            job.stopped_at = level  # it was left to end, yet reports on: stop it now
            return RungDecision(trial_id, step, True, f"{reached}; it reported again)")
        if job.stopped_at is not None or level in job.levels or level > top:
            return None
        if level == top:
            job.levels[level], job.stopped_at = value, level
            return None if ends_by_itself else RungDecision(trial_id, step, True, f"{reached})")
        if level not in self._brackets.rungs(job.bracket):
            return None
        earlier = self._rungs.setdefault((job.bracket, level), [])
        verdict = judge(value, earlier, self._objective_type, self._brackets.eta)
        job.levels[level] = value
        earlier.append(value)
        where = f"rung {level} of bracket {job.bracket} (resource {level}/{top})"
        ranked = f"ranked {verdict.rank} of {verdict.recorded} with {value:.6g}"
        if verdict.promoted:
            reason = f"Hyperband: promoted at {where}: {ranked}; the top {verdict.keep} go on"
        else:
            job.stopped_at = level
            reason = f"Hyperband: stopped at {where}: {ranked}; only the top {verdict.keep} go on"
        return RungDecision(trial_id, step, not verdict.promoted, reason)

    def evidence(self, index: int) -> tuple[list[Observation], list[tuple[list[float], int]]]:
        """Definition ``index``'s values at rungs and MaxResource, and the point and
        highest level reached of each of its jobs still running."""
        jobs = [job for job in self.jobs.values() if job.definition == index]
        observations = [
            Observation(tuple(job.point), level, value)
            for job in jobs
            for level, value in job.levels.items()
        ]
        running = [
            (job.point, max(job.levels, default=0))
            for job in jobs
            if job.stopped_at is None and not job.done
        ]
        return observations, running

    def at_level(self, index: int, needed: int) -> tuple[list[list[float]], list[float]]:
        """Points and values at the highest level with at least ``needed`` finite values."""
        by_level: dict[int, tuple[list[list[float]], list[float]]] = {}
        for job in self.jobs.values():
            if job.definition != index:
                continue
            for level, value in job.levels.items():
                if math.isfinite(value):
                    points, values = by_level.setdefault(level, ([], []))
                    points.append(job.point)
                    values.append(value)
        for level in sorted(by_level, reverse=True):
            if len(by_level[level][1]) >= needed:
                return by_level[level]
        return [], []
