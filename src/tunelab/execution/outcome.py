"""How an attempt whose hosts have all exited ended: status, secondary status, reason,
and whether the reason is tunelab's (``internal``: the job may be run again).

- stopped by tunelab: ``Stopped`` (a stop request), ``MaxRuntimeExceeded``,
  ``MaxWaitTimeExceeded`` (Stopped), or ``Interrupted`` (spot capacity reclaimed:
  Failed, internal);
- every host exited 0: ``Completed``;
- otherwise the first host that failed gives the reason: its ``output/failure`` (a
  regular file; the first 1024 characters, FailureReason's limit), else
  ``OutOfMemoryError`` when its memory ran out (:mod:`.limits`), else a lost instance
  (internal) when the kernel's OOM killer ended it although it stayed within its own
  limit (the machine's memory, overcommitted, ran out), else ``AlgorithmError`` with
  its exit and last log lines. With several hosts the reason starts with the host name.
"""

from __future__ import annotations

import re
import signal
from collections.abc import Sequence
from dataclasses import dataclass

from tunelab.domain.enums import SecondaryStatus, TrainingJobStatus
from tunelab.domain.instance_types import DEFAULT_INSTANCE_TYPE
from tunelab.execution.base import LaunchRequest
from tunelab.execution.hosts import HostProcess
from tunelab.execution.limits import MemoryLimiter
from tunelab.execution.program_files import read_regular_file

MAX_REASON = 1024


@dataclass(frozen=True)
class Outcome:
    status: TrainingJobStatus
    secondary: SecondaryStatus
    reason: str | None = None
    internal: bool = False
    exit_code: int | None = None


def oom_kills() -> int | None:
    """How many processes the kernel's OOM killer has ended since boot."""
    try:
        with open("/proc/vmstat", encoding="ascii") as f:
            for line in f:
                if line.startswith("oom_kill "):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def decide(
    request: LaunchRequest,
    hosts: Sequence[HostProcess],
    stop_reason: SecondaryStatus | None,
    stop_message: str | None,
    limiter: MemoryLimiter,
    oom_kills_at_start: int | None,
) -> Outcome:
    """See the module docstring."""
    failed = next((h for h in hosts if h.status not in (0, None)), None)
    exit_code = _exit_code(failed.status if failed else hosts[0].status)
    stopping = request.definition.stopping
    if stop_reason is SecondaryStatus.MAX_RUNTIME_EXCEEDED:
        reason = (
            "MaxRuntimeExceeded: training job ran longer than MaxRuntimeInSeconds "
            f"({stopping.max_runtime_seconds} s)"
        )
        return Outcome(TrainingJobStatus.STOPPED, stop_reason, reason, exit_code=exit_code)
    if stop_reason is SecondaryStatus.MAX_WAIT_TIME_EXCEEDED:
        reason = (
            "MaxWaitTimeExceeded: the managed spot training job did not complete within "
            f"MaxWaitTimeInSeconds ({stopping.max_wait_seconds} s)"
        )
        return Outcome(TrainingJobStatus.STOPPED, stop_reason, reason, exit_code=exit_code)
    if stop_reason is SecondaryStatus.INTERRUPTED:
        reason = f"Interrupted: {stop_message or 'spot capacity was reclaimed'}"
        return Outcome(TrainingJobStatus.FAILED, stop_reason, reason, True, exit_code)
    if stop_reason is SecondaryStatus.STOPPED:
        return Outcome(TrainingJobStatus.STOPPED, stop_reason, exit_code=exit_code)
    if failed is None:
        return Outcome(TrainingJobStatus.COMPLETED, SecondaryStatus.COMPLETED, exit_code=0)
    reason, internal = _host_failure(request, failed, limiter, oom_kills_at_start)
    reason = printable(reason)
    if len(hosts) > 1:
        reason = f"{failed.name}: {reason}"
    return Outcome(
        TrainingJobStatus.FAILED, SecondaryStatus.FAILED, reason[:MAX_REASON], internal, exit_code
    )


_TERMINAL_CODES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-_]|[\x00-\x08\x0b-\x1f\x7f-\x9f]")
"""ANSI escape sequences (colours, cursor moves) and control characters but tab and
newline."""


def printable(text: str) -> str:
    """``text`` a program wrote (its ``output/failure``, its log's last lines) without
    terminal codes: a FailureReason is shown by the CLI and the console, where colours
    and cursor moves of the program's would garble them."""
    return _TERMINAL_CODES.sub("", text)


def _exit_code(status: int | None) -> int | None:
    if status is None:
        return None
    return status if status >= 0 else 128 - status


def _host_failure(
    request: LaunchRequest, host: HostProcess, limiter: MemoryLimiter, oom_before: int | None
) -> tuple[str, bool]:
    written = _failure_file(host)
    if written.strip():
        return written, False
    tail = host.log_tail()
    instance = request.definition.resources.instance_type or DEFAULT_INSTANCE_TYPE
    if limiter.oom(host.limit, tail):
        return _with_tail(limiter.reason(instance, host.limit), tail), False
    status = host.status or 0
    if status == -signal.SIGKILL and oom_before is not None:
        now = oom_kills()
        if now is not None and now > oom_before:
            return (
                "InternalServerError: the instance was lost: the kernel's OOM killer ended "
                f"{host.name}'s process while it stayed within its {instance} memory "
                "(the machine's memory ran out)",
                True,
            )
    if status < 0:
        try:
            how = f"terminated by signal {signal.Signals(-status).name}"
        except ValueError:
            how = f"terminated by signal {-status}"
    else:
        how = f"exited with code {status}"
    return _with_tail(f"AlgorithmError: program {how}", tail), False


def _failure_file(host: HostProcess) -> str:
    """The start of the host's ``output/failure`` (as much as a FailureReason holds), if
    it is a regular file inside the host's root (:mod:`.program_files`: a FIFO there
    would block the open forever)."""
    data = read_regular_file(host.layout.failure_path, host.layout.root, 4 * MAX_REASON)
    return (data or b"").decode("utf-8", errors="replace")[:MAX_REASON]


def _with_tail(head: str, tail: Sequence[str]) -> str:
    if not tail:
        return head
    head += "; last log lines: "
    text = "\n".join(tail)
    room = MAX_REASON - len(head)
    return head + (text if len(text) <= room else "..." + text[-(room - 3) :])
