"""LocalExecutor with real subprocesses: outcomes, logs, stops, limits, wake-ups."""

from __future__ import annotations

import dataclasses
import os
import signal
import statistics
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.execution.conftest import CPUS, shut_down
from tunelab.domain.definition import DataChannel, StoppingCondition
from tunelab.domain.enums import SecondaryStatus, TrainingInputMode, TrainingJobStatus
from tunelab.domain.instance_types import GIB
from tunelab.execution.base import ExecutorEvent, Finished, OutputLines, StatusChanged
from tunelab.execution.ledger import Ledger
from tunelab.execution.local import LocalExecutor
from tunelab.execution.local_finish import READ_PER_POLL
from tunelab.execution.processes import process_start_time, terminate_orphan
from tunelab.execution.resources import Machine, Overcommit

from .test_contract import PROGRAMS, collect, lines_of, make_definition, make_request

BEHAVE = (PROGRAMS / "behave.py").as_uri()


@pytest.fixture
def executor() -> Iterator[LocalExecutor]:
    ex = LocalExecutor(stop_grace_seconds=0.5)
    yield ex
    shut_down(ex)


def launch(
    executor: LocalExecutor,
    tmp_path: Path,
    hps: dict[str, str],
    name: str = "job",
    **changes: object,
) -> str:
    changes.setdefault("output_path", str(tmp_path / "out"))
    executor.submit(make_request(tmp_path / name, make_definition(BEHAVE, **changes), hps))
    return name


def finished(events: list[ExecutorEvent]) -> Finished:
    assert isinstance(events[-1], Finished), events
    return events[-1]


def test_exit_0_completes_and_packages_the_model(executor: LocalExecutor, tmp_path: Path) -> None:
    launch(executor, tmp_path, {"model": "weights", "output_data": "eval"})
    events = collect(executor)
    kinds = [(type(e).__name__, getattr(e, "secondary", None)) for e in events]
    assert kinds[0] == ("StatusChanged", SecondaryStatus.TRAINING)
    assert kinds[-2:] == [
        ("StatusChanged", SecondaryStatus.UPLOADING),
        ("Finished", SecondaryStatus.COMPLETED),
    ]
    training = events[0]
    assert isinstance(training, StatusChanged)
    assert training.pid is not None and training.pid_start_time is not None
    done = finished(events)
    assert done.status is TrainingJobStatus.COMPLETED
    assert done.exit_code == 0 and done.failure_reason is None
    model = tmp_path / "out" / "job" / "output" / "model.tar.gz"
    assert done.model_artifacts == model.as_uri()
    with tarfile.open(model) as tar:
        assert tar.extractfile("model.txt").read() == b"weights"  # type: ignore[union-attr]
    with tarfile.open(model.with_name("output.tar.gz")) as tar:
        assert tar.extractfile("out.txt").read() == b"eval"  # type: ignore[union-attr]
    assert executor.running() == 0


def test_s3_output_skips_packaging(executor: LocalExecutor, tmp_path: Path) -> None:
    launch(executor, tmp_path, {}, output_path="s3://bucket/out")
    events = collect(executor)
    done = finished(events)
    assert done.status is TrainingJobStatus.COMPLETED and done.model_artifacts is None
    assert SecondaryStatus.UPLOADING not in [getattr(e, "secondary", None) for e in events]


def test_failure_file_is_the_reason(executor: LocalExecutor, tmp_path: Path) -> None:
    launch(executor, tmp_path, {"failure": "x" * 2000, "exit": "3"})
    done = finished(collect(executor))
    assert done.status is TrainingJobStatus.FAILED
    assert done.secondary is SecondaryStatus.FAILED
    assert done.exit_code == 3
    assert done.failure_reason == "x" * 1024
    assert done.model_artifacts is None


def test_exit_1_reason_has_the_log_tail(executor: LocalExecutor, tmp_path: Path) -> None:
    launch(executor, tmp_path, {"lines": "300", "exit": "1"})
    events = collect(executor)
    done = finished(events)
    assert done.status is TrainingJobStatus.FAILED and done.exit_code == 1
    reason = done.failure_reason or ""
    assert reason.startswith("AlgorithmError: program exited with code 1; last log lines: ")
    assert reason.endswith("step=299 loss=0.0033;")
    assert len(reason) <= 1024
    assert len(lines_of(events)) == 300


