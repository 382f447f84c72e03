"""New training jobs: how many may start, the trial of each suggestion of the
strategy, and the executor's request that launches a trial."""

from __future__ import annotations

import secrets

from tunelab.domain.enums import SecondaryStatus
from tunelab.domain.names import training_job_arn, training_job_name
from tunelab.domain.trial import Suggestion, TrainingJob
from tunelab.domain.tuning_job import TuningJobSpec
from tunelab.execution.base import LaunchRequest
from tunelab.execution.contract import training_job_dir
from tunelab.orchestrator.attempts import launch_limits
from tunelab.orchestrator.stoppers import report_cap
from tunelab.orchestrator.trials import LiveTrial


def open_slots(spec: TuningJobSpec, running: int, created: int) -> int:
    """How many training jobs may start now: the free ``MaxParallelTrainingJobs``
    slots, within what is left of ``MaxNumberOfTrainingJobs``; may be negative."""
    slots = spec.limits.max_parallel_training_jobs - running
    budget = spec.max_jobs
    if budget is not None:
        slots = min(slots, budget - created)
    return slots


def new_trial(spec: TuningJobSpec, suggestion: Suggestion, sequence: int, now: float) -> LiveTrial:
    """A new training job for ``suggestion``, ``Starting``, number ``sequence`` of the
    tuning job, its name made unique by a random suffix."""
    definition = spec.definition(suggestion.definition_name)
    name = training_job_name(spec.name, sequence, secrets.token_hex(4))
    job = TrainingJob(
        name=name,
        tuning_job_name=spec.name,
        sequence=sequence,
        definition_name=suggestion.definition_name,
        tuned_hyperparameters=definition.search_space.format(suggestion.params),
        creation_time=now,
        last_modified_time=now,
    ).transition(SecondaryStatus.STARTING, now, "Launching the training job")
    return LiveTrial(job, definition, dict(suggestion.params), report_cap(spec))


def launch_request(trial: LiveTrial, jobs_root: str, tuning_job_name: str) -> LaunchRequest:
    """What the executor needs to run the trial's current attempt, in its directory
    ``<jobs_root>/<tuning job>/<training job>``."""
    job, definition = trial.job, trial.definition
    not_after, runtime_used = launch_limits(job, definition)
    return LaunchRequest(
        training_job_name=job.name,
        training_job_arn=training_job_arn(job.name),
        definition=definition,
        hyperparameters=definition.hyperparameters_for(job.tuned_hyperparameters),
        job_dir=training_job_dir(jobs_root, tuning_job_name, job.name),
        attempt=job.attempt,
        tuning_job_name=tuning_job_name,
        not_after=not_after,
        runtime_used=runtime_used,
    )
