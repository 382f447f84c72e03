"""Processes a crashed driver left running are ended without holding anything up: a
leftover process that ignores SIGTERM takes the whole grace period to end, while the
other jobs are rerun at once; a job is never rerun before its leftover process is gone,
and the tuning job does not end before every one is. Real processes, real executor."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.factories import make_document
from tests.orchestrator.conftest import Harness
from tests.orchestrator.test_training_leases import NAME, Shared
from tunelab.domain.enums import TrainingJobStatus, TuningJobStatus
from tunelab.domain.instance_types import GIB
from tunelab.execution.contract import training_job_dir
from tunelab.execution.job_dir import attempt_started
from tunelab.execution.job_processes import MARKER_VARIABLE, job_marker
from tunelab.execution.ledger import Ledger
from tunelab.execution.local import LocalExecutor
from tunelab.execution.processes import process_start_time
from tunelab.execution.resources import Machine, Overcommit
from tunelab.orchestrator.loop import LoopSettings, TuningLoop
from tunelab.orchestrator.training_runner import TrainingRunner
from tunelab.store.base import TrainingJobQuery, iterate_training_jobs

GRACE = 2.0
"""Seconds between SIGTERM and SIGKILL."""
CPUS = tuple(sorted(os.sched_getaffinity(0)))[:2]


def leftover(ignores_sigterm: bool) -> subprocess.Popen[bytes]:
    """A training process of a driver that was killed: its own process group."""
    code = "import signal, time\n"
    if ignores_sigterm:
        code += "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    code += "print('ready', flush=True)\ntime.sleep(120)\n"
    process = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, start_new_session=True
    )
    assert process.stdout is not None and process.stdout.readline() == b"ready\n"
    return process


@pytest.fixture
def leftovers() -> Iterator[dict[str, subprocess.Popen[bytes]]]:
    made: dict[str, subprocess.Popen[bytes]] = {}
    yield made
    for process in made.values():
        if process.poll() is None:
            process.kill()
            process.wait()


def crashed_with(
    harness: Harness, tmp_path: Path, leftovers: dict[str, subprocess.Popen[bytes]]
) -> list[str]:
    """job-1 (2 training jobs, both running) as a killed driver left it: the first
    job's process ignores SIGTERM, the second's does not. Returns their names."""
    program = tmp_path / "train.py"
    program.write_text("print('validation:accuracy=0.8')\n")
    harness.create(make_document(max_jobs=2, parallel=2, image=f"file://{program}"))
    crashed = harness.loop("job-1", harness.executor())
    crashed.start()
    crashed.tick()  # two jobs launched
    crashed.tick()  # their process ids committed
    crashed.lease.release()
    names = sorted(crashed.live)
    with harness.store.batch() as batch:
        for name, stubborn in zip(names, (True, False), strict=True):
            process = leftovers[name] = leftover(stubborn)
            job = harness.store.get_training_job(name)
            start = process_start_time(process.pid)
            batch.put_training_job(job.evolve(pid=process.pid, pid_start_time=start))
    return names


def restarted(harness: Harness, tmp_path: Path) -> TuningLoop:
    ledger = Ledger(Machine(CPUS, 64 * GIB), Overcommit())
    executor = LocalExecutor(harness.clock, stop_grace_seconds=GRACE, ledger=ledger)
    settings = LoopSettings(str(tmp_path / "jobs"), poll_interval=0.05)
    return TuningLoop(harness.store, executor, harness.clock, "job-1", settings)


def test_a_leftover_that_ignores_sigterm_holds_up_only_its_own_job(
    harness: Harness, tmp_path: Path, leftovers: dict[str, subprocess.Popen[bytes]]
) -> None:
    stubborn, cooperative = crashed_with(harness, tmp_path, leftovers)
    loop = restarted(harness, tmp_path)
    began = time.monotonic()
    loop.start()
    assert time.monotonic() - began < 1.0  # no wait for the grace period
    waiting = harness.store.get_training_job(stubborn)
    # until it is gone, the leftover stays recorded: a crash meanwhile ends it again
    assert (waiting.attempt, waiting.pid) == (2, leftovers[stubborn].pid)
    rerun_at: dict[str, float] = {}
    while not loop.tick():
        for name in (stubborn, cooperative):
            job_dir = training_job_dir(str(tmp_path / "jobs"), "job-1", name)
            if name not in rerun_at and attempt_started(job_dir, 2):  # its log: it started
                rerun_at[name] = time.monotonic() - began
                assert leftovers[name].poll() is not None, f"{name} rerun too early"
                if name == cooperative:
                    assert leftovers[stubborn].poll() is None  # still in its grace period
        assert time.monotonic() - began < 30
        loop.executor.wait(0.05)
    loop.lease.release()
    loop.executor.close()
    assert rerun_at[cooperative] < GRACE <= rerun_at[stubborn]
    assert leftovers[stubborn].returncode == -9  # SIGKILLed after the grace period
    jobs = list(iterate_training_jobs(harness.store, TrainingJobQuery("job-1")))
    assert [(j.status, j.attempt, j.final_objective_value) for j in jobs] == [
        (TrainingJobStatus.COMPLETED, 2, 0.8)
    ] * 2
    assert harness.store.get_tuning_job("job-1").status is TuningJobStatus.COMPLETED


def test_a_stopped_job_does_not_end_before_its_leftovers(
    harness: Harness, tmp_path: Path, leftovers: dict[str, subprocess.Popen[bytes]]
) -> None:
    stubborn, _ = crashed_with(harness, tmp_path, leftovers)
    job = harness.store.get_tuning_job("job-1")
    with harness.store.batch() as batch:
        batch.put_tuning_job(job.evolve(status=TuningJobStatus.STOPPING))
    loop = restarted(harness, tmp_path)
    began = time.monotonic()
    loop.start()
    assert time.monotonic() - began < 1.0
    waiting = harness.store.get_training_job(stubborn)
    assert (waiting.status, waiting.pid) == (
        TrainingJobStatus.IN_PROGRESS,
        leftovers[stubborn].pid,
    )
    ends = 0
    while not loop.tick():
        if harness.store.get_training_job(stubborn).status is TrainingJobStatus.STOPPED:
            assert leftovers[stubborn].poll() == -9  # Stopped once its process is gone
        ends += 1
        assert time.monotonic() - began < 30
        loop.executor.wait(0.05)
    assert ends > 0 and leftovers[stubborn].poll() == -9
    loop.lease.release()
    loop.executor.close()
    final = harness.store.get_tuning_job("job-1")
    assert final.status is TuningJobStatus.STOPPED
    jobs = list(iterate_training_jobs(harness.store, TrainingJobQuery("job-1")))
    assert {j.status for j in jobs} == {TrainingJobStatus.STOPPED}


def crashed_between_commit_and_pid(harness: Harness, tmp_path: Path) -> tuple[str, str]:
    """job-1 (one training job) as a driver killed right after the tick that committed and
    launched its training job left it: the job's pid not recorded. Its name and folder."""
    program = tmp_path / "train.py"
    program.write_text("print('validation:accuracy=0.8')\n")
    harness.create(make_document(max_jobs=1, parallel=1, image=f"file://{program}"))
    crashed = harness.loop("job-1", harness.executor())
    crashed.start()
    crashed.tick()  # the job's attempt committed, then launched; its pid is not recorded
    crashed.lease.release()
    [name] = crashed.live
    assert harness.store.get_training_job(name).pid is None
    return name, training_job_dir(str(tmp_path / "jobs"), "job-1", name)


