"""When a training job's attempt ends without ending the job: managed spot interruptions
and ``RetryStrategy``. Used by the tuning loop and the standalone training runner, which
commit the next attempt before they launch it (crash safety as for any launch).

- **Managed spot**: an attempt ``Interrupted`` because its spot capacity was reclaimed
  resumes as the next attempt, from its checkpoints (``checkpoints/`` is kept, and
  synced with ``CheckpointConfig.S3Uri``), as soon as the capacity is back; as many times
  as it takes, within ``MaxWaitTimeInSeconds`` counted from the job's creation (the
  executor ends it ``MaxWaitTimeExceeded`` when that runs out). Its history reads
  ``Interrupted`` then ``Starting``.
- **RetryStrategy.MaximumRetryAttempts**: an attempt that failed for an internal reason
  (:attr:`~tunelab.execution.base.Finished.internal`: the executor's machinery, a lost
  instance; never the program's own failure) is retried under the same name while
  retries remain; its history reads ``Starting`` with :data:`RETRYING` and the reason.

A new attempt keeps the job's metric points: its reports continue the step count, as a
program resuming from its checkpoints continues its epochs. ``MaxRuntimeInSeconds``
counts the training time of every attempt (:func:`launch_limits`).
"""

from __future__ import annotations

from tunelab.domain.billing import capacity_seconds
from tunelab.domain.definition import TrainingJobDefinition
from tunelab.domain.enums import SecondaryStatus, TrainingJobStatus
from tunelab.domain.trial import TrainingJob
from tunelab.execution.base import Finished

RETRYING = "Retrying after an internal error"
RESUMING = "Resuming from the checkpoints as attempt"


def retries_used(job: TrainingJob) -> int:
    """How many times RetryStrategy has retried ``job`` so far."""
    return sum(
        t.status is SecondaryStatus.STARTING and t.message.startswith(RETRYING)
        for t in job.transitions
    )


def interruptions(job: TrainingJob) -> int:
    """How many times the job's spot capacity was reclaimed."""
    return sum(t.status is SecondaryStatus.INTERRUPTED for t in job.transitions)


def next_attempt(
    job: TrainingJob, definition: TrainingJobDefinition, event: Finished
) -> TrainingJob | None:
    """The job's next attempt when the one that ended with ``event`` must run again,
    else None (the event ends the job)."""
    if not event.internal or job.status is not TrainingJobStatus.IN_PROGRESS:
        return None
    attempt = job.attempt + 1
    if event.secondary is SecondaryStatus.INTERRUPTED and definition.enable_managed_spot:
        job = job.transition(
            SecondaryStatus.INTERRUPTED, event.time, event.failure_reason or "Interrupted"
        ).transition(
            SecondaryStatus.STARTING,
            event.time,
            f"{RESUMING} {attempt} when spot capacity is available",
        )
    else:
        limit = definition.retry_attempts or 0
        used = retries_used(job)
        if used >= limit:
            return None
        job = job.transition(
            SecondaryStatus.STARTING,
            event.time,
            f"{RETRYING} (retry {used + 1} of {limit}, attempt {attempt}): "
            f"{event.failure_reason or 'the attempt failed'}"[:1024],
        )
    return job.evolve(attempt=attempt, pid=None, pid_start_time=None, exit_code=None)


def launch_limits(
    job: TrainingJob, definition: TrainingJobDefinition
) -> tuple[float | None, float]:
    """``(not_after, runtime_used)`` for the job's next launch request: when
    ``MaxWaitTimeInSeconds`` runs out (managed spot only), and the seconds its earlier
    attempts trained, which count against ``MaxRuntimeInSeconds`` for managed spot and
    RetryStrategy jobs (SageMaker: "the maximum time for all of the attempts in total");
    a job run again after tunelab itself was interrupted gets its whole runtime."""
    spot = definition.enable_managed_spot
    wait = definition.stopping.max_wait_seconds
    not_after = job.creation_time + wait if spot and wait else None
    if not (spot or definition.retry_attempts):
        return not_after, 0.0
    used = capacity_seconds(job, statuses=(SecondaryStatus.TRAINING,))
    return not_after, used


def never_launched(job: TrainingJob, now: float) -> Finished:
    """The end of a next attempt that was stopped before it was launched: ``Stopped``."""
    return Finished(job.name, now, TrainingJobStatus.STOPPED, SecondaryStatus.STOPPED)
