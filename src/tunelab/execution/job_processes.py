"""Every process a training job attempt started, wherever it went: each host process gets
the environment variable :data:`MARKER_VARIABLE`, whose value names the attempt
(:func:`job_marker`), and every process it starts inherits it, also one that left the
job's process group or session (``setsid``, a double fork: a daemon). When the attempt
ends, :func:`kill_marked` finds them by reading ``/proc/<pid>/environ`` and kills them,
as the end of a SageMaker job's container ends every process in it. After a crash,
:func:`attempts_left_running` finds the processes of the attempts a tunelab had started,
also one whose pid it had not yet recorded.

Why this way: it needs no root and no cgroup delegation (``cgroup.kill`` would), and it
finds daemons that the process group misses. ``PR_SET_CHILD_SUBREAPER`` would make
orphans children of tunelab, but not say which job they came from, and a tunelab
restarted after a crash is nobody's subreaper. Limits: only processes of tunelab's own
user are readable (a job's processes are), and a process started with a scrubbed
environment (``env -i``) carries no marker, so it escapes.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Mapping

from tunelab.execution.job_dir import attempt_started
from tunelab.execution.processes import process_start_time

MARKER_VARIABLE = "TUNELAB_JOB_ATTEMPT"
_MAX_PASSES = 100


def job_marker(job_dir: str, attempt: int) -> str:
    """The marker of one attempt of the job in ``job_dir``: unique on the machine, since a
    job directory belongs to one job of one tunelab home."""
    return f"{os.path.abspath(job_dir)}#attempt-{attempt}"


def marked_processes(marker: str) -> set[tuple[int, int]]:
    """(pid, start time) of the live processes whose environment carries ``marker``."""
    found = _processes_marked({marker.encode(): marker}).get(marker, {})
    return set(found.items())


def _processes_marked(markers: Mapping[bytes, str]) -> dict[str, dict[int, int]]:
    """The live processes whose marker is a key of ``markers``, pid -> start time, under
    that key's value. One pass over ``/proc``."""
    found: dict[str, dict[int, int]] = {}
    for entry in os.listdir("/proc") if markers else ():
        if not entry.isdigit():
            continue
        owner = markers.get(_marker_of(int(entry)) or b"")
        start = process_start_time(int(entry)) if owner is not None else None
        if owner is not None and start is not None:
            found.setdefault(owner, {})[int(entry)] = start
    return found


def attempts_left_running(
    attempts: Mapping[str, tuple[str, int]],
) -> dict[str, list[tuple[int, int]]]:
    """The live processes of the attempts a crashed tunelab may have started: for each
    training job name of ``attempts`` (its job directory and latest attempt), the (pid,
    start time) of the processes carrying the marker of that attempt or an earlier one,
    leaving out those whose process group is led by another of them (signalling the
    group reaches them). Jobs with none are left out. One pass over ``/proc``."""
    wanted = {
        job_marker(job_dir, k).encode(): name
        for name, (job_dir, attempt) in attempts.items()
        for k in range(1, attempt + 1)
    }
    found = _processes_marked(wanted)
    return {name: _group_leaders(processes) for name, processes in found.items()}


def leftovers_on_this_machine(
    attempts: Mapping[str, tuple[str, int]],
) -> dict[str, list[tuple[int, int]]]:
    """:func:`attempts_left_running`, plus every job of ``attempts`` whose latest attempt
    was started (its log exists) with no process left: its program ended while no
    tunelab watched it (an empty list)."""
    found = attempts_left_running(attempts)
    for name, (job_dir, attempt) in attempts.items():
        if name not in found and attempt_started(job_dir, attempt):
            found[name] = []
    return found


_PREFIX = f"{MARKER_VARIABLE}=".encode()
_INNER = b"\0" + _PREFIX


def _marker_of(pid: int) -> bytes | None:
    """The value of ``pid``'s marker variable (None: none, or unreadable: another user's
    process, a kernel thread, a zombie, gone). Read with bare system calls: it runs for
    every process of the machine each time a job ends."""
    try:
        fd = os.open(f"/proc/{pid}/environ", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
    except OSError:
        return None
    finally:
        os.close(fd)
    variables = b"".join(chunks)
    if variables.startswith(_PREFIX):
        start = len(_PREFIX)
    elif (found := variables.find(_INNER)) >= 0:
        start = found + len(_INNER)
    else:
        return None
    end = variables.find(b"\0", start)
    return variables[start:] if end < 0 else variables[start:end]


def _group_leaders(processes: Mapping[int, int]) -> list[tuple[int, int]]:
    """``processes`` (pid -> start time) less those whose process group another of
    them leads."""
    kept = []
    for pid, start in sorted(processes.items()):
        try:
            group = os.getpgid(pid)
        except ProcessLookupError:
            continue
        if group == pid or group not in processes:
            kept.append((pid, start))
    return kept


def kill_marked(marker: str) -> int:
    """SIGKILL every process carrying ``marker``, again until a pass finds none it has
    not killed (a process may fork while the first pass runs). Returns how many."""
    value = marker.encode()
    killed: set[tuple[int, int]] = set()
    for _ in range(_MAX_PASSES):
        new = marked_processes(marker) - killed
        if not new:
            break
        for pid, start in new:
            _kill(pid, start, value)
        killed |= new
    return len(killed)


def _kill(pid: int, start: int, marker: bytes) -> None:
    """SIGKILL ``pid`` if it is still the marked process that started at ``start``."""
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    except OSError:  # no pidfds: a recycled pid is ruled out by the start time alone
        if process_start_time(pid) == start and _marker_of(pid) == marker:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        return
    try:  # the pidfd pins the process: check that it is the one found, then kill it
        if process_start_time(pid) == start and _marker_of(pid) == marker:
            signal.pidfd_send_signal(pidfd, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    finally:
        os.close(pidfd)
