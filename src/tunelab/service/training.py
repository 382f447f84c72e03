"""Use cases for training jobs: create one on its own (``CreateTrainingJob``),
describe, list and stop any training job, whether a tuning job launched it or not."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tunelab.domain.definition import TrainingJobDefinition
from tunelab.domain.enums import SecondaryStatus, TrainingJobStatus
from tunelab.domain.errors import ValidationError, raise_for
from tunelab.domain.shape_check import check_input
from tunelab.domain.training_request import check_training_job, parse_training_job_request
from tunelab.domain.trial import MetricPoint, TrainingJob
from tunelab.execution.clock import Clock
from tunelab.execution.preflight import launch_problems
from tunelab.service.algorithms import AlgorithmService
from tunelab.service.capabilities import unsupported_definition
from tunelab.service.dataplane import data_plane, definition_problems
from tunelab.service.settings import Settings
from tunelab.store.base import Page, Store, TrainingJobQuery

STOP_POLL_SECONDS = 0.05
"""How often StopTrainingJob for a job run elsewhere looks at the job's status."""


def poll_until(
    condition: Callable[[], bool],
    wait: float,
    every: float,
    alive: Callable[[], bool] = lambda: True,
) -> bool:
    """Check ``condition`` every ``every`` seconds until it holds (True), or until
    ``wait`` seconds passed or ``alive()`` is false (False)."""
    deadline = time.monotonic() + wait
    while alive():
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(every)
    return False


def left_in_progress(store: Store, name: str) -> bool:
    """The stored training job is no longer ``InProgress`` (Stopping, or ended)."""
    return store.get_training_job(name).status is not TrainingJobStatus.IN_PROGRESS


@dataclass(frozen=True)
class TrainingJobDescription:
    """Everything ``DescribeTrainingJob`` reports."""

    job: TrainingJob
    definition: TrainingJobDefinition
    hyperparameters: Mapping[str, str]
    final_metrics: tuple[MetricPoint, ...]
    """The latest point of each metric, in the order of the metric definitions (read
    without loading the series)."""
    document: Mapping[str, Any] | None
    """The ``CreateTrainingJob`` request (None for a tuning job's training job)."""


class TrainingService:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        s3_root: str | None = None,
        settings: Settings | None = None,
    ) -> None:
        """``s3_root``: tunelab's local object store (None: the S3 endpoint of the
        settings); ``settings``: where roles and keys live (default: the environment's)."""
        self.store, self.clock, self.s3_root = store, clock, s3_root
        self.settings = settings or Settings.from_env()
        self.algorithms = AlgorithmService(store, clock)

    def create(self, document: Mapping[str, Any], created_by: str | None = None) -> TrainingJob:
        """Validate (shapes, SageMaker's rules for a training job definition, what this
        version runs, program and data exist) and store the job InProgress; a runner
        (the server's scheduler) starts it. A refused request stores nothing."""
        if not isinstance(document, Mapping):
            raise ValidationError("the request must be a JSON object")
        raise_for(check_input("CreateTrainingJob", document))
        document = self.algorithms.resolve(document)
        request = parse_training_job_request(document)
        raise_for(check_training_job(request))
        local_s3 = self.s3_root is not None
        here = self.settings.ray_address is None  # else a Ray cluster's node must hold it
        raise_for(list(unsupported_definition(request.definition, "", local_s3, here)))
        plane = data_plane(self.settings, self.s3_root)
        raise_for(launch_problems(request.definition, "", plane, self.algorithms.image))
        raise_for(definition_problems(request.definition, "", self.settings))
        now = self.clock.now()
        job = TrainingJob(
            name=request.name,
            tuning_job_name=None,
            sequence=0,
            definition_name=None,
            tuned_hyperparameters={},
            creation_time=now,
            last_modified_time=now,
        ).transition(SecondaryStatus.STARTING, now, "Launching the training job")
        self.store.create_training_job(job, document, created_by)
        return job

    def get(self, name: str) -> TrainingJob:
        return self.store.get_training_job(name)

    def record_stop_request(self, name: str) -> None:
        """Write a StopTrainingJob request to the store, where the loop or runner of
        whichever process runs the job (``tunelab run``, another server on the
        database) reads it within half a second, and whoever runs the job next (after
        a crash) stops it instead of running it."""
        self.store.request_training_job_stop(name, self.clock.now())

    def await_stopping(self, name: str, wait: float) -> None:
        """Return once the job is out of ``InProgress``, or after ``wait`` seconds."""
        poll_until(lambda: left_in_progress(self.store, name), wait, STOP_POLL_SECONDS)

    def definition_of(self, job: TrainingJob) -> TrainingJobDefinition:
        """The definition the job runs: its own request's (a job created on its own,
        or one whose tuning job was deleted), or its tuning job's."""
        return self._definition(job)[0]

    def _definition(
        self, job: TrainingJob
    ) -> tuple[TrainingJobDefinition, dict[str, str], Mapping[str, Any] | None]:
        """(definition, every hyperparameter the job received, its request if kept)."""
        document = self.store.training_job_request(job.name)
        if document is not None or job.tuning_job_name is None:
            definition = parse_training_job_request(document or {}).definition
            return definition, dict(definition.static_hyperparameters), document
        spec = self.store.get_tuning_job(job.tuning_job_name).spec
        definition = spec.definition(job.definition_name)
        return definition, definition.hyperparameters_for(job.tuned_hyperparameters), None

    def describe(self, name: str) -> TrainingJobDescription:
        job = self.store.get_training_job(name)
        definition, hyperparameters, document = self._definition(job)
        order = {m.name: i for i, m in enumerate(definition.metric_definitions)}
        latest = sorted(
            self.store.latest_metric_points(job.name),
            key=lambda p: (order.get(p.metric_name, len(order)), p.metric_name),
        )
        return TrainingJobDescription(job, definition, hyperparameters, tuple(latest), document)

    def list(self, query: TrainingJobQuery) -> Page:
        return self.store.list_training_jobs(query)

    def check_stoppable(self, name: str) -> TrainingJob:
        """The job, if it may be stopped (``ValidationException`` once it ended)."""
        job = self.store.get_training_job(name)
        if job.status is not TrainingJobStatus.IN_PROGRESS and (
            job.status is not TrainingJobStatus.STOPPING
        ):
            raise ValidationError(
                f"Training job '{job.name}' is {job.status}; only a job in progress can be stopped"
            )
        return job
