"""Processes of this machine, identified beyond their pid: a pid is paired
with the kernel's start time of the process, so a recycled pid is never taken
for the process it used to name. Used to end processes a crashed tunelab left
behind."""

from __future__ import annotations

import os
import select
import signal
import time
from collections.abc import Sequence


def process_start_time(pid: int) -> int | None:
    """Start time of ``pid`` in clock ticks since boot (field 22 of ``/proc/<pid>/stat``),
    or None when there is no such process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
        return int(data[data.rindex(b")") + 2 :].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def terminate_orphan(pid: int, pid_start_time: int | None, grace: float = 120.0) -> bool:
    """Stop a job process left running by an earlier tunelab: SIGTERM to its process
    group, SIGKILL after ``grace`` seconds. Does nothing, and returns False, unless a
    process ``pid`` exists with start time ``pid_start_time`` (a recycled pid is spared)."""
    return terminate_orphans([(pid, pid_start_time)], grace) == 1


def terminate_orphans(processes: Sequence[tuple[int, int | None]], grace: float = 120.0) -> int:
    """:func:`terminate_orphan` for several processes at once: all get SIGTERM
    first, then one grace period for all of them. Returns how many were found."""
    found: list[tuple[int, int, int | None]] = []
    for pid, start in processes:
        if start is None or process_start_time(pid) != start:
            continue
        try:
            pidfd: int | None = os.pidfd_open(pid)
        except ProcessLookupError:
            continue
        except (OSError, AttributeError):
            pidfd = None
        if process_start_time(pid) != start:  # recycled before the pidfd pinned it
            if pidfd is not None:
                os.close(pidfd)
            continue
        signal_group(pid, signal.SIGTERM)
        found.append((pid, start, pidfd))
    try:
        deadline = time.monotonic() + grace
        for pid, start, pidfd in found:
            if not _wait_gone(pid, start, pidfd, deadline - time.monotonic()):
                signal_group(pid, signal.SIGKILL)
                _wait_gone(pid, start, pidfd, 5.0)
    finally:
        for _, _, pidfd in found:
            if pidfd is not None:
                os.close(pidfd)
    return len(found)


def signal_group(pid: int, sig: int) -> None:
    """Signal the process group led by ``pid`` (just ``pid`` if it leads none)."""
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _wait_gone(pid: int, start: int, pidfd: int | None, timeout: float) -> bool:
    """Wait until the process has exited (zombies count as exited)."""
    if pidfd is not None:
        poller = select.poll()
        poller.register(pidfd, select.POLLIN)
        return bool(poller.poll(max(0.0, timeout) * 1000))
    end = time.monotonic() + timeout
    while True:
        if process_start_time(pid) != start or _is_zombie(pid):
            return True
        if time.monotonic() >= end:
            return False
        time.sleep(0.02)


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
        return data[data.rindex(b")") + 2 :].startswith(b"Z")
    except (OSError, ValueError):
        return True
