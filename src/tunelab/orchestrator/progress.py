"""A snapshot of a running tuning job for progress displays."""

from __future__ import annotations

from dataclasses import dataclass

from tunelab.domain.enums import TuningJobStatus
from tunelab.domain.progress import ImprovementTracker
from tunelab.domain.tuning_job import TuningJob


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

    @classmethod
    def of(
        cls,
        job: TuningJob,
        tracker: ImprovementTracker,
        created: int,
        running: int,
        finishing: str | None,
    ) -> Progress:
        """The snapshot of a tuning job whose loop has created ``created`` training jobs,
        ``running`` of them still running."""
        return cls(
            name=job.name,
            status=job.status,
            created=created,
            running=running,
            max_jobs=job.spec.max_jobs,
            best=tracker.best,
            succeeded=tracker.succeeded,
            failed=tracker.failed,
            finishing=finishing,
        )

    @property
    def finished(self) -> int:
        return self.succeeded + self.failed
