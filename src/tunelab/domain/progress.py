"""Pure bookkeeping of a tuning job's results: the best objective so far and how
many training jobs in a row failed to improve it (SageMaker's
``BestObjectiveNotImproving.MaxNumberOfTrainingJobsNotImproving``: "training jobs
that have failed to improve model performance by 1% or greater over prior training
jobs").

The rule, as tunelab applies it:

- Only jobs that ran their full course are judged: jobs that completed, failed, or
  were stopped by their own limits or at Hyperband's ``MaxResource``. A job the
  tuning job stopped before its end (an early-stopping rule, a ``StopTrainingJob``
  request, the tuning job's own stop or completion) neither improves nor fails to
  improve: its value is a partial one.
- A judged job improves when its objective beats the *reference* by at least 1% of
  the reference's magnitude; the reference is the judged jobs' best value at their
  last improvement (the first value sets it). Smaller gains add up: three jobs that
  each beat the best by 0.5% improve at the second. A judged job without an
  objective value does not improve.
"""

from __future__ import annotations

from dataclasses import dataclass

from tunelab.domain.enums import ObjectiveType

MIN_RELATIVE_IMPROVEMENT = 0.01
_ROUNDING = 1e-9
"""Relative slack for decimal values such as 1.0 -> 0.99, whose difference is a hair
under 1% in binary floating point."""


@dataclass
class ImprovementTracker:
    """Feed it each ended training job's final objective (None when the job gave
    none) in the order the jobs ended."""

    objective_type: ObjectiveType
    best: float | None = None
    """The best objective of any ended job (the BestTrainingJob's value)."""
    reference: float | None = None
    """What a judged job must beat by 1% to improve (see the module doc)."""
    streak: int = 0
    """Judged jobs since the last improvement."""
    longest_streak: int = 0
    """The largest ``streak`` so far: whether it ever reached a limit, even when jobs
    that ended later (in the same tick) moved it on."""
    succeeded: int = 0
    """Ended jobs with an objective value."""
    failed: int = 0
    """Ended jobs without one."""

    def add(self, value: float | None, *, judged: bool = True) -> bool:
        """Record one ended job; True when its value is the new best. ``judged``:
        the job ran its full course, so it counts for ``streak`` (module doc)."""
        if value is None:
            self.failed += 1
            if judged:
                self._not_improved()
            return False
        self.succeeded += 1
        new_best = self.best is None or self.objective_type.better(value, self.best)
        if new_best:
            self.best = value
        if judged:
            if self.reference is None or self.improves(value, self.reference):
                self.reference, self.streak = value, 0
            else:
                self._not_improved()
        return new_best

    def _not_improved(self) -> None:
        self.streak += 1
        self.longest_streak = max(self.longest_streak, self.streak)

    def improves(self, value: float, reference: float) -> bool:
        """True when ``value`` beats ``reference`` by at least 1% of its magnitude."""
        margin = MIN_RELATIVE_IMPROVEMENT * abs(reference) * (1 - _ROUNDING)
        return self.objective_type.better(value, reference) and abs(value - reference) >= margin

    def reached(self, target: float | None) -> bool:
        """True when the best value reaches ``target`` (>= to maximize, <= to minimize)."""
        if target is None or self.best is None:
            return False
        if self.objective_type is ObjectiveType.MAXIMIZE:
            return self.best >= target
        return self.best <= target
