"""The persistence boundary.

Every object a store returns is an immutable snapshot (frozen dataclasses); a
change is written by handing the store a new snapshot. Tuning job names are
unique without regard to case, as in SageMaker. All methods are safe to call
from several processes at once (SQLite WAL or PostgreSQL); writes inside one
:meth:`Store.batch` commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from tunelab.domain.enums import ObjectiveType, TrainingJobStatus, TuningJobStatus
from tunelab.domain.errors import ConflictError, TunelabError
from tunelab.domain.trial import MetricPoint, TrainingJob
from tunelab.domain.tuning_job import TuningJob

JSON = dict[str, Any]
SortOrder = Literal["Ascending", "Descending"]


@dataclass(frozen=True)
class Lease:
    """Who drives a tuning job or a standalone training job, until when. ``owner`` is
    opaque to the store."""

    owner: str
    expires_at: float


class DatabaseVersionError(TunelabError):
    """The database's schema is not one this tunelab can bring to its own: a newer
    tunelab wrote it, or a migration failed."""

    code = "DatabaseVersionMismatch"


class LeaseLost(ConflictError):
    """A batch that required a lease (:meth:`StoreBatch.require_lease`) found it held by
    another owner, or by nobody: nothing of the batch was written."""


@dataclass(frozen=True)
class Counters:
    """SageMaker's ``TrainingJobStatusCounters`` and ``ObjectiveStatusCounters``."""

    completed: int = 0
    in_progress: int = 0
    retryable_error: int = 0
    non_retryable_error: int = 0
    stopped: int = 0
    objective_succeeded: int = 0
    objective_pending: int = 0
    objective_failed: int = 0

    @property
    def total(self) -> int:
        return (
            self.completed
            + self.in_progress
            + self.retryable_error
            + self.non_retryable_error
            + self.stopped
        )


@dataclass(frozen=True)
class TuningJobOverview:
    """What ``DescribeHyperParameterTuningJob`` reports, read at once."""

    job: TuningJob
    counters: Counters
    best: TrainingJob | None
    ended: tuple[tuple[float | None, float | None], ...]
    """(end time, final objective value) of each finished training job, in the order
    they ended."""
    last_modified_time: float
    """The latest change of the tuning job or any of its training jobs."""


@dataclass(frozen=True)
class TuningJobQuery:
    name_contains: str | None = None
    status: TuningJobStatus | None = None
    created_after: float | None = None
    created_before: float | None = None
    modified_after: float | None = None
    modified_before: float | None = None
    sort_by: Literal["Name", "Status", "CreationTime"] = "CreationTime"
    sort_order: SortOrder = "Descending"
    limit: int | None = None
    after: tuple[Any, str] | None = None
    """Keyset cursor: (sort value, name) of the last item of the previous page."""


@dataclass(frozen=True)
class TrainingJobQuery:
    tuning_job_name: str | None
    """The tuning job whose training jobs to list; None lists every training job."""
    status: TrainingJobStatus | None = None
    name_contains: str | None = None
    created_after: float | None = None
    created_before: float | None = None
    modified_after: float | None = None
    modified_before: float | None = None
    sort_by: Literal["Name", "CreationTime", "Status", "FinalObjectiveMetricValue"] = "Name"
    sort_order: SortOrder = "Ascending"
    limit: int | None = None
    after: tuple[Any, str] | None = None
    """Keyset cursor: (sort value, name) of the last item of the previous page.
    With ``FinalObjectiveMetricValue``, jobs without a value are left out (SageMaker)."""


@dataclass(frozen=True)
class LogOrderQuery:
    """Training jobs in the order of their log streams, a batch at a time (keyset)."""

    by_creation: bool = False
    """By (creation time, name); else by the names their streams start with,
    ``<name>/``."""
    descending: bool = False
    name_prefix: str | None = None
    """Only jobs whose ``<name>/`` starts with this (case matters)."""
    after: tuple[Any, ...] | None = None
    """Keyset cursor, exclusive: ``(name,)`` or ``(creation time, name)`` of a job."""
    limit: int = 100


@dataclass
class Page:
    items: list[Any] = field(default_factory=list)
    next_cursor: tuple[Any, str] | None = None


class StoreBatch(Protocol):
    """Writes that commit together when the ``with`` block ends without error.

    Writes may be deferred to the end of the block: errors (``ResourceInUse``,
    ``ResourceNotFound``, ``ConflictError``) may be raised by the ``with``
    statement at exit rather than by the call, and values returned inside the
    block are valid only if it exits without error."""

    def add_training_job(self, job: TrainingJob) -> None:
        """Insert a new training job (its name must be new)."""

    def put_training_job(self, job: TrainingJob) -> None:
        """Replace the stored training job of the same name."""

    def add_metric_points(self, training_job_name: str, points: Sequence[MetricPoint]) -> None:
        """Append points (each metric's steps increasing), kept as
        :mod:`tunelab.store.retention` says: all of a metric's first ``STEPS_KEPT``
        steps, then a thinned series and always the latest point."""

    def delete_metric_points(self, training_job_name: str) -> None:
        """Forget a job's points (its attempt is being run again)."""

    def put_tuning_job(self, job: TuningJob) -> TuningJob:
        """Replace the stored tuning job if its version is still ``job.version``;
        return the stored snapshot (version + 1). Raises ``ConflictError`` when
        another writer changed it first."""

    def save_strategy_state(self, tuning_job_name: str, state: Mapping[str, Any]) -> None: ...

    def require_lease(self, tuning_job_name: str, owner: str) -> None:
        """Fence the batch: its writes commit only if ``owner`` holds the tuning job's
        lease (expired or not) when they commit, checked inside their transaction, so a
        takeover orders wholly before or after them; else :class:`LeaseLost` and nothing
        is written. A batch with no writes checks nothing."""

    def require_training_job_lease(self, training_job_name: str, owner: str) -> None:
        """:meth:`require_lease` for a standalone training job's lease."""


