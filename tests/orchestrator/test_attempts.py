"""Attempts of a training job (orchestrator.attempts) through the tuning loop and the
standalone training runner, on the simulated executor and a fake clock: managed spot
interruptions resume as the next attempt under the same name, within
MaxWaitTimeInSeconds; RetryStrategy retries internal failures only; the training and
billable times (domain.billing) as reported on the wire (api.training_codecs)."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.factories import make_definition, make_document
from tests.orchestrator.conftest import Harness
from tunelab.api.training_codecs import describe_training_job
from tunelab.domain.billing import (
    SPOT_PRICE_RATIO,
    billable_seconds,
    capacity_seconds,
    spot_savings,
    training_seconds,
)
from tunelab.domain.enums import (
    ObjectiveStatus,
    SecondaryStatus,
    TrainingJobStatus,
    TuningJobStatus,
)
from tunelab.domain.request import parse_tuning_job
from tunelab.domain.trial import TrainingJob
from tunelab.execution.base import Finished, LaunchRequest
from tunelab.execution.clock import FakeClock
from tunelab.execution.simulated import SimulatedExecutor, SimulatedRun
from tunelab.orchestrator.attempts import (
    RESUMING,
    RETRYING,
    interruptions,
    launch_limits,
    next_attempt,
    retries_used,
)
from tunelab.orchestrator.training_runner import TrainingRunner
from tunelab.service.settings import Settings
from tunelab.service.training import TrainingService
from tunelab.store.base import TrainingJobQuery, iterate_training_jobs
from tunelab.store.sql.store import SqlStore

S = SecondaryStatus
RESUMED = [S.STARTING, S.TRAINING, S.INTERRUPTED, S.STARTING, S.TRAINING, S.COMPLETED]
"""The history of a spot job interrupted once that then completes."""
CHECKPOINTS = {"S3Uri": "s3://checkpoints/spot", "LocalPath": "/opt/ml/checkpoints"}


def spot_document(stopping: dict[str, int], **extra: Any) -> dict[str, Any]:
    return make_document(
        max_jobs=1,
        parallel=1,
        EnableManagedSpotTraining=True,
        CheckpointConfig=CHECKPOINTS,
        StoppingCondition=stopping,
        **extra,
    )


def by_attempt(*runs: SimulatedRun) -> Callable[[LaunchRequest], SimulatedRun]:
    """Attempt k plays ``runs[k - 1]`` (the last one again after that)."""
    return lambda request: runs[min(request.attempt, len(runs)) - 1]


def accuracy(*values: tuple[float, float]) -> tuple[tuple[float, str], ...]:
    return tuple((at, f"validation:accuracy={value}") for at, value in values)


INTERRUPTED_AFTER_EPOCH_1 = SimulatedRun(
    lines=accuracy((10, 0.7)), duration=31, interrupted_after=15
)
RESUMED_AT_EPOCH_2 = SimulatedRun(lines=accuracy((10, 0.8), (20, 0.9)), duration=21)


def only_job(harness: Harness, tuning_job: str = "job-1") -> TrainingJob:
    [job] = iterate_training_jobs(harness.store, TrainingJobQuery(tuning_job))
    return job


def statuses(job: TrainingJob) -> list[SecondaryStatus]:
    return [t.status for t in job.transitions]


def describe(store: SqlStore, tmp_path: Path, name: str) -> dict[str, Any]:
    settings = Settings(home=tmp_path, database_url=f"sqlite:///{tmp_path / 'tunelab.db'}")
    service = TrainingService(store, FakeClock(), settings=settings)
    return describe_training_job(service.describe(name), "us-east-1", "123456789012")


# -- managed spot through the tuning loop ---------------------------------------------------


def test_an_interrupted_spot_job_resumes_as_its_next_attempt_and_completes(
    harness: Harness, tmp_path: Path
) -> None:
    harness.create(spot_document({"MaxRuntimeInSeconds": 60, "MaxWaitTimeInSeconds": 120}))
    created = harness.clock.now()
    executor = harness.executor(by_attempt(INTERRUPTED_AFTER_EPOCH_1, RESUMED_AT_EPOCH_2))
    final = harness.loop("job-1", executor).run()

    assert final.status is TuningJobStatus.COMPLETED
    job = only_job(harness)
    assert job.status is TrainingJobStatus.COMPLETED
    assert job.attempt == 2 and job.failure_reason is None
    # the same job, launched twice under its name, in the same job directory
    first, second = executor.launches
    assert first.training_job_name == second.training_job_name == job.name
    assert (first.attempt, second.attempt) == (1, 2)
    assert first.job_dir == second.job_dir
    # MaxWaitTimeInSeconds counts from the job's creation; the second attempt's
    # MaxRuntimeInSeconds is what the first one left
    assert first.not_after == second.not_after == created + 120
    assert (first.runtime_used, second.runtime_used) == (0.0, 15.0)
    # the metric points of both attempts are kept, the steps continue
    points = harness.store.metric_points(job.name)
    assert [(p.step, p.value) for p in points] == [(0, 0.7), (1, 0.8), (2, 0.9)]
    assert job.final_objective_value == 0.9
    assert job.objective_status is ObjectiveStatus.SUCCEEDED
    # Interrupted, then Starting (the next attempt) and Training again
    assert statuses(job) == RESUMED
    interrupted, resuming = job.transitions[2:4]
    assert interrupted.start_time == resuming.start_time == created + 15
    assert interrupted.message == "Interrupted: spot capacity was reclaimed"
    assert resuming.message == f"{RESUMING} 2 when spot capacity is available"
    assert (interruptions(job), retries_used(job)) == (1, 0)
    assert harness.store.counters("job-1").completed == 1

    # TrainingTimeInSeconds: wall clock; BillableTimeInSeconds: the capacity held, at
    # the spot price
    assert (job.start_time, job.end_time) == (created, created + 36)
    assert training_seconds(job) == 36
    assert capacity_seconds(job) == 36.0
    assert billable_seconds(job, spot=True) == math.ceil(36 * SPOT_PRICE_RATIO) == 11
    assert spot_savings(job, spot=True) == pytest.approx(1 - 11 / 36)
    wire = describe(harness.store, tmp_path, job.name)
    assert (wire["TrainingTimeInSeconds"], wire["BillableTimeInSeconds"]) == (36, 11)
    assert wire["EnableManagedSpotTraining"] is True
    assert wire["CheckpointConfig"] == CHECKPOINTS
    assert wire["SecondaryStatus"] == "Completed"
    assert [t["Status"] for t in wire["SecondaryStatusTransitions"]] == [
        "Starting",
        "Training",
        "Interrupted",
        "Starting",
        "Training",
        "Completed",
    ]
    assert wire["SecondaryStatusTransitions"][3]["StatusMessage"] == resuming.message
    assert wire["FinalMetricDataList"][0]["Value"] == 0.9


def test_a_spot_job_resumes_as_many_times_as_it_takes(harness: Harness) -> None:
    harness.create(spot_document({"MaxRuntimeInSeconds": 60, "MaxWaitTimeInSeconds": 120}))
    interrupted = SimulatedRun(lines=accuracy((2, 0.5)), duration=31, interrupted_after=5)
    executor = harness.executor(by_attempt(interrupted, interrupted, RESUMED_AT_EPOCH_2))
    harness.loop("job-1", executor).run()
    job = only_job(harness)
    assert job.status is TrainingJobStatus.COMPLETED
    assert [r.attempt for r in executor.launches] == [1, 2, 3]
    assert [r.runtime_used for r in executor.launches] == [0.0, 5.0, 10.0]
    assert (job.attempt, interruptions(job), retries_used(job)) == (3, 2, 0)
    assert [p.step for p in harness.store.metric_points(job.name)] == [0, 1, 2, 3]
    resuming = [t.message for t in job.transitions if t.message.startswith(RESUMING)]
    assert resuming == [
        f"{RESUMING} 2 when spot capacity is available",
        f"{RESUMING} 3 when spot capacity is available",
    ]


def test_interruptions_do_not_use_up_the_retry_strategy(harness: Harness) -> None:
    harness.create(
        spot_document(
            {"MaxRuntimeInSeconds": 60, "MaxWaitTimeInSeconds": 120},
            RetryStrategy={"MaximumRetryAttempts": 1},
        )
    )
    interrupted = SimulatedRun(lines=accuracy((2, 0.5)), duration=31, interrupted_after=5)
    executor = harness.executor(by_attempt(interrupted, interrupted, RESUMED_AT_EPOCH_2))
    harness.loop("job-1", executor).run()
    job = only_job(harness)
    assert job.status is TrainingJobStatus.COMPLETED
    assert (job.attempt, interruptions(job), retries_used(job)) == (3, 2, 0)


def test_max_runtime_counts_the_training_time_of_every_attempt(harness: Harness) -> None:
    harness.create(spot_document({"MaxRuntimeInSeconds": 30, "MaxWaitTimeInSeconds": 120}))
    created = harness.clock.now()
    executor = harness.executor(by_attempt(INTERRUPTED_AFTER_EPOCH_1, RESUMED_AT_EPOCH_2))
    harness.loop("job-1", executor).run()
    job = only_job(harness)
    # 15 s in the first attempt, so the second may train 15 s (it would need 21)
    assert job.status is TrainingJobStatus.STOPPED
    assert job.secondary_status is S.MAX_RUNTIME_EXCEEDED
    assert job.end_time == created + 30
    assert job.failure_reason is not None and job.failure_reason.startswith("MaxRuntimeExceeded")
    assert [p.value for p in harness.store.metric_points(job.name)] == [0.7, 0.8]
    assert job.final_objective_value == 0.8  # a stopped job keeps its latest value


def test_max_wait_time_ends_a_job_that_keeps_being_interrupted(
    harness: Harness, tmp_path: Path
) -> None:
    harness.create(spot_document({"MaxWaitTimeInSeconds": 45}))
    created = harness.clock.now()
    never_done = SimulatedRun(lines=accuracy((5, 0.6)), duration=31, interrupted_after=10)
    executor = harness.executor(by_attempt(never_done))
    final = harness.loop("job-1", executor).run()

    job = only_job(harness)
    assert job.status is TrainingJobStatus.STOPPED
    assert job.secondary_status is S.MAX_WAIT_TIME_EXCEEDED
    assert job.failure_reason is not None
    assert job.failure_reason.startswith("MaxWaitTimeExceeded")
    assert job.end_time == created + 45
    # attempts at 0, 10, 20, 30 were interrupted; the one started at 40 ran out of time
    assert [r.attempt for r in executor.launches] == [1, 2, 3, 4, 5]
    assert {r.not_after for r in executor.launches} == {created + 45}
    assert (job.attempt, interruptions(job)) == (5, 4)
    assert statuses(job)[-3:] == [S.STARTING, S.TRAINING, S.MAX_WAIT_TIME_EXCEEDED]
    # every attempt's report is kept; a stopped job keeps its latest value
    assert [p.step for p in harness.store.metric_points(job.name)] == [0, 1, 2, 3, 4]
    assert job.objective_status is ObjectiveStatus.SUCCEEDED
    assert final.status is TuningJobStatus.COMPLETED
    wire = describe(harness.store, tmp_path, job.name)
    assert wire["TrainingJobStatus"] == "Stopped"
    assert wire["SecondaryStatus"] == "MaxWaitTimeExceeded"
    assert wire["StoppingCondition"] == {"MaxWaitTimeInSeconds": 45, "MaxRuntimeInSeconds": 86400}
    assert (wire["TrainingTimeInSeconds"], wire["BillableTimeInSeconds"]) == (45, 14)


def test_an_interruption_of_an_on_demand_job_fails_it(harness: Harness) -> None:
    """Without EnableManagedSpotTraining (and RetryStrategy) nothing runs it again."""
    harness.create(make_document(max_jobs=1, parallel=1))
    executor = harness.executor(by_attempt(INTERRUPTED_AFTER_EPOCH_1, RESUMED_AT_EPOCH_2))
    final = harness.loop("job-1", executor).run()
    job = only_job(harness)
    assert len(executor.launches) == 1
    assert job.status is TrainingJobStatus.FAILED
    assert job.secondary_status is S.INTERRUPTED
    assert job.failure_reason == "Interrupted: spot capacity was reclaimed"
    assert final.status is TuningJobStatus.FAILED


# -- RetryStrategy through the tuning loop ---------------------------------------------------

INTERNAL = SimulatedRun(
    lines=accuracy((1, 0.4)),
    duration=4,
    exit_code=1,
    failure="InternalServerError: the instance was lost",
    internal=True,
)
ALGORITHM_ERROR = SimulatedRun(duration=4, exit_code=2, failure="ValueError: bad depth")
SUCCEEDS = SimulatedRun(lines=accuracy((5, 0.8)), duration=6)


def retry_document(attempts: int) -> dict[str, Any]:
    return make_document(max_jobs=1, parallel=1, RetryStrategy={"MaximumRetryAttempts": attempts})


def test_an_internal_failure_is_retried_up_to_maximum_retry_attempts(harness: Harness) -> None:
    harness.create(retry_document(2))
    created = harness.clock.now()
    executor = harness.executor(by_attempt(INTERNAL))
    final = harness.loop("job-1", executor).run()

    job = only_job(harness)
    assert [r.attempt for r in executor.launches] == [1, 2, 3]
    assert {r.training_job_name for r in executor.launches} == {job.name}
    assert [r.not_after for r in executor.launches] == [None] * 3  # no spot, no wait
    assert [r.runtime_used for r in executor.launches] == [0.0, 4.0, 8.0]
    assert job.status is TrainingJobStatus.FAILED
    assert job.failure_reason == "InternalServerError: the instance was lost"
    assert (job.attempt, retries_used(job), interruptions(job)) == (3, 2, 0)
    assert job.end_time == created + 12
    retrying = [t for t in job.transitions if t.message.startswith(RETRYING)]
    assert [t.status for t in retrying] == [S.STARTING, S.STARTING]
    assert [t.message for t in retrying] == [
        f"{RETRYING} (retry 1 of 2, attempt 2): InternalServerError: the instance was lost",
        f"{RETRYING} (retry 2 of 2, attempt 3): InternalServerError: the instance was lost",
    ]
    assert statuses(job) == [S.STARTING, S.TRAINING] * 3 + [S.FAILED]
    # a failed job has no objective, whatever its attempts reported
    assert [p.step for p in harness.store.metric_points(job.name)] == [0, 1, 2]
    assert job.final_objective_value is None
    assert harness.store.counters("job-1").non_retryable_error == 1
    assert final.status is TuningJobStatus.FAILED
    # on demand: billed for its training time
    assert training_seconds(job) == billable_seconds(job, spot=False) == 12
    assert spot_savings(job, spot=False) == 0.0


def test_a_retried_job_that_then_succeeds_completes(harness: Harness) -> None:
    harness.create(retry_document(3))
    executor = harness.executor(by_attempt(INTERNAL, SUCCEEDS))
    final = harness.loop("job-1", executor).run()
    job = only_job(harness)
    assert len(executor.launches) == 2
    assert job.status is TrainingJobStatus.COMPLETED
    assert (job.attempt, retries_used(job)) == (2, 1)
    assert job.failure_reason is None
    assert job.final_objective_value == 0.8
    assert final.status is TuningJobStatus.COMPLETED


@pytest.mark.parametrize("attempts", [None, 0, 3])
def test_an_algorithm_error_is_never_retried(harness: Harness, attempts: int | None) -> None:
    extra = {} if attempts is None else {"RetryStrategy": {"MaximumRetryAttempts": attempts}}
    harness.create(make_document(max_jobs=1, parallel=1, **extra))
    executor = harness.executor(by_attempt(ALGORITHM_ERROR, SUCCEEDS))
    harness.loop("job-1", executor).run()
    job = only_job(harness)
    assert len(executor.launches) == 1
    assert job.status is TrainingJobStatus.FAILED
    assert job.failure_reason == "ValueError: bad depth"
    assert (job.attempt, retries_used(job)) == (1, 0)


def test_an_internal_failure_without_retry_strategy_fails_the_job(harness: Harness) -> None:
    harness.create(make_document(max_jobs=1, parallel=1))
    executor = harness.executor(by_attempt(INTERNAL, SUCCEEDS))
    harness.loop("job-1", executor).run()
    job = only_job(harness)
    assert len(executor.launches) == 1
    assert job.status is TrainingJobStatus.FAILED
    assert job.failure_reason == "InternalServerError: the instance was lost"


def test_a_stop_request_with_an_internal_failure_ends_the_job_stopped(
    harness: Harness,
) -> None:
    """The attempt fails (internally) in the tick the job's StopTrainingJob arrives: the
    retry is committed, then the stop wins: the next attempt is never launched."""
    harness.create(retry_document(5))
    created = harness.clock.now()
    executor = harness.executor(by_attempt(INTERNAL))
    loop = harness.loop("job-1", executor)
    loop.start()
    try:
        loop.tick()  # launches attempt 1
        [request] = executor.launches
        harness.clock.advance_to(created + 4)  # attempt 1 fails now
        loop.request_stop_training_job(request.training_job_name)
        done = loop.tick()
        while not done:
            executor.wait(5.0)
            done = loop.tick()
    finally:
        loop.lease.release()
    job = only_job(harness)
    assert job.status is TrainingJobStatus.STOPPED
    assert job.end_time == created + 4
    assert [r.attempt for r in executor.launches] == [1]
    assert retries_used(job) == 1
    assert statuses(job)[-2:] == [S.STOPPING, S.STOPPED]
    assert S.TRAINING not in statuses(job)[statuses(job).index(S.STOPPING) :]
    assert executor.running() == 0


# -- the standalone training runner (CreateTrainingJob) ---------------------------------------


def run_standalone(
    tmp_path: Path, document: dict[str, Any], program: Callable[[LaunchRequest], SimulatedRun]
) -> tuple[TrainingJob, SimulatedExecutor, SqlStore, float]:
    clock = FakeClock()
    store = SqlStore(f"sqlite:///{tmp_path / 'tunelab.db'}")
    settings = Settings(home=tmp_path, database_url=f"sqlite:///{tmp_path / 'tunelab.db'}")
    service = TrainingService(store, clock, settings=settings)
    created = clock.now()
    job = TrainingJob(
        name=document["TrainingJobName"],
        tuning_job_name=None,
        sequence=0,
        definition_name=None,
        tuned_hyperparameters={},
        creation_time=created,
        last_modified_time=created,
    ).transition(S.STARTING, created, "Launching the training job")
    store.create_training_job(job, document, None)
    executor = SimulatedExecutor(program, clock)
    runner = TrainingRunner(
        store,
        executor,
        clock,
        str(tmp_path / "jobs"),
        service.definition_of,
        "us-east-1",
        "123456789012",
    )
    runner.adopt()
    for _ in range(100):
        runner.tick()
        if not runner.running:
            break
        executor.wait(5.0)
    assert not runner.running
    return store.get_training_job(job.name), executor, store, created


def training_document(name: str, **extra: Any) -> dict[str, Any]:
    document = make_definition(**extra)
    return {"TrainingJobName": name, "HyperParameters": {"epochs": "3"}, **document}


def test_the_training_runner_resumes_an_interrupted_spot_job(tmp_path: Path) -> None:
    document = training_document(
        "spot-1",
        EnableManagedSpotTraining=True,
        CheckpointConfig=CHECKPOINTS,
        StoppingCondition={"MaxRuntimeInSeconds": 60, "MaxWaitTimeInSeconds": 120},
    )
    program = by_attempt(INTERRUPTED_AFTER_EPOCH_1, RESUMED_AT_EPOCH_2)
    job, executor, store, created = run_standalone(tmp_path, document, program)
    try:
        assert job.status is TrainingJobStatus.COMPLETED
        assert [r.attempt for r in executor.launches] == [1, 2]
        assert [r.not_after for r in executor.launches] == [created + 120] * 2
        assert [r.runtime_used for r in executor.launches] == [0.0, 15.0]
        assert executor.launches[1].hyperparameters == {"epochs": "3"}
        assert statuses(job) == RESUMED
        assert [p.step for p in store.metric_points(job.name)] == [0, 1, 2]
        wire = describe(store, tmp_path, job.name)
        assert (wire["TrainingTimeInSeconds"], wire["BillableTimeInSeconds"]) == (36, 11)
    finally:
        store.close()


def test_the_training_runner_retries_internal_failures_only(tmp_path: Path) -> None:
    document = training_document("retry-1", RetryStrategy={"MaximumRetryAttempts": 1})
    job, executor, store, _ = run_standalone(tmp_path, document, by_attempt(INTERNAL))
    store.close()
    assert job.status is TrainingJobStatus.FAILED
    assert [r.attempt for r in executor.launches] == [1, 2]
    assert (job.attempt, retries_used(job)) == (2, 1)
    assert job.failure_reason == "InternalServerError: the instance was lost"

    document = training_document("retry-2", RetryStrategy={"MaximumRetryAttempts": 1})
    job, executor, store, _ = run_standalone(
        tmp_path / "other", document, by_attempt(ALGORITHM_ERROR, SUCCEEDS)
    )
    store.close()
    assert job.status is TrainingJobStatus.FAILED
    assert len(executor.launches) == 1
    assert job.failure_reason == "ValueError: bad depth"


def test_the_training_runner_ends_a_spot_job_at_max_wait_time(tmp_path: Path) -> None:
    document = training_document(
        "spot-2",
        EnableManagedSpotTraining=True,
        StoppingCondition={"MaxWaitTimeInSeconds": 25},
    )
    never_done = SimulatedRun(duration=31, interrupted_after=10)
    job, executor, store, created = run_standalone(tmp_path, document, by_attempt(never_done))
    store.close()
    assert job.status is TrainingJobStatus.STOPPED
    assert job.end_time == created + 25
    assert len(executor.launches) == 3
    assert job.secondary_status is S.MAX_WAIT_TIME_EXCEEDED
    assert (job.attempt, interruptions(job)) == (3, 2)


# -- attempts.py and billing.py on their own ---------------------------------------------------


def definition_of(document: dict[str, Any]):
    return parse_tuning_job(document).definition(None)


def fresh_job(at: float = 100.0) -> TrainingJob:
    return (
        TrainingJob("j", "t", 1, None, {}, at, last_modified_time=at)
        .transition(S.STARTING, at, "Launching the training job")
        .transition(S.TRAINING, at)
        .evolve(start_time=at, pid=42, pid_start_time=7)
    )


def test_next_attempt_resets_the_process_and_leaves_other_events_alone() -> None:
    spot = definition_of(spot_document({"MaxRuntimeInSeconds": 60, "MaxWaitTimeInSeconds": 90}))
    job = fresh_job()
    interrupted = Finished(
        "j", 110.0, TrainingJobStatus.FAILED, S.INTERRUPTED, None, "Interrupted: x", internal=True
    )
    retry = next_attempt(job, spot, interrupted)
    assert retry is not None
    assert (retry.attempt, retry.pid, retry.pid_start_time, retry.status) == (
        2,
        None,
        None,
        TrainingJobStatus.IN_PROGRESS,
    )
    assert retry.secondary_status is S.STARTING
    assert retry.transitions[-2].message == "Interrupted: x"
    # the program's own failure, a completion, a stop: the job ends
    failed = Finished("j", 110.0, TrainingJobStatus.FAILED, S.FAILED, 1, "boom")
    done = Finished("j", 110.0, TrainingJobStatus.COMPLETED, S.COMPLETED, 0)
    assert next_attempt(job, spot, failed) is None
    assert next_attempt(job, spot, done) is None
    # a job being stopped is not run again
    stopping = job.evolve(status=TrainingJobStatus.STOPPING)
    assert next_attempt(stopping, spot, interrupted) is None


def test_launch_limits() -> None:
    spot = definition_of(spot_document({"MaxRuntimeInSeconds": 60, "MaxWaitTimeInSeconds": 90}))
    on_demand = definition_of(make_document())
    retried = definition_of(make_document(RetryStrategy={"MaximumRetryAttempts": 2}))
    job = fresh_job(100.0).transition(S.INTERRUPTED, 130.0).transition(S.STARTING, 130.0)
    job = job.transition(S.STARTING, 150.0, "waiting for capacity")
    job = job.transition(S.DOWNLOADING, 160.0).transition(S.TRAINING, 170.0)
    job = job.transition(S.FAILED, 175.0)
    # only Training time counts against MaxRuntimeInSeconds (30 + 5 s): not the waits,
    # not the downloads
    assert launch_limits(job, spot) == (190.0, 35.0)
    assert launch_limits(job, retried) == (None, 35.0)
    assert launch_limits(job, on_demand) == (None, 0.0)


def test_billing_does_not_charge_for_waiting_for_spot_capacity() -> None:
    job = (
        fresh_job(0.0)
        .transition(S.INTERRUPTED, 100.0)
        .transition(S.STARTING, 100.0, "waiting for capacity")
        .transition(S.DOWNLOADING, 400.0)
        .transition(S.TRAINING, 410.0)
        .transition(S.UPLOADING, 590.0)
        .transition(S.COMPLETED, 600.0)
        .evolve(status=TrainingJobStatus.COMPLETED, end_time=600.0)
    )
    assert training_seconds(job) == 600
    assert capacity_seconds(job) == 300.0  # 100 s, then 10 + 180 + 10 s
    assert billable_seconds(job, spot=True) == 90
    assert billable_seconds(job, spot=False) == 600
    assert spot_savings(job, spot=True) == pytest.approx(0.85)
    assert spot_savings(job, spot=False) == 0.0
    running = job.evolve(status=TrainingJobStatus.IN_PROGRESS, end_time=None)
    assert training_seconds(running) is None and billable_seconds(running, True) is None
    assert spot_savings(running, spot=True) is None
