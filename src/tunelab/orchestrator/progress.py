"""A snapshot of a running tuning job for progress displays."""

from __future__ import annotations

from dataclasses import dataclass

from tunelab.domain.enums import TuningJobStatus


@dataclass(frozen=True)
class Progress:
    name: str
    status: TuningJobStatus
    created: int
    """Training jobs created so far (running and finished)."""
    running: int
    max_jobs: int | None
    best: float | None
    succeeded: int
    """Finished training jobs with an objective value."""
    failed: int
    """Finished training jobs without one (failed, or never reported it)."""
    finishing: str | None = None

    @property
    def finished(self) -> int:
        return self.succeeded + self.failed
