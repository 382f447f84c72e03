"""SageMaker's median stopping rule (``TrainingJobEarlyStoppingType: Auto``).

After each report of the objective by a training job, its k-th value is compared
with the median of the running averages of the objective over the first k reports
of the *earlier* jobs: those that had already reported at least k values when this
report came (any status: running, completed or stopped; a job that ended before
its k-th report has no average up to k and takes no part). The job is stopped when
its value is worse than that median: higher when minimizing, lower when
maximizing. A tie lets it go on.

Two settings keep the rule from stopping on too little evidence (SageMaker does
not publish its own; these are Katib's and Ray Tune's usual choices):

- ``min_jobs`` (default 3): at least this many earlier jobs must have reached the
  report;
- ``grace_reports`` (default 3): a job's first reports are never judged; the rule
  starts at report ``grace_reports + 1``.

The rule keeps the objective curve of every job it has seen, up to report
:data:`REPORTS_JUDGED` (20,000, the most the store keeps one by one: see
``tunelab.store.retention``); later reports are neither kept nor judged, so the rule's
memory and work per report stay bounded and it decides the same after a crash. The
tuning loop rebuilds it then from the stored metric points (:meth:`from_curves`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Self

import numpy as np

from tunelab.domain.enums import ObjectiveType
from tunelab.domain.hyperband_rules import MAX_HYPERBAND_RESOURCE
from tunelab.domain.trial import TrialEvent
from tunelab.stopping.base import StopDecision

REPORTS_JUDGED = MAX_HYPERBAND_RESOURCE
"""Reports of a job the rule keeps and judges (steps ``0 .. REPORTS_JUDGED - 1``)."""


@dataclass(frozen=True)
class MedianRuleSettings:
    min_jobs: int = 3
    """Earlier jobs that must have reached the same report before the rule judges."""
    grace_reports: int = 3
    """Reports of a job that are never judged."""

    def __post_init__(self) -> None:
        if self.min_jobs < 1 or self.grace_reports < 0:
            raise ValueError(f"invalid median rule settings: {self}")


@dataclass
class _Curve:
    values: list[float] = field(default_factory=list)
    sums: list[float] = field(default_factory=list)
    """``sums[k]`` is the sum of the first k+1 values (running averages in O(1))."""

    def add(self, step: int, value: float) -> None:
        if step < len(self.values):  # the job runs again (a new attempt): start over
            del self.values[step:], self.sums[step:]
        self.values.append(value)
        self.sums.append(value + (self.sums[-1] if self.sums else 0.0))

    def average(self, reports: int) -> float:
        return self.sums[reports - 1] / reports


class MedianStoppingRule:
    """The median rule for one tuning job (see the module doc). Not thread-safe."""

    def __init__(
        self, objective_type: ObjectiveType, settings: MedianRuleSettings | None = None
    ) -> None:
        self.objective_type = objective_type
        self.settings = settings or MedianRuleSettings()
        self._curves: dict[str, _Curve] = {}
        self._stopped: set[str] = set()

    @classmethod
    def from_curves(
        cls,
        objective_type: ObjectiveType,
        curves: Mapping[str, Sequence[float]],
        settings: MedianRuleSettings | None = None,
    ) -> Self:
        """The rule as it stood after ``curves`` (each job's objective values in
        report order; only the first :data:`REPORTS_JUDGED` count), with no decision
        pending."""
        rule = cls(objective_type, settings)
        for trial_id, values in curves.items():
            curve = rule._curves.setdefault(trial_id, _Curve())
            for step, value in enumerate(values[:REPORTS_JUDGED]):
                curve.add(step, value)
        return rule

    def decide(self, events: Sequence[TrialEvent]) -> list[StopDecision]:
        decisions = []
        for event in events:
            if event.is_final or event.value is None or event.step is None:
                continue
            if event.step >= REPORTS_JUDGED:
                continue
            curve = self._curves.setdefault(event.trial_id, _Curve())
            curve.add(event.step, event.value)
            if event.trial_id in self._stopped:
                continue
            decision = self._judge(event.trial_id, event.step, event.value)
            if decision is not None:
                self._stopped.add(event.trial_id)
                decisions.append(decision)
        return decisions

    def _judge(self, trial_id: str, step: int, value: float) -> StopDecision | None:
        reports = step + 1
        settings = self.settings
        if reports <= settings.grace_reports:
            return None
        averages = [
            curve.average(reports)
            for other, curve in self._curves.items()
            if other != trial_id and len(curve.values) >= reports
        ]
        if len(averages) < settings.min_jobs:
            return None
        median = float(np.median(averages))
        if not self.objective_type.better(median, value):
            return None
        worse = "higher" if self.objective_type is ObjectiveType.MINIMIZE else "lower"
        return StopDecision(
            trial_id,
            step,
            True,
            f"median stopping rule: report {reports} of the objective ({value:.6g}) is "
            f"{worse} than the median ({median:.6g}) of the running averages of "
            f"{len(averages)} earlier training jobs up to report {reports}",
        )
