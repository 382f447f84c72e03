"""Conversions between domain snapshots and table rows."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tunelab.domain.enums import (
    ObjectiveStatus,
    SecondaryStatus,
    TrainingJobStatus,
    TuningJobStatus,
)
from tunelab.domain.request import parse_tuning_job
from tunelab.domain.trial import MetricPoint, StatusTransition, TrainingJob
from tunelab.domain.tuning_job import TuningJob, TuningJobSpec

Row = Mapping[str, Any]


def key(name: str) -> str:
    """The case-insensitive form of a name (its unique column)."""
    return name.lower()


def tuning_job_state(job: TuningJob) -> dict[str, Any]:
    """The columns ``put_tuning_job`` rewrites (not the name, creation time, lease)."""
    return {
        "status": job.status.value,
        "last_modified_time": job.last_modified_time,
        "end_time": job.end_time,
        "failure_reason": job.failure_reason,
        "jobs_not_improving": job.jobs_not_improving,
        "convergence_detected_time": job.convergence_detected_time,
    }


def tuning_job_values(job: TuningJob) -> dict[str, Any]:
    """Every column of a new tuning job row but ``id``."""
    return {
        "name": job.name,
        "name_key": key(job.name),
        "creation_time": job.creation_time,
        "version": job.version,
        "document": dict(job.spec.document),
        "lease_owner": None,
        "lease_expires_at": None,
        "created_by": job.created_by,
        **tuning_job_state(job),
    }


def tuning_job_from_row(row: Row, spec: TuningJobSpec) -> TuningJob:
    return TuningJob(
        spec=spec,
        status=TuningJobStatus(row["status"]),
        creation_time=row["creation_time"],
        last_modified_time=row["last_modified_time"],
        end_time=row["end_time"],
        failure_reason=row["failure_reason"],
        jobs_not_improving=row["jobs_not_improving"],
        convergence_detected_time=row["convergence_detected_time"],
        version=row["version"],
        created_by=row["created_by"],
    )


def training_job_state(job: TrainingJob) -> dict[str, Any]:
    """The columns ``put_training_job`` rewrites (all but name and tuning-job link)."""
    return {
        "sequence": job.sequence,
        "definition_name": job.definition_name,
        "tuned_hyperparameters": dict(job.tuned_hyperparameters),
        "creation_time": job.creation_time,
        "status": job.status.value,
        "secondary_status": job.secondary_status.value,
        "objective_status": job.objective_status.value,
        "final_objective_value": job.final_objective_value,
        "failure_reason": job.failure_reason,
        "start_time": job.start_time,
        "end_time": job.end_time,
        "last_modified_time": job.last_modified_time,
        "attempt": job.attempt,
        "pid": job.pid,
        "pid_start_time": job.pid_start_time,
        "exit_code": job.exit_code,
        "transitions": [
            {"status": t.status.value, "start_time": t.start_time, "message": t.message}
            for t in job.transitions
        ],
    }


def training_job_values(
    job: TrainingJob,
    tuning_job_id: int | None,
    request: Mapping[str, Any] | None = None,
    created_by: str | None = None,
) -> dict[str, Any]:
    """Every column of a new training job row but ``id``; ``request`` is the
    ``CreateTrainingJob`` document of a training job created on its own."""
    tuning = job.tuning_job_name
    return {
        "name": job.name,
        "name_key": key(job.name),
        "tuning_job_id": tuning_job_id,
        "tuning_job_name": tuning,
        "tuning_job_key": None if tuning is None else key(tuning),
        "request": None if request is None else dict(request),
        "created_by": created_by,
        **training_job_state(job),
    }


def training_job_from_row(row: Row) -> TrainingJob:
    return TrainingJob(
        name=row["name"],
        tuning_job_name=row["tuning_job_name"],
        sequence=row["sequence"],
        definition_name=row["definition_name"],
        tuned_hyperparameters=dict(row["tuned_hyperparameters"]),
        creation_time=row["creation_time"],
        status=TrainingJobStatus(row["status"]),
        secondary_status=SecondaryStatus(row["secondary_status"]),
        objective_status=ObjectiveStatus(row["objective_status"]),
        final_objective_value=row["final_objective_value"],
        failure_reason=row["failure_reason"],
        start_time=row["start_time"],
        end_time=row["end_time"],
        last_modified_time=row["last_modified_time"],
        attempt=row["attempt"],
        pid=row["pid"],
        pid_start_time=row["pid_start_time"],
        exit_code=row["exit_code"],
        transitions=tuple(
            StatusTransition(SecondaryStatus(t["status"]), t["start_time"], t["message"])
            for t in row["transitions"]
        ),
    )


def metric_point_values(training_job_id: int, point: MetricPoint) -> dict[str, Any]:
    return {
        "training_job_id": training_job_id,
        "metric_name": point.metric_name,
        "step": point.step,
        "timestamp": point.timestamp,
        "value": point.value,
    }


def metric_point_from_row(row: Row) -> MetricPoint:
    return MetricPoint(row["metric_name"], row["value"], row["timestamp"], row["step"])


class SpecCache:
    """Parsed request documents, one entry per tuning job name, valid for one
    (row id, version): ids are never reused and every write bumps the version, so
    an entry can't go stale silently. Bounded; safe to share between threads."""

    def __init__(self, size: int = 1024) -> None:
        self._size = size
        self._entries: dict[str, tuple[int, int, TuningJobSpec]] = {}

    def spec(self, row: Row) -> TuningJobSpec:
        """The spec of a ``tuning_jobs`` row, parsed once per (id, version)."""
        entry = self._entries.get(row["name_key"])
        if entry is not None and entry[0] == row["id"] and entry[1] == row["version"]:
            return entry[2]
        spec = parse_tuning_job(row["document"])
        self.remember(row["name_key"], row["id"], row["version"], spec)
        return spec

    def cached(self, row: Row) -> TuningJobSpec | None:
        """The spec of a ``tuning_jobs`` row if parsed already (the row may lack its
        ``document``)."""
        entry = self._entries.get(row["name_key"])
        if entry is not None and entry[0] == row["id"] and entry[1] == row["version"]:
            return entry[2]
        return None

    def latest(self, name_key: str) -> tuple[int, int, TuningJobSpec] | None:
        """(id, version, spec) last seen for this name, if any."""
        return self._entries.get(name_key)

    def remember(self, name_key: str, row_id: int, version: int, spec: TuningJobSpec) -> None:
        if len(self._entries) >= self._size and name_key not in self._entries:
            self._entries.pop(next(iter(self._entries), name_key), None)
        self._entries[name_key] = (row_id, version, spec)

    def forget(self, name_key: str) -> None:
        self._entries.pop(name_key, None)
