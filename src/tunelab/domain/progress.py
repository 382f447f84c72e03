"""Pure bookkeeping of a tuning job's results: the best objective so far and
how many training jobs in a row failed to improve it (SageMaker's
``BestObjectiveNotImproving`` criterion: an improvement must beat the best by at
least 1%)."""

from __future__ import annotations

from dataclasses import dataclass

from tunelab.domain.enums import ObjectiveType

MIN_RELATIVE_IMPROVEMENT = 0.01


@dataclass
class ImprovementTracker:
    """Feed it each finished training job's final objective (None when the job
    gave none) in the order the jobs finished."""

    objective_type: ObjectiveType
    best: float | None = None
    streak: int = 0
    """Finished jobs since the last one that improved the best by >= 1%."""
    succeeded: int = 0
    failed: int = 0

    def add(self, value: float | None) -> bool:
        """Record one finished job; True when it is the new best."""
        if value is None:
            self.failed += 1
            self.streak += 1
            return False
        self.succeeded += 1
        if self.best is None:
            self.best, self.streak = value, 0
            return True
        if not self.objective_type.better(value, self.best):
            self.streak += 1
            return False
        margin = MIN_RELATIVE_IMPROVEMENT * abs(self.best)
        significant = abs(value - self.best) >= margin
        self.best = value
        self.streak = 0 if significant else self.streak + 1
        return True

    def reached(self, target: float | None) -> bool:
        """True when the best value reaches ``target`` (>= to maximize, <= to minimize)."""
        if target is None or self.best is None:
            return False
        if self.objective_type is ObjectiveType.MAXIMIZE:
            return self.best >= target
        return self.best <= target
