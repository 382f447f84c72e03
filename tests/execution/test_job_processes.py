"""Daemons a training program starts (setsid, double fork) end with its job: completed,
stopped or failed to launch; the marker on its own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tunelab.domain.enums import TrainingJobStatus
from tunelab.execution.base import Finished
from tunelab.execution.job_processes import (
    MARKER_VARIABLE,
    attempts_left_running,
    job_marker,
    kill_marked,
    leftovers_on_this_machine,
    marked_processes,
)
from tunelab.execution.local import LocalExecutor
from tunelab.execution.processes import process_start_time

from .test_contract import collect, make_definition, make_request
from .test_local_executor import _alive

DAEMON = """
def daemon(then):
    if os.fork() == 0:
        os.setsid()  # a session and process group of its own
        if os.fork() == 0:
            with open(sys.argv[0] + ".pid", "w") as f:
                f.write(str(os.getpid()))
            then()
        os._exit(0)
    os.wait()
    while not os.path.exists(sys.argv[0] + ".pid"):
        time.sleep(0.01)
"""


@pytest.fixture
def leftovers() -> Iterator[list[int]]:
    """Pids of daemons a test started: killed at the end, should the test fail."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)


def _gone_soon(pid: int) -> bool:
    deadline = time.monotonic() + 5
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    return not _alive(pid)


def _program(tmp_path: Path, main: str) -> Path:
    program = tmp_path / "prog.py"
    program.write_text(f"#!{sys.executable}\nimport os, sys, time\n{DAEMON}\n{main}")
    program.chmod(0o755)
    return program


def test_a_daemon_ends_with_its_completed_job(
    executor: LocalExecutor, tmp_path: Path, leftovers: list[int]
) -> None:
    main = (
        "def quiet():\n"
        "    for fd in (0, 1, 2): os.close(fd)\n"
        "    time.sleep(60)\n"
        'daemon(quiet)\nprint("loss=0.4", flush=True)\n'
    )
    program = _program(tmp_path, main)
    executor.submit(make_request(tmp_path / "job", make_definition(program.as_uri())))
    done = collect(executor)[-1]
    assert isinstance(done, Finished) and done.status is TrainingJobStatus.COMPLETED
    pid = int(Path(f"{program}.pid").read_text())
    leftovers.append(pid)
    assert _gone_soon(pid)


def test_a_daemon_writing_the_log_ends_with_its_stopped_job(
    executor: LocalExecutor, tmp_path: Path, leftovers: list[int]
) -> None:
    main = (
        "def chatty():\n"
        "    while True:\n"
        '        print("daemon still logging", flush=True)\n'
        "        time.sleep(0.05)\n"
        'daemon(chatty)\nprint("ready", flush=True)\ntime.sleep(60)\n'
    )
    program = _program(tmp_path, main)
    executor.submit(make_request(tmp_path / "job", make_definition(program.as_uri())))
    collect(executor, until="ready")
    pid = int(Path(f"{program}.pid").read_text())
    leftovers.append(pid)
    executor.stop("job")
    done = collect(executor)[-1]
    assert isinstance(done, Finished) and done.status is TrainingJobStatus.STOPPED
    assert _gone_soon(pid)
    log = tmp_path / "job" / "logs" / "attempt-1.log"
    size = log.stat().st_size
    time.sleep(0.3)
    assert log.stat().st_size == size  # nothing writes to the stopped job's log


def test_kill_marked_finds_processes_by_their_environment(leftovers: list[int]) -> None:
    marker = job_marker("/tmp/some-job", 3)
    env = dict(os.environ, **{MARKER_VARIABLE: marker})
    marked = subprocess.Popen(["sleep", "60"], env=env, start_new_session=True)
    other = subprocess.Popen(
        ["sleep", "60"], env=dict(env, **{MARKER_VARIABLE: job_marker("/tmp/some-job", 4)})
    )
    leftovers += [marked.pid, other.pid]
    try:
        assert marked_processes(marker) == {(marked.pid, process_start_time(marked.pid))}
        assert kill_marked(marker) == 1
        assert marked.wait(5) == -signal.SIGKILL
        assert other.poll() is None and marked_processes(marker) == set()
    finally:
        other.kill()
        other.wait()


def test_the_marker_is_a_variable_wherever_it_sits_not_text_in_another(
    leftovers: list[int],
) -> None:
    marker = job_marker("/tmp/some-job", 5)
    first = {MARKER_VARIABLE: marker, "PATH": os.environ["PATH"]}  # the first variable
    last = {"PATH": os.environ["PATH"], MARKER_VARIABLE: marker}
    mention = {"PATH": os.environ["PATH"], "NOTE": f"{MARKER_VARIABLE}={marker}"}
    processes = [subprocess.Popen(["sleep", "60"], env=env) for env in (first, last, mention)]
    leftovers += [p.pid for p in processes]
    try:
        expected = {(p.pid, process_start_time(p.pid)) for p in processes[:2]}
        assert marked_processes(marker) == expected
    finally:
        for process in processes:
            process.kill()
            process.wait()


def test_the_attempts_a_crash_left_running_are_found_by_their_markers(tmp_path: Path) -> None:
    """Each job's processes of its attempts up to the given one, one per process group
    (a process in the group of another found one is reached through it)."""

    def start(job: str, attempt: int, code: str = "import time; time.sleep(60)"):
        env = dict(os.environ, **{MARKER_VARIABLE: job_marker(str(tmp_path / job), attempt)})
        return subprocess.Popen([sys.executable, "-c", code], env=env, start_new_session=True)

    with_child = "import subprocess, sys; subprocess.run(['sleep', '60'])"
    first, second, later = start("a", 1, with_child), start("a", 2), start("a", 3)
    other_job, not_asked = start("b", 1), start("c", 1)
    started = [first, second, later, other_job, not_asked]
    try:
        deadline = time.monotonic() + 10
        while not Path(f"/proc/{first.pid}/task/{first.pid}/children").read_text().split():
            assert time.monotonic() < deadline, "the child never started"
            time.sleep(0.02)
        found = attempts_left_running(
            {"a": (str(tmp_path / "a"), 2), "b": (str(tmp_path / "b"), 1)}
        )
        assert found == {
            "a": [
                (p.pid, process_start_time(p.pid))
                for p in sorted((first, second), key=lambda p: p.pid)
            ],
            "b": [(other_job.pid, process_start_time(other_job.pid))],
        }
        assert attempts_left_running({}) == {}
    finally:
        for process in started:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_an_attempt_whose_program_ended_unwatched_is_found_by_its_log(tmp_path: Path) -> None:
    for job, log in (("ended", "attempt-2.log"), ("multi", "attempt-1-algo-1.log")):
        (tmp_path / job / "logs").mkdir(parents=True)
        (tmp_path / job / "logs" / log).write_text("")
    (tmp_path / "older" / "logs").mkdir(parents=True)
    (tmp_path / "older" / "logs" / "attempt-1.log").write_text("")  # not the latest attempt
    attempts = {
        job: (str(tmp_path / job), attempt)
        for job, attempt in (("ended", 2), ("multi", 1), ("older", 2), ("never", 1))
    }
    assert leftovers_on_this_machine(attempts) == {"ended": [], "multi": []}
