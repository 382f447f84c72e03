"""Use cases for tuning jobs: validate, create, run, resume, describe, list, stop,
delete. The CLI (and later the API and the console) call these; nothing here
knows about the wire format. Running a job here, or following the process that runs
it, is :class:`~tunelab.service.tuning_driver.TuningDriver`'s."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tunelab.domain.enums import ObjectiveType, TuningJobStatus, WarmStartType
from tunelab.domain.errors import (
    ConflictError,
    ResourceInUse,
    ResourceNotFound,
    ValidationError,
    raise_for,
    tuning_job_name_taken,
)
from tunelab.domain.progress import ImprovementTracker
from tunelab.domain.request import parse_tuning_job
from tunelab.domain.rules import check_document, check_spec, concurrent_tuning_jobs
from tunelab.domain.shape_check import check_input
from tunelab.domain.training_request import request_of
from tunelab.domain.trial import MetricPoint, TrainingJob
from tunelab.domain.tuning_job import TuningJob, TuningJobSpec
from tunelab.domain.warm_start import Parent, check_parents
from tunelab.execution.clock import Clock, SystemClock
from tunelab.execution.contract import attempt_log_path, training_job_dir
from tunelab.execution.preflight import check_launchable
from tunelab.orchestrator.lease import holder_is_dead
from tunelab.orchestrator.progress import Progress
from tunelab.service.algorithms import AlgorithmService
from tunelab.service.autotune import autotune
from tunelab.service.capabilities import unsupported
from tunelab.service.dataplane import data_plane, spec_problems
from tunelab.service.settings import Settings
from tunelab.service.tuning_driver import TuningDriver
from tunelab.store.base import (
    Counters,
    Page,
    Store,
    TrainingJobQuery,
    TuningJobQuery,
    iterate_training_jobs,
)

CREATE = "CreateHyperParameterTuningJob"


@dataclass(frozen=True)
class TuningJobDescription:
    """Everything ``DescribeHyperParameterTuningJob`` reports."""

    job: TuningJob
    counters: Counters
    best: TrainingJob | None
    jobs_not_improving: int
    last_modified_time: float
    overall_best: tuple[TrainingJob, TuningJobSpec] | None = None
    """With an IdenticalDataAndAlgorithm warm start: the best of this job and its
    parents, with the spec of the tuning job that ran it."""


class TuningService:
    def __init__(self, settings: Settings, store: Store, clock: Clock | None = None) -> None:
        self.settings, self.store = settings, store
        self.clock = clock or SystemClock()
        self.algorithms = AlgorithmService(store, self.clock)
        self._driver = TuningDriver(settings, store, self.clock, self.algorithms)
        """Runs jobs here, or follows those :meth:`create_or_resume` created here."""

    # -- create -------------------------------------------------------------------

    def validate(
        self, document: Mapping[str, Any], *, name_must_be_free: bool = False
    ) -> TuningJobSpec:
        """Every rule, in order: the service model's shapes, SageMaker's semantic
        rules, quotas, what this tunelab can run, that the programs and data exist,
        and (with ``name_must_be_free``) that no tuning job has the name yet
        (``ResourceInUse``). Raises on the first stage that finds problems, listing
        all of that stage's violations. ``create`` checks the name atomically."""
        if not isinstance(document, Mapping):
            raise ValidationError("the job file must hold a JSON/YAML object (a mapping)")
        raise_for(check_input(CREATE, document))
        raise_for(check_document(document))
        document = self.prepared(document)
        spec = parse_tuning_job(document)
        raise_for(check_spec(spec, self.settings.quotas))
        if spec.warm_start is not None:
            parents = [self._parent(name) for name in spec.warm_start.parents]
            raise_for(check_parents(spec, parents, self.settings.quotas.max_training_jobs))
        local_s3, here = self.settings.s3_root is not None, self.settings.ray_address is None
        raise_for(list(unsupported(spec, local_s3, this_machine=here)))
        plane = data_plane(self.settings)
        raise_for(check_launchable(spec, plane, self.algorithms.image))
        raise_for(spec_problems(spec, self.settings))  # RoleArn's roles, KmsKeyId's keys
        if name_must_be_free:
            try:
                existing = self.store.get_tuning_job(spec.name)
            except ResourceNotFound:
                return spec
            raise tuning_job_name_taken(spec.name, existing.name)
        return spec

    def prepared(self, document: Mapping[str, Any]) -> dict[str, Any]:
        """The request as stored: algorithms resolved (predefined metrics), then
        Autotune's choices filled in."""
        resolved = self.algorithms.resolve(document)
        return autotune(resolved, self.settings.quotas.max_training_jobs)

    def _parent(self, name: str) -> Parent | None:
        """A warm-start parent with its training jobs, or None when it does not exist."""
        try:
            job = self.store.get_tuning_job(name)
        except ResourceNotFound:
            return None
        jobs = tuple(iterate_training_jobs(self.store, TrainingJobQuery(job.name)))
        return Parent(job, self.store.counters(job.name).total, jobs)

    def create(self, document: Mapping[str, Any], created_by: str | None = None) -> TuningJob:
        """Validate and store the job InProgress; a refused request stores nothing.
        Beyond :meth:`validate`: the quota of concurrent tuning jobs
        (``ResourceLimitExceeded``), unless the name is taken (``ResourceInUse``)."""
        spec = self.validate(document)
        now = self.clock.now()
        job = TuningJob(spec, TuningJobStatus.IN_PROGRESS, now, now, created_by=created_by)
        quotas = self.settings.quotas
        return self.store.create_tuning_job(
            job, lambda running: raise_for(concurrent_tuning_jobs(running, quotas))
        )

    def create_or_resume(self, document: Mapping[str, Any]) -> tuple[TuningJob, bool]:
        """Create the job; if a job of that name exists with the very same request
        and has not ended, return it instead (True: it is being resumed). A new job's
        lease is taken for this process at once, so that a server on the same store
        (whose scheduler adopts the jobs no live process holds) leaves it to
        :meth:`run`; should the server take it first, :meth:`run` follows it there."""
        try:
            job = self.create(document)
        except ResourceInUse:
            existing = self.store.get_tuning_job(document["HyperParameterTuningJobName"])
            if dict(existing.spec.document) != self.prepared(document):
                raise
            if existing.status.is_terminal:
                raise ResourceInUse(
                    f"Tuning job '{existing.name}' already ran and is {existing.status}; "
                    "give the new job another HyperParameterTuningJobName"
                ) from None
            return existing, True
        self._driver.hold(job.name)
        return job, False

    # -- run --------------------------------------------------------------------------

    def run(self, name: str, on_progress: Callable[[Progress], None] | None = None) -> TuningJob:
        """Drive the tuning job in this process until it ends (resuming it if it
        was interrupted). ``ConflictError`` if another live process runs it, unless
        :meth:`create_or_resume` created it here: then it is followed where it runs (a
        stop asked for with :meth:`request_stop` is passed on), and run here should that
        process go away first."""
        return self._driver.run(name, on_progress)

    def request_stop(self) -> None:
        """Ask the loop running in this process (or the process :meth:`run` follows) to
        stop its job (signal-safe: only sets flags read at the next tick or poll)."""
        self._driver.request_stop()

    # -- read -------------------------------------------------------------------------

    def get(self, name: str) -> TuningJob:
        return self.store.get_tuning_job(name)

    def describe(self, name: str) -> TuningJobDescription:
        """``DescribeHyperParameterTuningJob``'s facts, from one read of the store. The
        count of training jobs not improving is the one the tuning loop stores as it
        goes (it alone knows which jobs ran their full course); a job no loop of this
        version ran yet has it counted here from every ended job."""
        found = self.store.tuning_job_overview(name)
        not_improving = found.job.jobs_not_improving
        if not_improving is None:
            tracker = ImprovementTracker(found.job.spec.objective_type)
            for _, value in found.ended:
                tracker.add(value)
            not_improving = tracker.streak
        return TuningJobDescription(
            job=found.job,
            counters=found.counters,
            best=found.best,
            jobs_not_improving=not_improving,
            last_modified_time=found.last_modified_time,
            overall_best=self._overall_best(found.job, found.best),
        )

    def _overall_best(
        self, job: TuningJob, best: TrainingJob | None
    ) -> tuple[TrainingJob, TuningJobSpec] | None:
        """The best training job of this job and its parents, for an
        ``IdenticalDataAndAlgorithm`` warm start (SageMaker's OverallBestTrainingJob)."""
        warm = job.spec.warm_start
        if warm is None or warm.type is not WarmStartType.IDENTICAL_DATA_AND_ALGORITHM:
            return None
        direction = job.spec.objective_type
        candidates = [] if best is None else [(best, job.spec)]
        for name in warm.parents:
            try:
                parent = self.store.get_tuning_job(name)
            except ResourceNotFound:
                continue
            found = self.store.best_training_job(parent.name, direction)
            if found is not None:
                candidates.append((found, parent.spec))
        scored = [c for c in candidates if c[0].final_objective_value is not None]
        if not scored:
            return None
        return (
            max(scored, key=lambda c: c[0].final_objective_value or 0.0)
            if (direction is ObjectiveType.MAXIMIZE)
            else min(scored, key=lambda c: c[0].final_objective_value or 0.0)
        )

    def list(self, query: TuningJobQuery) -> Page:
        return self.store.list_tuning_jobs(query)

    def list_training_jobs(self, query: TrainingJobQuery) -> Page:
        self.store.get_tuning_job(query.tuning_job_name)  # ResourceNotFound first
        return self.store.list_training_jobs(query)

    def training_jobs_of(self, name: str) -> list[TrainingJob]:
        return list(iterate_training_jobs(self.store, TrainingJobQuery(name)))

    def log_path(self, job: TrainingJob) -> str:
        """The log of the training job's latest attempt (launched by a tuning job or
        created on its own)."""
        root = str(self.settings.jobs_root)
        return attempt_log_path(training_job_dir(root, job.tuning_job_name, job.name), job.attempt)

    def metric_points(
        self, training_job_name: str, metric_name: str | None = None
    ) -> list[MetricPoint]:
        """The training job's stored points (of ``metric_name`` only, if given), as the
        store keeps them (``tunelab.store.retention``)."""
        return self.store.metric_points(training_job_name, metric_name)

    # -- stop / delete ------------------------------------------------------------------

    def stop(self, name: str, *, finish_orphans: bool = True) -> TuningJob:
        """Mark the job Stopping. The process running it stops its training jobs;
        when no live process runs it and ``finish_orphans``, this call finishes the
        stop itself (a server leaves that to its scheduler)."""
        job = self.store.get_tuning_job(name)
        if job.status.is_terminal:
            raise ValidationError(
                f"Tuning job '{job.name}' is {job.status}; only a job in progress can be stopped"
            )
        while job.status is TuningJobStatus.IN_PROGRESS:
            try:
                with self.store.batch() as batch:
                    stopping = job.evolve(
                        status=TuningJobStatus.STOPPING, last_modified_time=self.clock.now()
                    )
                    job = batch.put_tuning_job(stopping)
            except ConflictError:
                job = self.store.get_tuning_job(name)
        lease = self.store.get_lease(job.name)
        orphaned = (
            lease is None or lease.expires_at < self.clock.now() or holder_is_dead(lease.owner)
        )
        if finish_orphans and orphaned and not job.status.is_terminal:
            job = self.run(job.name)
        return job

    def delete(self, name: str) -> None:
        job = self.store.get_tuning_job(name)
        if job.status is TuningJobStatus.STOPPING:
            raise ValidationError(
                f"Tuning job '{job.name}' is Stopping; wait until it is Stopped, then delete it"
            )
        if not job.status.is_terminal:
            raise ValidationError(
                f"Tuning job '{job.name}' is {job.status}; stop it before deleting it"
            )
        kept = {}
        for training in self.training_jobs_of(job.name):
            definition = job.spec.definition(training.definition_name)
            hyperparameters = definition.hyperparameters_for(training.tuned_hyperparameters)
            kept[training.name] = request_of(training.name, definition, hyperparameters)
        self.store.delete_tuning_job(job.name, kept)
