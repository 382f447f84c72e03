"""What a benchmark run returns: its any-time traces (best final objective of the
jobs that ended, and best objective if the tuning job were stopped, each against
the resource spent) and its counts."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class Trace:
    points: list[tuple[float, float]] = field(default_factory=list)
    """(resource spent, best final objective so far), in order: the jobs that ended."""
    stopped: list[tuple[float, float]] = field(default_factory=list)
    """(resource spent, best objective if the tuning job were stopped there), in order:
    every job with its latest report, those still running included (stopping the
    tuning job stops them, and a stopped job's objective is its latest report)."""
    resource: float = 0.0
    jobs: int = 0
    """Training jobs started."""
    taken: int = 0
    """Jobs whose nearest pool configuration had been used already (tabulated)."""

    def best(self) -> float:
        return self.points[-1][1] if self.points else math.inf

    def best_at(self, resource: float) -> float:
        return _best_at(self.points, resource)

    def best_if_stopped_at(self, resource: float) -> float:
        return _best_at(self.stopped, resource)


class LatestReports:
    """Every job's latest finite report; ``note`` appends to ``trace.stopped`` when
    the best of them changes."""

    def __init__(self, trace: Trace) -> None:
        self._trace = trace
        self._values: dict[object, float] = {}

    def report(self, job: object, value: float) -> None:
        if math.isfinite(value):
            self._values[job] = value
        else:  # a job whose latest report is not a number has no objective
            self._values.pop(job, None)

    def note(self, used: float) -> None:
        best = min(self._values.values(), default=math.inf)
        stopped = self._trace.stopped
        if math.isfinite(best) and (not stopped or best != stopped[-1][1]):
            stopped.append((used, best))


def _best_at(points: Sequence[tuple[float, float]], resource: float) -> float:
    best = math.inf
    for spent, value in points:
        if spent > resource:
            break
        best = value
    return best
