"""Each attempt of a training job gets a log stream stamped with its launch: attempts
told apart in the job's status history as the orchestrator writes it (RetryStrategy,
managed spot resumption, a restart after tunelab stopped)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from tests.api import jobs
from tunelab.domain.enums import SecondaryStatus as S
from tunelab.domain.enums import TrainingJobStatus
from tunelab.domain.training_request import parse_training_job_request
from tunelab.domain.trial import TrainingJob
from tunelab.execution.base import Finished
from tunelab.execution.clock import SystemClock
from tunelab.orchestrator.attempts import next_attempt
from tunelab.service.log_streams import TrainingLogs, attempt_launches
from tunelab.service.settings import Settings
from tunelab.service.training import TrainingService
from tunelab.service.tuning import TuningService
from tunelab.store.sql.store import SqlStore

DEFINITION = parse_training_job_request(jobs.training_job("j")).definition


def launched(at: float) -> TrainingJob:
    return (
        TrainingJob("j", None, 0, None, {}, at - 2, last_modified_time=at)
        .transition(S.STARTING, at - 2, "Launching the training job")
        .transition(S.DOWNLOADING, at - 1, "Downloading input data")
        .transition(S.TRAINING, at, "Training in progress.")
        .evolve(start_time=at, pid=42)
    )


def test_one_attempt_is_stamped_with_its_training_transition() -> None:
    assert attempt_launches(launched(100.0)) == [(100.0, True)]


def test_a_retried_attempt_starts_a_new_stream() -> None:
    retrying = dataclasses.replace(DEFINITION, retry_attempts=2)
    lost = Finished("j", 150.0, TrainingJobStatus.FAILED, S.FAILED, None, "lost", internal=True)
    again = next_attempt(launched(100.0), retrying, lost)
    assert again is not None and again.attempt == 2
    assert attempt_launches(again) == [(100.0, True), (150.0, False)]  # not launched yet
    running = again.transition(S.TRAINING, 160.0, "Training in progress.")
    third = next_attempt(running, retrying, dataclasses.replace(lost, time=170.0))
    assert third is not None
    third = third.transition(S.TRAINING, 175.0, "Training in progress.")
    assert attempt_launches(third) == [(100.0, True), (160.0, True), (175.0, True)]


def test_a_resumed_spot_attempt_starts_a_new_stream() -> None:
    spot = dataclasses.replace(DEFINITION, enable_managed_spot=True)
    reclaimed = Finished(
        "j", 120.0, TrainingJobStatus.FAILED, S.INTERRUPTED, None, "Interrupted", internal=True
    )
    resumed = next_attempt(launched(100.0), spot, reclaimed)
    assert resumed is not None
    resumed = resumed.transition(S.TRAINING, 130.0, "Training in progress.")
    assert attempt_launches(resumed) == [(100.0, True), (130.0, True)]


def test_a_restart_after_tunelab_stopped_starts_a_new_stream() -> None:
    restarted = (
        launched(100.0)
        .transition(S.INTERRUPTED, 200.0, "tunelab stopped while the job ran")
        .transition(S.RESTARTING, 200.0, "Restarting as attempt 2")
        .evolve(attempt=2)
        .transition(S.TRAINING, 210.0, "Training in progress.")
        .transition(S.TRAINING, 260.0, "promoted to the next rung")  # a later Training
    )
    assert attempt_launches(restarted) == [(100.0, True), (210.0, True)]


def test_a_running_attempt_has_no_stream_before_its_launch_is_recorded(tmp_path: Path) -> None:
    """The log file is created a moment before the launch is stored: the stream appears
    with the launch, under the name it keeps."""
    settings = Settings(home=tmp_path, database_url=f"sqlite:///{tmp_path / 'tunelab.db'}")
    store = SqlStore(settings.database_url)
    try:
        clock = SystemClock()
        training = TrainingService(store, clock, settings.s3_root, settings)
        found = TrainingLogs(TuningService(settings, store, clock), training)
        job = training.create(jobs.training_job("logs-launch"))
        log = settings.jobs_root / "_standalone" / "logs-launch" / "logs" / "attempt-1.log"
        log.parent.mkdir(parents=True)
        log.write_text("starting\n")
        assert found.streams(training.get("logs-launch")) == []
        with store.batch() as batch:
            batch.put_training_job(job.transition(S.TRAINING, 1_700_000_000.5, "Training"))
        [stream] = found.streams(training.get("logs-launch"))
        assert stream.name == "logs-launch/algo-1-1700000000"
        assert (stream.launched_ms, stream.ended, stream.path) == (
            1_700_000_000_500,
            False,
            str(log),
        )
        assert found.stream("logs-launch/algo-1-1700000000") == stream
        assert found.stream("logs-launch/algo-1-1700000001") is None
    finally:
        store.close()


def test_the_log_of_a_training_job_created_on_its_own_is_where_its_stream_reads_it(
    tmp_path: Path,
) -> None:
    """``TuningService.log_path`` (the CLI's pointer to a training job's log) used to raise
    TypeError for a ``CreateTrainingJob`` job; it names the file README documents, the
    one its log stream reads."""
    from tunelab.cli.backend import LocalBackend

    settings = Settings(home=tmp_path, database_url=f"sqlite:///{tmp_path / 'tunelab.db'}")
    store = SqlStore(settings.database_url)
    try:
        clock = SystemClock()
        training = TrainingService(store, clock, settings.s3_root, settings)
        tuning = TuningService(settings, store, clock)
        job = training.create(jobs.training_job("solo-log"))
        path = LocalBackend(tuning).log_path("solo-log")
        assert path == str(
            settings.jobs_root / "_standalone" / "solo-log" / "logs" / "attempt-1.log"
        )
        Path(path).parent.mkdir(parents=True)
        Path(path).write_text("epoch 1\n")
        with store.batch() as batch:
            batch.put_training_job(job.transition(S.TRAINING, 1_700_000_000.0, "Training"))
        [stream] = TrainingLogs(tuning, training).streams(training.get("solo-log"))
        assert stream.path == path
    finally:
        store.close()
