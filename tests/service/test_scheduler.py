"""The scheduler's log when a tuning loop it drives ends by raising: a loop another
process took over (its lease ran out, e.g. the server stalled) is a normal hand-over,
told in one warning line; any other failure keeps its traceback. And its sleep between
ticks, which a training process's exit ends."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.factories import make_document
from tests.orchestrator.conftest import Harness
from tunelab.domain.enums import TuningJobStatus
from tunelab.execution.base import LaunchRequest
from tunelab.execution.clock import FakeClock, SystemClock
from tunelab.execution.local import LocalExecutor
from tunelab.execution.simulated import Program, SimulatedExecutor, SimulatedRun
from tunelab.service.scheduler import Scheduler
from tunelab.service.settings import Settings
from tunelab.service.training import TrainingService
from tunelab.store.sql.store import SqlStore

OTHER_HOST = "another-host:4242:1"
"""A process of another machine (a second server): alive as far as this one can tell."""


def succeeding(request: LaunchRequest) -> SimulatedRun:
    return SimulatedRun(lines=((5.0, "validation:accuracy=0.9"),), duration=6.0)


def broken(request: LaunchRequest) -> SimulatedRun:
    raise RuntimeError("the executor could not launch the job")


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    store = SqlStore(f"sqlite:///{tmp_path / 'tunelab.db'}")
    yield Harness(store, FakeClock(), tmp_path)
    store.close()


def scheduler_of(harness: Harness, program: Program) -> Scheduler:
    """A scheduler on the harness's store and clock whose jobs run ``program``."""
    settings = Settings(home=harness.root, database_url="unused: the store is given")
    clock = harness.clock
    training = TrainingService(harness.store, clock, settings=settings)
    return Scheduler(
        settings,
        harness.store,
        clock,
        training.definition_of,
        executor_factory=lambda: SimulatedExecutor(program, clock),
    )


def scheduler_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "tunelab.scheduler"]


def test_a_loop_taken_over_by_another_process_is_dropped_with_one_line(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    harness.create(make_document(max_jobs=2, parallel=1))
    scheduler = scheduler_of(harness, succeeding)
    scheduler._adopt()
    scheduler._tick_all()  # training job 001 launched
    assert "job-1" in scheduler.loops
    # the server stalls past its lease (30 s); a second server takes the job over
    harness.clock.advance_to(harness.clock.now() + 31)
    other = harness.loop("job-1", harness.executor(succeeding))
    other.lease.owner = OTHER_HOST
    other.start()
    with caplog.at_level(logging.INFO, logger="tunelab.scheduler"):
        scheduler._tick_all()
    other.lease.release()
    assert "job-1" not in scheduler.loops
    [line] = scheduler_lines(caplog)
    assert line.levelno == logging.WARNING
    assert line.getMessage().startswith("another process took over tuning job 'job-1'")
    assert line.exc_info is None and "Traceback" not in caplog.text


def test_a_loop_that_fails_otherwise_is_logged_with_its_traceback(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    harness.create(make_document(max_jobs=2, parallel=1))
    scheduler = scheduler_of(harness, broken)
    scheduler._adopt()
    with caplog.at_level(logging.INFO, logger="tunelab.scheduler"):
        scheduler._tick_all()  # launching training job 001 raises
    assert "job-1" not in scheduler.loops  # dropped: a later scan adopts it again
    [line] = scheduler_lines(caplog)
    assert line.levelno == logging.ERROR
    assert line.getMessage() == "tuning job job-1: the loop failed; it will be adopted again"
    assert line.exc_info is not None and line.exc_info[0] is RuntimeError
    assert "Traceback" in caplog.text and "the executor could not launch the job" in caplog.text


def test_a_freed_slot_is_filled_when_its_process_exits_not_at_the_next_tick(
    tmp_path: Path,
) -> None:
    """The scheduler sleeps between ticks on every executor's wait handle: a training
    process that exits wakes it, so one tuning job's jobs follow each other at once
    (ticks 60 s apart here: without the wake, the second job would start a minute later)."""
    program = tmp_path / "train.py"
    program.write_text("print('validation:accuracy=0.8')\n")
    store = SqlStore(f"sqlite:///{tmp_path / 'tunelab.db'}")
    harness = Harness(store, SystemClock(), tmp_path)
    harness.create(make_document(max_jobs=4, parallel=1, image=f"file://{program}"))
    settings = Settings(home=tmp_path, database_url="unused: the store is given")
    training = TrainingService(store, harness.clock, settings=settings)
    scheduler = Scheduler(
        settings,
        store,
        harness.clock,
        training.definition_of,
        tick_interval=60.0,
        executor_factory=lambda: LocalExecutor(stop_grace_seconds=1.0),
    )
    scheduler.start()
    try:
        deadline = time.monotonic() + 30
        while store.get_tuning_job("job-1").status is TuningJobStatus.IN_PROGRESS:
            assert time.monotonic() < deadline, "the freed slots waited for the next tick"
            time.sleep(0.05)
    finally:
        scheduler.shutdown()
        store.close()
    assert store.get_tuning_job("job-1").status is TuningJobStatus.COMPLETED


def test_wind_down_ends_the_thread_after_its_tick_without_waiting_for_it(
    harness: Harness,
) -> None:
    """What SIGTERM of ``serve`` calls at once (before uvicorn lets requests finish):
    the thread ends by itself and releases its leases; a job created afterwards is
    not adopted."""
    harness.create(make_document(max_jobs=4, parallel=1))
    scheduler = scheduler_of(harness, succeeding)
    scheduler.start()
    deadline = time.monotonic() + 10
    while "job-1" not in scheduler.loops:
        assert time.monotonic() < deadline, "the scheduler did not adopt job-1"
        time.sleep(0.01)
    scheduler.wind_down()
    assert scheduler._thread is not None
    scheduler._thread.join(10)
    assert not scheduler._thread.is_alive()
    assert scheduler.loops == {}
    assert harness.store.get_lease("job-1") is None
    harness.create(make_document(name="job-2", max_jobs=1, parallel=1))
    scheduler.notify()
    time.sleep(0.2)
    assert scheduler.loops == {}