def test_a_process_started_just_before_the_crash_is_found_and_ended_before_the_rerun(
    harness: Harness, tmp_path: Path, leftovers: dict[str, subprocess.Popen[bytes]]
) -> None:
    """The driver commits a job's attempt, starts its process and records the pid at the
    next tick: killed in between, it leaves a process no record names. The next driver
    finds it by its attempt's marker, ends it, and runs the job again as attempt 2
    (instead of a second copy of attempt 1 next to the first)."""
    name, job_dir = crashed_between_commit_and_pid(harness, tmp_path)
    marked = dict(os.environ, **{MARKER_VARIABLE: job_marker(job_dir, 1)})
    code = "import time\nprint('ready', flush=True)\ntime.sleep(120)\n"
    process = leftovers[name] = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, env=marked, start_new_session=True
    )
    assert process.stdout is not None and process.stdout.readline() == b"ready\n"
    loop = restarted(harness, tmp_path)
    loop.start()
    began = time.monotonic()
    while not loop.tick():
        if attempt_started(job_dir, 2):  # its log: the rerun started
            assert process.poll() is not None, "rerun next to the leftover"
        assert time.monotonic() - began < 30
        loop.executor.wait(0.05)
    loop.lease.release()
    loop.executor.close()
    assert process.poll() == -signal.SIGTERM
    job = harness.store.get_training_job(name)
    assert (job.status, job.attempt) == (TrainingJobStatus.COMPLETED, 2)


def test_a_standalone_job_started_just_before_the_crash_is_not_run_twice_at_once(
    tmp_path: Path, leftovers: dict[str, subprocess.Popen[bytes]]
) -> None:
    """The same for a training job created on its own (CreateTrainingJob)."""
    shared = Shared(tmp_path)
    job_dir = training_job_dir(str(tmp_path / "jobs"), None, NAME)
    marked = dict(os.environ, **{MARKER_VARIABLE: job_marker(job_dir, 1)})
    code = "import time\nprint('ready', flush=True)\ntime.sleep(120)\n"
    process = leftovers[NAME] = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, env=marked, start_new_session=True
    )
    assert process.stdout is not None and process.stdout.readline() == b"ready\n"
    ledger = Ledger(Machine(CPUS, 64 * GIB), Overcommit())
    executor = LocalExecutor(shared.clock, stop_grace_seconds=GRACE, ledger=ledger)
    runner = TrainingRunner(
        shared.store,
        executor,
        shared.clock,
        str(tmp_path / "jobs"),
        shared.service.definition_of,
        "us-east-1",
        "123456789012",
    )
    try:
        runner.adopt()
        assert process.poll() == -signal.SIGTERM  # ended before the job runs again
        assert shared.job().attempt == 2
    finally:
        runner.release_leases()
        executor.close()
        shared.store.close()


def test_a_program_that_ended_while_no_driver_watched_counts_as_started(
    harness: Harness, tmp_path: Path
) -> None:
    """Its attempt was committed and its program ran to its end between two ticks of a
    driver killed meanwhile: nothing recorded its pid or its end, but its log is there.
    The job runs again as attempt 2 (its status history says why), not as a second,
    silent attempt 1 over the first one's log."""
    name, job_dir = crashed_between_commit_and_pid(harness, tmp_path)
    log = Path(job_dir) / "logs"
    log.mkdir(parents=True)
    (log / "attempt-1.log").write_text("validation:accuracy=0.7\n")
    loop = restarted(harness, tmp_path)
    loop.start()
    while not loop.tick():
        loop.executor.wait(0.05)
    loop.lease.release()
    loop.executor.close()
    job = harness.store.get_training_job(name)
    assert (job.status, job.attempt) == (TrainingJobStatus.COMPLETED, 2)
    assert "Restarting as attempt 2" in [t.message for t in job.transitions]
    assert (log / "attempt-1.log").read_text() == "validation:accuracy=0.7\n"