def test_killed_by_a_signal_is_a_failure(executor: LocalExecutor, tmp_path: Path) -> None:
    launch(executor, tmp_path, {"kill_self": "1"})
    done = finished(collect(executor))
    assert done.status is TrainingJobStatus.FAILED
    assert done.exit_code == 128 + signal.SIGKILL
    assert done.failure_reason == "AlgorithmError: program terminated by signal SIGKILL"


def test_stdout_and_stderr_in_order(executor: LocalExecutor, tmp_path: Path) -> None:
    launch(executor, tmp_path, {"interleave": "50"})
    events = collect(executor)
    expected = [line for i in range(50) for line in (f"out-{i}", f"err-{i}")]
    assert lines_of(events) == expected
    log = (tmp_path / "job" / "logs" / "attempt-1.log").read_text()
    assert log.splitlines() == expected


def test_partial_last_line_is_delivered(executor: LocalExecutor, tmp_path: Path) -> None:
    launch(executor, tmp_path, {"lines": "1", "partial": "final accuracy=0.93 ünïcode"})
    events = collect(executor)
    assert lines_of(events) == ["step=0 loss=1.0000;", "final accuracy=0.93 ünïcode"]


def test_metric_lines_arrive_in_order_over_several_polls(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    launch(executor, tmp_path, {"lines": "6", "interval": "0.15"})
    events: list[ExecutorEvent] = []
    while not events or not isinstance(events[-1], Finished):
        executor.wait(0.1)
        events.extend(executor.poll())
    batches = [e for e in events if isinstance(e, OutputLines)]
    assert len(batches) >= 2
    assert lines_of(events) == [f"step={i} loss={1.0 / (i + 1):.4f};" for i in range(6)]


def test_max_runtime_stops_the_job(executor: LocalExecutor, tmp_path: Path) -> None:
    started = time.monotonic()
    launch(executor, tmp_path, {"sleep": "30"}, stopping=StoppingCondition(max_runtime_seconds=1))
    done = finished(collect(executor))
    assert time.monotonic() - started < 5
    assert done.status is TrainingJobStatus.STOPPED
    assert done.secondary is SecondaryStatus.MAX_RUNTIME_EXCEEDED
    assert done.failure_reason == (
        "MaxRuntimeExceeded: training job ran longer than MaxRuntimeInSeconds (1 s)"
    )


def test_stop_sigterm_then_sigkill(executor: LocalExecutor, tmp_path: Path) -> None:
    launch(executor, tmp_path, {"on_term": "ignore", "ready": "1", "sleep": "30"})
    assert "ready" in lines_of(collect(executor, until="ready"))
    stopped_at = time.monotonic()
    executor.stop("job")
    done = finished(collect(executor))
    assert 0.4 < time.monotonic() - stopped_at < 5
    assert done.status is TrainingJobStatus.STOPPED
    assert done.secondary is SecondaryStatus.STOPPED
    assert done.exit_code == 128 + signal.SIGKILL
    assert done.failure_reason is None


@pytest.mark.parametrize("on_term", ["default", "exit0"])
def test_stop_is_stopped_however_the_program_exits(
    executor: LocalExecutor, tmp_path: Path, on_term: str
) -> None:
    launch(executor, tmp_path, {"on_term": on_term, "ready": "1", "sleep": "30", "model": "m"})
    collect(executor, until="ready")
    executor.stop("job")
    executor.stop("job")  # repeated stops are harmless
    executor.stop("no-such-job")
    done = finished(collect(executor))
    assert (done.status, done.secondary) == (TrainingJobStatus.STOPPED, SecondaryStatus.STOPPED)
    assert done.model_artifacts is not None  # SageMaker keeps what a stopped job saved


@pytest.mark.parametrize(
    ("image", "reason"),
    [
        ("123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1", "no container engine answers here"),
        ("file:///no/such/program", "program /no/such/program does not exist"),
        ("NONEXEC", "is not executable"),
    ],
)
def test_bad_images_fail_the_launch(
    executor: LocalExecutor, tmp_path: Path, image: str, reason: str
) -> None:
    if image == "NONEXEC":
        path = tmp_path / "program"
        path.write_text("#!/bin/sh\n")
        image = path.as_uri()
    executor.submit(make_request(tmp_path / "job", make_definition(image)))
    assert executor.running() == 1
    done = finished(executor.poll())
    assert done.status is TrainingJobStatus.FAILED
    assert reason in (done.failure_reason or "")
    assert executor.running() == 0


def test_executable_image_gets_train_argument(executor: LocalExecutor, tmp_path: Path) -> None:
    program = tmp_path / "algo"
    program.write_text('#!/bin/sh\necho "argv: $1 job: $TRAINING_JOB_NAME"\n')
    program.chmod(0o755)
    executor.submit(make_request(tmp_path / "job", make_definition(program.as_uri())))
    events = collect(executor)
    assert lines_of(events) == ["argv: train job: job"]
    assert finished(events).status is TrainingJobStatus.COMPLETED


def test_attempts_get_separate_logs(executor: LocalExecutor, tmp_path: Path) -> None:
    definition = make_definition(BEHAVE)
    for attempt in (1, 2):
        request = make_request(tmp_path / "job", definition, {"lines": str(attempt)})
        executor.submit(dataclasses.replace(request, attempt=attempt))
        collect(executor)
    logs = tmp_path / "job" / "logs"
    assert (logs / "attempt-1.log").read_text().count("\n") == 1
    assert (logs / "attempt-2.log").read_text().count("\n") == 2


def test_duplicate_submit_is_refused(executor: LocalExecutor, tmp_path: Path) -> None:
    launch(executor, tmp_path, {"sleep": "5"})
    with pytest.raises(ValueError, match="already running"):
        launch(executor, tmp_path, {})
    executor.stop("job")
    collect(executor)


def test_wait_wakes_up_when_a_child_exits(executor: LocalExecutor, tmp_path: Path) -> None:
    launch(executor, tmp_path, {"sleep": "0.5"})
    assert [type(e) for e in executor.poll()] == [StatusChanged]  # Training
    started = time.monotonic()
    executor.wait(10.0)  # wakes when the program exits
    woke = time.monotonic() - started
    assert woke < 2.0  # nowhere near the 10 s timeout
    assert finished(collect(executor)).status is TrainingJobStatus.COMPLETED


def test_a_start_alone_does_not_cut_a_wait_short(executor: LocalExecutor, tmp_path: Path) -> None:
    """A job that started (Training, its pid) is told at the caller's next poll: a tuning
    loop would otherwise spend a round and a commit on each start."""
    launch(executor, tmp_path, {"sleep": "5"})
    started = time.monotonic()
    executor.wait(0.3)
    assert time.monotonic() - started >= 0.25
    events = executor.poll()
    assert [(type(e), getattr(e, "secondary", None)) for e in events] == [
        (StatusChanged, SecondaryStatus.TRAINING)
    ]
    executor.stop("job")
    assert finished(collect(executor)).status is TrainingJobStatus.STOPPED


def test_wait_falls_back_to_sleeping_without_pidfds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delattr(os, "pidfd_open")
    executor = LocalExecutor(poll_interval=0.05, stop_grace_seconds=0.5)
    launch(executor, tmp_path, {"lines": "3", "sleep": "0.2"})
    executor.poll()
    started = time.monotonic()
    executor.wait(10.0)
    assert time.monotonic() - started < 2.0
    events = collect(executor)
    assert finished(events).status is TrainingJobStatus.COMPLETED
    assert len(lines_of(events)) == 3
    launch(executor, tmp_path, {"sleep": "30"}, name="long")
    executor.poll()
    executor.stop("long")
    assert finished(collect(executor)).status is TrainingJobStatus.STOPPED
    executor.close()


def test_wait_without_jobs_honours_the_timeout() -> None:
    executor = LocalExecutor()
    started = time.monotonic()
    executor.wait(0.1)
    assert 0.08 < time.monotonic() - started < 1.0
    executor.close()


def test_leftover_children_are_killed_when_the_job_exits(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    program = tmp_path / "spawner"
    program.write_text('#!/bin/sh\nsleep 30 &\necho "child $!"\n')
    program.chmod(0o755)
    executor.submit(make_request(tmp_path / "job", make_definition(program.as_uri())))
    events = collect(executor)
    assert finished(events).status is TrainingJobStatus.COMPLETED
    child = int(lines_of(events)[0].split()[1])
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not _alive(child)


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return False
    return not stat[stat.rindex(b")") + 2 :].startswith(b"Z")


def test_many_jobs_in_parallel_and_submit_overhead(tmp_path: Path) -> None:
    executor = LocalExecutor()
    definition = make_definition(BEHAVE, output_path=str(tmp_path / "out"))
    submit_times: list[float] = []
    pending = [f"job-{i}" for i in range(30)]
    results: dict[str, Finished] = {}
    while len(results) < 30:
        while pending and executor.running() < 10:
            name = pending.pop(0)
            started = time.perf_counter()
            executor.submit(make_request(tmp_path / name, definition, {"lines": "2"}))
            submit_times.append(time.perf_counter() - started)
        executor.wait(5.0)
        for event in executor.poll():
            if isinstance(event, Finished):
                results[event.name] = event
    executor.close()
    assert {e.status for e in results.values()} == {TrainingJobStatus.COMPLETED}
    assert statistics.median(submit_times) < 0.1  # target is far lower; see the report


def test_process_start_time() -> None:
    assert isinstance(process_start_time(os.getpid()), int)
    assert process_start_time(2**22 + 12345) is None


def _detached(code: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", code], start_new_session=True, stdout=subprocess.PIPE
    )


def test_terminate_orphan_checks_the_start_time() -> None:
    proc = _detached("import time; print('up', flush=True); time.sleep(30)")
    assert proc.stdout is not None and proc.stdout.readline() == b"up\n"
    start = process_start_time(proc.pid)
    assert start is not None
    assert terminate_orphan(proc.pid, start + 1, grace=0.5) is False
    assert proc.poll() is None
    assert terminate_orphan(proc.pid, start, grace=5.0) is True
    assert proc.wait(timeout=5) == -signal.SIGTERM


def test_terminate_orphan_kills_after_grace() -> None:
    code = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('up', flush=True); time.sleep(30)"
    )
    proc = _detached(code)
    assert proc.stdout is not None and proc.stdout.readline() == b"up\n"
    started = time.monotonic()
    executor = LocalExecutor(stop_grace_seconds=0.3)  # the Executor protocol's method
    assert executor.terminate_orphans([(proc.pid, process_start_time(proc.pid))]) == 1
    assert proc.wait(timeout=5) == -signal.SIGKILL
    assert 0.25 < time.monotonic() - started < 5
    assert terminate_orphan(proc.pid, None, grace=0.3) is False


def test_a_hyperparameter_no_variable_can_name_still_runs(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    launch(executor, tmp_path, {"_a=b": "1", "nul": "x\0y", "model": "m"})
    done = finished(collect(executor))
    assert done.status is TrainingJobStatus.COMPLETED, done.failure_reason


@pytest.mark.parametrize("step", ["prepare_host", "start_host"])
def test_any_failure_to_start_fails_the_job_not_the_caller(
    executor: LocalExecutor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError("illegal environment variable name")

    monkeypatch.setattr(f"tunelab.execution.local_launch.{step}", broken)
    launch(executor, tmp_path, {})
    done = finished(collect(executor))
    assert done.status is TrainingJobStatus.FAILED
    assert done.failure_reason == (
        "could not start the training job: ValueError: illegal environment variable name"
    )
    assert executor.running() == 0


def test_a_failure_to_write_the_artifacts_fails_the_job(
    executor: LocalExecutor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unusable_key(*args: object, **kwargs: object) -> None:
        raise RuntimeError("cannot decrypt a stored secret with the master key")

    monkeypatch.setattr("tunelab.execution.local_finish.package_outputs", unusable_key)
    launch(executor, tmp_path, {"model": "m"})
    done = finished(collect(executor))
    assert done.status is TrainingJobStatus.FAILED
    assert done.failure_reason == (
        f"could not write the model artifacts to {tmp_path / 'out'}: cannot decrypt a stored "
        "secret with the master key"
    )


def _with_a_channel(tmp_path: Path) -> dict[str, object]:
    """A definition change that makes a job start in a worker thread (it stages data)."""
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "data" / "train.csv").write_text("1,2\n")
    return {"channels": (DataChannel("train", (tmp_path / "data").as_uri()),)}


def test_a_job_stopped_while_it_starts_ends_stopped(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    launch(executor, tmp_path, {"ready": "1", "sleep": "30"}, **_with_a_channel(tmp_path))
    assert "job" in executor._starts  # staging its data in a worker thread (job_work.py)
    executor.stop("job")
    started = time.monotonic()
    done = finished(collect(executor))
    assert (done.status, done.secondary) == (TrainingJobStatus.STOPPED, SecondaryStatus.STOPPED)
    assert time.monotonic() - started < 10  # not the program's 30 s


def test_a_launch_in_a_worker_wakes_a_waiting_executor(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    launch(executor, tmp_path, {"sleep": "0"}, **_with_a_channel(tmp_path))
    assert "job" in executor._starts
    started = time.monotonic()
    executor.wait(30)  # ends when the launch reports, not after 30 s
    assert time.monotonic() - started < 10
    assert StatusChanged in {type(e) for e in executor.poll()}
    assert finished(collect(executor)).status is TrainingJobStatus.COMPLETED


def test_a_quick_job_starts_and_finishes_in_the_callers_thread(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    launch(executor, tmp_path, {"model": "weights"})
    assert "job" not in executor._starts and "job" in executor._jobs
    events = collect(executor)
    assert finished(events).status is TrainingJobStatus.COMPLETED
    assert len(executor._finishes) == 0


def test_a_quick_job_ends_in_the_poll_that_sees_its_exit(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    """Its last lines and its end come from one poll, in that order: the caller learns that
    the slot is free without another round (a tuning loop's tick and commit)."""
    launch(executor, tmp_path, {"sleep": "0.3", "partial": "done"})  # its only output
    assert [type(e) for e in executor.poll()] == [StatusChanged]  # Training
    executor.wait(10.0)  # wakes when the program exits
    events = executor.poll()
    assert [type(e) for e in events] == [OutputLines, StatusChanged, Finished]  # Uploading
    assert lines_of(events) == ["done"]
    assert finished(events).status is TrainingJobStatus.COMPLETED
    assert executor.running() == 0


def test_a_large_model_is_packed_in_a_worker(executor: LocalExecutor, tmp_path: Path) -> None:
    launch(executor, tmp_path, {"model_bytes": str(5 << 20)})  # 5 MiB: may take long to pack
    events: list[ExecutorEvent] = []
    while "job" not in executor._finishes:
        executor.wait(10)
        events += executor.poll()
        assert not any(isinstance(e, Finished) for e in events)
    done = finished(events + collect(executor))
    assert done.status is TrainingJobStatus.COMPLETED and done.model_artifacts


def test_a_burst_of_output_is_handed_on_in_pieces(executor: LocalExecutor, tmp_path: Path) -> None:
    count = 90_000  # over 2 MiB of lines, all in the log before the first poll
    launch(executor, tmp_path, {"burst": str(count)})
    while "job" not in executor._jobs or not executor._jobs["job"].hosts[0].exited():
        time.sleep(0.05)
    events: list[ExecutorEvent] = []
    while not events or not isinstance(events[-1], Finished):
        executor.wait(10)  # returns at once while output is left to read
        events += executor.poll()
    pieces = [e for e in events if isinstance(e, OutputLines)]
    assert len(pieces) >= 3
    longest = max(sum(len(line) + 1 for line in p.lines) for p in pieces)
    assert longest <= READ_PER_POLL + 100  # with the last read's partial line
    assert lines_of(events) == [f"step={i} loss={1.0 / (i + 1):.4f};" for i in range(count)]
    assert finished(events).status is TrainingJobStatus.COMPLETED


def test_a_stop_while_the_data_is_staged_ends_the_start(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    data = tmp_path / "many"
    data.mkdir()
    for i in range(2000):
        (data / f"part-{i}.csv").write_text("1,2\n")
    channel = DataChannel("train", data.as_uri())
    launch(executor, tmp_path, {"ready": "1", "sleep": "30"}, channels=(channel,))
    executor.stop("job")  # the worker is copying the 2,000 files
    events = collect(executor)
    done = finished(events)
    assert (done.status, done.secondary) == (TrainingJobStatus.STOPPED, SecondaryStatus.STOPPED)
    assert not any(getattr(e, "secondary", None) is SecondaryStatus.TRAINING for e in events)
    assert not (tmp_path / "job" / "input" / "data").exists()  # what it staged is gone


def test_a_job_being_prepared_never_starts_once_its_executor_closes(tmp_path: Path) -> None:
    executor = LocalExecutor(stop_grace_seconds=0.5)
    data = tmp_path / "many"
    data.mkdir()
    for i in range(2000):
        (data / f"part-{i}.csv").write_text("1,2\n")
    channel = DataChannel("train", data.as_uri())
    launch(executor, tmp_path, {"sleep": "30"}, channels=(channel,))
    assert "job" in executor._starts  # its data is being staged in a worker thread
    executor.close()  # a SIGTERM'd `tunelab run` closes its executor this way
    assert not (tmp_path / "job" / "logs").exists() or not any(
        (tmp_path / "job" / "logs").iterdir()
    )  # no host ever started: a started one has a log
    assert executor._jobs == {} and len(executor._starts) == 0


def test_uploading_shows_while_a_large_model_is_packed(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    launch(executor, tmp_path, {"model_bytes": str(48 << 20)})  # about a second of gzip
    events: list[ExecutorEvent] = []
    while not any(getattr(e, "secondary", None) is SecondaryStatus.UPLOADING for e in events):
        executor.wait(10)
        events += executor.poll()
        assert not any(isinstance(e, Finished) for e in events)
    assert "job" in executor._finishes  # announced as the packing began, not after it
    assert finished(collect(executor, timeout=60)).status is TrainingJobStatus.COMPLETED


def test_a_fast_file_channel_loses_its_links_not_its_data_when_the_job_ends(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "train.csv").write_text("1,2\n")
    channel = DataChannel("train", data.as_uri(), input_mode=TrainingInputMode.FAST_FILE)
    launch(executor, tmp_path, {"model": "weights"}, channels=(channel,))
    assert finished(collect(executor)).status is TrainingJobStatus.COMPLETED
    assert not (tmp_path / "job" / "input" / "data").exists()
    assert (data / "train.csv").read_text() == "1,2\n"  # the links went, not their targets
    assert (tmp_path / "job" / "model" / "model.txt").read_text() == "weights"


def test_a_job_this_machine_could_never_hold_fails_instead_of_waiting(tmp_path: Path) -> None:
    """Create-time validation refuses it on the machine the job was created on; a Ray
    node, or a smaller machine resuming the job, meets it at submit."""
    small = Ledger(Machine(CPUS, 1 * GIB), Overcommit())  # offers 4 GiB
    ex = LocalExecutor(stop_grace_seconds=0.5, ledger=small)
    try:
        launch(ex, tmp_path, {})  # ml.m5.large: 8 GiB
        done = finished(ex.poll())
    finally:
        shut_down(ex)
    assert done.status is TrainingJobStatus.FAILED and not done.internal
    assert done.failure_reason == (
        "ResourceConfig.InstanceType: ml.m5.large has 8 GiB of memory; this machine offers "
        "4.0 GiB (1.0 GiB x memory overcommit 4, TUNELAB_MEMORY_OVERCOMMIT)"
    )


@pytest.mark.parametrize(
    ("die_with_parent", "tools"), [(True, "util-linux"), (True, "none"), (False, "util-linux")]
)
def test_die_with_parent_ties_a_program_to_the_thread_that_started_it(
    tmp_path: Path, die_with_parent: bool, tools: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if tools == "none":  # no setpriv, taskset or prlimit: done in the child before exec
        monkeypatch.setattr("tunelab.execution.hosts._have", lambda tool: False)
    ex = LocalExecutor(stop_grace_seconds=0.5, die_with_parent=die_with_parent)
    seen: list[StatusChanged] = []

    def drive() -> None:  # as a Ray node's agent drives its executor
        launch(ex, tmp_path, {"ready": "1", "sleep": "60"})
        events = collect(ex, until="ready")
        seen.extend(e for e in events if isinstance(e, StatusChanged) and e.pid)

    driver = threading.Thread(target=drive)
    driver.start()
    driver.join()
    [training] = seen
    pid = training.pid
    assert pid is not None

    def running() -> bool:  # neither gone nor a zombie left for the executor to reap
        try:
            return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1][0] != "Z"
        except FileNotFoundError:
            return False

    try:
        deadline = time.monotonic() + 5
        while running() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert running() is not die_with_parent
    finally:
        if running():
            os.kill(pid, signal.SIGKILL)
        shut_down(ex)


def test_the_wrappers_are_found_whatever_path_the_job_sets(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    """The host's command starts with tunelab's wrappers (taskset, prlimit, setpriv, ip),
    each exec-ing the next in the job's environment: an ``Environment`` PATH without them
    must not fail the job as if its program could not start."""
    launch(executor, tmp_path, {}, environment={"PATH": ""})
    done = finished(collect(executor))
    assert done.status is TrainingJobStatus.COMPLETED, done.failure_reason
