"""What the jobs pages show of a tuning job (:class:`JobRow` in the list,
:class:`JobView` on its page), their URLs, and the page for a job that does not
exist."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from starlette.responses import Response

from tunelab.console.app import Console
from tunelab.console.session import User
from tunelab.console.templating import PREFIX, render
from tunelab.domain.definition import TrainingJobDefinition
from tunelab.domain.enums import TuningJobStatus
from tunelab.domain.errors import ResourceNotFound
from tunelab.domain.search_space import CategoricalRange, IntegerRange
from tunelab.domain.trial import TrainingJob
from tunelab.domain.tuning_job import TuningJob
from tunelab.service.completion_reason import CompletionFacts, completion_reason
from tunelab.store.base import Counters


@dataclass(frozen=True)
class JobRow:
    """One line of the jobs list."""

    job: TuningJob
    counters: Counters
    best: TrainingJob | None

    @property
    def max_jobs(self) -> int | None:
        return self.job.spec.max_jobs

    @property
    def percent(self) -> int:
        total = self.max_jobs
        done = self.counters.total - self.counters.in_progress
        return 0 if not total else min(100, round(100 * done / total))


def url(path: str, **params: Any) -> str:
    """``PREFIX + path`` with the non-empty ``params`` as its query."""
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return f"{PREFIX}{path}" + (f"?{query}" if query else "")


def job_url(name: str, suffix: str = "") -> str:
    """The job page of tuning job ``name`` (``suffix``: a sub-path, e.g. ``/stop``)."""
    return f"{PREFIX}/jobs/{quote(name)}{suffix}"


def range_rows(definition: TrainingJobDefinition) -> list[tuple[str, str, str, str]]:
    """(name, type, range, scaling) of each tuned hyperparameter, for display."""
    found = []
    for r in definition.search_space.ranges:
        if isinstance(r, CategoricalRange):
            found.append((r.name, "Categorical", ", ".join(r.values), "—"))
        else:
            kind = "Integer" if isinstance(r, IntegerRange) else "Continuous"
            found.append((r.name, kind, f"{r.min_value} … {r.max_value}", str(r.scaling)))
    return found


def job_row(console: Console, job: TuningJob) -> JobRow:
    """The jobs list's line of ``job``."""
    store = console.services.tuning.store
    best = store.best_training_job(job.name, job.spec.objective_type)
    return JobRow(job, store.counters(job.name), best)


@dataclass(frozen=True)
class JobView:
    """What the job page shows of a tuning job."""

    job: TuningJob
    counters: Counters
    best: TrainingJob | None
    best_hyperparameters: Mapping[str, str]
    now: float
    completion_reason: str | None = None
    """Why the job completed (:mod:`tunelab.service.completion_reason`); None unless
    it is Completed."""

    @property
    def live(self) -> bool:
        return not self.job.status.is_terminal

    @property
    def runtime(self) -> float:
        end = self.job.end_time if self.job.end_time is not None else self.now
        return end - self.job.creation_time

    @property
    def percent(self) -> int:
        return JobRow(self.job, self.counters, self.best).percent


def job_view(console: Console, name: str) -> JobView:
    """The job page's view of ``name``; raises ResourceNotFound when it does not exist."""
    tuning = console.services.tuning
    job = tuning.get(name)
    best = tuning.store.best_training_job(job.name, job.spec.objective_type)
    hyperparameters: Mapping[str, str] = {}
    if best is not None:
        hyperparameters = dict(best.tuned_hyperparameters)
    reason = None
    if job.status is TuningJobStatus.COMPLETED:  # an ended job: its page is not polled
        reason = completion_reason(CompletionFacts.of_description(tuning.describe(job.name)))
    counters = tuning.store.counters(job.name)
    return JobView(job, counters, best, hyperparameters, tuning.clock.now(), reason)


def not_found(user: User, error: ResourceNotFound) -> Response:
    """The 404 page of a job that does not exist."""
    return render(
        "error.html", status_code=404, user=user, title="Not found", message=error.message
    )