class TagStore(Protocol):
    """Tags by resource type (``hyper-parameter-tuning-job``, ``training-job``,
    ``algorithm``) and name (any case). A training job launched by a tuning job
    gets the tuning job's tags as they are at its launch."""

    def list(self, resource_type: str, name: str) -> list[tuple[str, str]]: ...

    def add(self, resource_type: str, name: str, pairs: Sequence[tuple[str, str]]) -> None:
        """Add or replace tags, atomically: ``ResourceNotFound`` if the resource does
        not exist, ``ValidationError`` (on ``Tags``) if it would have more than 50
        tags, whatever other writers do at the same time."""

    def delete(self, resource_type: str, name: str, keys: Sequence[str]) -> None: ...


class Store(Protocol):
    tags: TagStore
    algorithms: Any
    """``SqlAlgorithms``-like: create(name, document, now) / get(name) / list()."""
    access_keys: Any
    """``SqlAccessKeys``-like: create(key) / get(id) / list() / delete(id)."""

    def create_tuning_job(
        self, job: TuningJob, admit: Callable[[int], None] | None = None
    ) -> TuningJob:
        """Insert; ``ResourceInUse`` if the name (any case) is taken. ``admit`` gets the
        number of tuning jobs not ended, atomically with the insert; raising refuses it."""

    def get_tuning_job(self, name: str) -> TuningJob:
        """``ResourceNotFound`` if absent. Lookup ignores case."""

    def list_tuning_jobs(self, query: TuningJobQuery) -> Page:
        """A page of ``TuningJob`` s."""

    def delete_tuning_job(
        self, name: str, kept_requests: Mapping[str, Mapping[str, Any]] | None = None
    ) -> None:
        """Remove the tuning job record and its tags only (its training jobs stay, as
        in SageMaker, each keeping its entry of ``kept_requests`` as its request)."""

    def get_training_job(self, name: str) -> TrainingJob: ...

    def create_training_job(
        self, job: TrainingJob, request: Mapping[str, Any], created_by: str | None = None
    ) -> None:
        """Insert a training job created on its own, with its ``CreateTrainingJob``
        request; ``ResourceInUse`` if the name (any case) is taken."""

    def training_job_request(self, name: str) -> JSON | None:
        """The ``CreateTrainingJob`` request of a training job created on its own,
        None for one of a tuning job."""

    def request_training_job_stop(self, name: str, at: float) -> None:
        """Record a StopTrainingJob request for whichever process runs the job."""

    def stop_requested(self, names: Sequence[str]) -> set[str]:
        """Those of ``names`` with a StopTrainingJob request recorded."""

    def list_training_jobs(self, query: TrainingJobQuery) -> Page:
        """A page of training jobs: of one tuning job, or of all when
        ``query.tuning_job_name`` is None."""

    def training_jobs_in_log_order(self, query: LogOrderQuery) -> list[TrainingJob]:
        """Up to ``query.limit`` training jobs after ``query.after``, in their log streams'
        order; reads about as many rows as it returns (indexed)."""

    def counters(self, tuning_job_name: str) -> Counters:
        """Derived from the training jobs: Failed counts as NonRetryableError."""

    def counters_of(self, tuning_job_names: Sequence[str]) -> dict[str, Counters]:
        """:meth:`counters` of several tuning jobs at once, by the names given."""

    def tuning_job_overview(self, name: str) -> TuningJobOverview:
        """Everything ``DescribeHyperParameterTuningJob`` reports, read at once without
        loading every training job. ``ResourceNotFound`` if absent."""

    def best_training_job(
        self, tuning_job_name: str, objective_type: ObjectiveType
    ) -> TrainingJob | None:
        """The job with the best final objective (ties: the earliest created)."""

    def metric_points(
        self, training_job_name: str, metric_name: str | None = None
    ) -> list[MetricPoint]:
        """The stored points of the training job (of ``metric_name`` only, if given), in
        the order they were added: every point of the first ``STEPS_KEPT`` steps of a
        metric, a thinned series after them and always the latest
        (:mod:`tunelab.store.retention`)."""

    def latest_metric_points(self, training_job_name: str) -> list[MetricPoint]:
        """The latest point (highest step) of each metric of the training job, without
        reading the rest of the series: ``FinalMetricDataList``."""

    def strategy_state(self, tuning_job_name: str) -> JSON | None: ...

    def get_lease(self, tuning_job_name: str) -> Lease | None: ...

    def swap_lease(self, tuning_job_name: str, expected: Lease | None, new: Lease | None) -> bool:
        """Compare-and-set: replace the lease only if it is still ``expected``.
        ``ResourceNotFound`` if there is no such tuning job."""

    def get_training_job_lease(self, training_job_name: str) -> Lease | None:
        """Who drives a standalone training job (None if nobody holds its lease)."""

    def swap_training_job_lease(
        self, training_job_name: str, expected: Lease | None, new: Lease | None
    ) -> bool:
        """:meth:`swap_lease` for a training job; ``put_training_job`` never changes it."""

    def batch(self) -> AbstractContextManager[StoreBatch]: ...

    def close(self) -> None: ...


def iterate_training_jobs(store: Store, query: TrainingJobQuery) -> Iterator[TrainingJob]:
    """Every training job matching ``query``, page after page."""
    while True:
        page = store.list_training_jobs(query)
        yield from page.items
        if page.next_cursor is None:
            return
        query = TrainingJobQuery(**{**query.__dict__, "after": page.next_cursor})
