"""Ending processes a crashed tunelab left behind: all at once, one grace period."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from tunelab.execution.processes import process_start_time, terminate_orphans

STUBBORN = (
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "print('up', flush=True); time.sleep(60)"
)


def stubborn_process() -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-c", STUBBORN], stdout=subprocess.PIPE, start_new_session=True
    )
    assert proc.stdout is not None and proc.stdout.readline() == b"up\n"
    return proc


def test_several_orphans_share_one_grace_period() -> None:
    procs = [stubborn_process() for _ in range(3)]
    started = time.monotonic()
    found = terminate_orphans([(p.pid, process_start_time(p.pid)) for p in procs], grace=1.0)
    elapsed = time.monotonic() - started
    assert found == 3
    assert all(p.wait(timeout=5) == -signal.SIGKILL for p in procs)
    # one grace period for all of them, not one each (3 s)
    assert 1.0 <= elapsed < 2.5


def test_a_recycled_pid_is_spared() -> None:
    proc = stubborn_process()
    start = process_start_time(proc.pid)
    assert start is not None
    assert terminate_orphans([(proc.pid, start - 1), (proc.pid, None)], grace=0.2) == 0
    assert proc.poll() is None
    proc.kill()
    proc.wait()
