"""The processes of one training job attempt: one per instance ("host"), each prepared
(:func:`prepare_host`: its root laid out, its data staged; a worker thread may do it) and
then started (:func:`start_host`, by the executor's own thread).

Host ``algo-1`` plays ``/opt/ml`` in the job directory itself; host ``algo-k`` (k > 1)
gets a container root of its own, ``<job dir>/hosts/algo-k/``, with its own
``resourceconfig.json`` (``current_host``), data channels (its shard of
``ShardedByS3Key`` channels), ``model/``, ``output/`` and ``checkpoints/``. Only
``algo-1``'s checkpoints are synced with ``CheckpointConfig.S3Uri`` and only its
``model/`` and ``output/data`` are packed (the other hosts' stay in their roots, and
their checkpoints survive their restarts on this machine).

Logs: ``<job dir>/logs/attempt-<n>.log`` is the last host's (``algo-N``; for one host,
``algo-1``), whose lines are the job's metric output (SageMaker counts the objective
reported by the last host); the others write ``attempt-<n>-algo-<k>.log``.

All hosts of a job form one process group, led by ``algo-1``'s process: it is the
process the store records, and signalling the group reaches every host. A single-host
job's process also leads its own session. Every host's environment carries the
attempt's marker (:mod:`.job_processes`), so that the processes it starts outside the
group (daemons) are found and killed at the end. Every host starts as
``[ip netns exec NS] taskset -c CPUS [prlimit --as=BYTES] program train``
(:mod:`.network`, :mod:`.limits`), each wrapper exec-ing the next.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import functools
import os
import resource
import shutil
import signal
import subprocess
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from tunelab.execution.base import LaunchRequest
from tunelab.execution.contract import Host, JobLayout, LaunchError
from tunelab.execution.contract import prepare_job_dir as _prepare_job_dir
from tunelab.execution.errors import check_stopped
from tunelab.execution.interpreter import interpreter_problem
from tunelab.execution.job_processes import MARKER_VARIABLE, job_marker
from tunelab.execution.jobdata import JobData  # data in/out of a host (execution/jobdata.py)
from tunelab.execution.limits import HostLimit, MemoryLimiter, pin_prefix
from tunelab.execution.network import JobNetwork
from tunelab.execution.program_files import read_regular_file
from tunelab.execution.resources import HostPlacement
from tunelab.execution.storage import DataPlane
from tunelab.execution.toolkit_env import launch_environment

TAIL_LINES = 20
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
_NOT_LAUNCHABLE = {2, 8, 13, 20}  # ENOENT, ENOEXEC, EACCES, ENOTDIR: the program's fault


def host_names(count: int) -> tuple[str, ...]:
    return tuple(f"algo-{k}" for k in range(1, count + 1))


def host_root(job_dir: str, host: str) -> str:
    return job_dir if host == "algo-1" else os.path.join(job_dir, "hosts", host)


def host_log_path(job_dir: str, attempt: int, host: str, hosts: tuple[str, ...]) -> str:
    """See the module docstring."""
    suffix = "" if host == hosts[-1] else f"-{host}"
    return os.path.join(job_dir, "logs", f"attempt-{attempt}{suffix}.log")


@dataclass(eq=False)
class HostProcess:
    """One running host. ``status`` is its wait status once it exited (an exit code,
    or minus the signal), read without reaping it."""

    host: Host
    layout: JobLayout
    proc: subprocess.Popen[bytes]
    log_path: str
    limit: HostLimit
    data: JobData | None = None
    log_fd: int | None = None
    pidfd: int | None = None
    status: int | None = None
    partial: bytes = b""
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=TAIL_LINES))

    @property
    def name(self) -> str:
        return self.host.name

    def exited(self) -> bool:
        """Whether the process has exited (it stays a zombie: its pid, and the job's
        process group id, cannot be recycled before :meth:`reap`)."""
        if self.status is not None:
            return True
        try:
            info = os.waitid(os.P_PID, self.proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            self.status = self.proc.returncode if self.proc.returncode is not None else -9
            return True
        if info is None:
            return False
        exited = info.si_code == os.CLD_EXITED
        self.status = info.si_status if exited else -info.si_status
        return True

    def reap(self) -> int:
        code = self.proc.wait()
        self.status = code
        return code

    def log_tail(self) -> list[str]:
        """The last lines of the host's log (read from the file for hosts not streamed)."""
        if self.tail:
            return list(self.tail)
        logs = os.path.dirname(self.log_path)  # the program may have replaced the file
        data = read_regular_file(self.log_path, logs, 64 * 1024, tail=True)
        return (data or b"").decode("utf-8", errors="replace").splitlines()[-TAIL_LINES:]


@dataclass(eq=False)
class PreparedHost:
    """A host laid out with its data staged (:func:`prepare_host`), ready to start."""

    request: LaunchRequest
    """The job's request as this host sees it (a later host's own root)."""
    job_dir: str
    """The job's directory (the first host's root), where every host's log goes."""
    placement: HostPlacement
    host: Host
    layout: JobLayout
    data: JobData


def prepare_host(
    request: LaunchRequest,
    argv: list[str],
    placement: HostPlacement,
    hosts: tuple[str, ...],
    *,
    plane: DataPlane,
    stopped: Callable[[], bool] | None = None,
) -> PreparedHost:
    """Lay out the host's root and stage its data (what may take long). ``stopped``:
    whether the job was told to stop since (checked between the steps). Raises
    :class:`LaunchError` (:class:`LaunchStopped` once ``stopped`` says so)."""
    search = request.definition.environment.get("PATH", os.environ.get("PATH"))
    if (problem := interpreter_problem(argv[0], search)) is not None:
        raise LaunchError(f"TrainingImage program {argv[0]} cannot run: {problem}")
    job_dir = request.job_dir
    index = hosts.index(placement.host)
    host = Host(placement.host, hosts, placement.threads, len(placement.gpus))
    if index > 0:
        definition = dataclasses.replace(request.definition, checkpoint=None)
        request = dataclasses.replace(
            request, job_dir=host_root(request.job_dir, host.name), definition=definition
        )
    layout = _prepare_job_dir(request, host)
    data = JobData.prepare(
        request, layout, plane, host_index=index, host_count=len(hosts), stopped=stopped
    )
    check_stopped(stopped)
    return PreparedHost(request, job_dir, placement, host, layout, data)


def start_host(
    prepared: PreparedHost,
    argv: list[str],
    *,
    limiter: MemoryLimiter,
    network: JobNetwork | None,
    pgid: int | None,
    hide_gpus: bool = False,
    die_with_parent: bool = False,
) -> HostProcess:
    """Start the prepared host's process. ``pgid``: the job's process group (None: this
    host starts it); ``hide_gpus``: the machine has GPUs, so ``CUDA_VISIBLE_DEVICES`` must
    name the host's only; ``die_with_parent``: the process gets SIGKILL when the thread
    that starts it ends (``PR_SET_PDEATHSIG``: a Ray agent's programs end with it). Raises
    :class:`LaunchError`."""
    request, job_dir, placement = prepared.request, prepared.job_dir, prepared.placement
    host, layout, data = prepared.host, prepared.layout, prepared.data
    hosts = host.hosts
    marker = job_marker(job_dir, request.attempt)  # the same for every host (job_processes.py)
    env, notes = launch_environment(request, layout, host=host)
    for name in THREAD_VARIABLES:
        if name not in request.definition.environment:
            env[name] = str(placement.threads)
    if placement.gpus or hide_gpus:
        env["CUDA_VISIBLE_DEVICES"] = ",".join(placement.gpus)
    if network is not None:
        env.update(network.environment(host.name))
    env[MARKER_VARIABLE] = marker
    limit, memory_prefix = limiter.prepare(
        f"{request.training_job_name}-{host.name}", placement.memory_bytes
    )
    prefix = network.prefix() if network else []
    preexec = None
    if die_with_parent:
        if _have("setpriv"):
            prefix = ["setpriv", "--pdeathsig", "KILL", *prefix]
        else:
            preexec = _die_with_parent
    if _have("taskset") and (not memory_prefix or _have("prlimit")):
        pinned = set(placement.cpus) != os.sched_getaffinity(0)  # else inherited already
        prefix += (pin_prefix(placement.cpus) if pinned else []) + memory_prefix
    else:  # no util-linux: apply both in the child before exec
        preexec = _limits_in_child(
            placement.cpus, placement.memory_bytes if memory_prefix else None, preexec
        )
    prefix = [_wrapper_path(word) for word in prefix]  # found on tunelab's PATH, not the job's
    log_path = host_log_path(job_dir, request.attempt, host.name, hosts)
    try:
        os.makedirs(os.path.dirname(log_path), exist_ok=True)
        out = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise LaunchError(f"could not create the log file {log_path}: {exc}") from exc
    if notes:  # the variables left out (toolkit_env.py): the log's first lines say so
        with contextlib.suppress(OSError):
            os.write(out, "".join(f"{note}\n" for note in notes).encode())
    group = {"start_new_session": True} if len(hosts) == 1 else {"process_group": pgid or 0}
    try:
        proc = subprocess.Popen(
            prefix + argv,
            cwd=layout.root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            close_fds=True,
            preexec_fn=preexec,
            **group,  # type: ignore[call-overload]
        )
    except OSError as exc:
        limiter.release(limit)
        internal = exc.errno not in _NOT_LAUNCHABLE
        raise LaunchError(
            f"TrainingImage program {argv[0]} could not start: {exc}", internal=internal
        ) from exc
    finally:
        os.close(out)
    running = HostProcess(host, layout, proc, log_path, limit, data)
    try:
        limiter.attach(limit, proc.pid)
    except OSError as exc:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        raise LaunchError(
            f"could not limit the memory of {host.name}: {exc}", internal=True
        ) from exc
    running.log_fd = os.open(log_path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        running.pidfd = os.pidfd_open(proc.pid)
    except (OSError, AttributeError):
        running.pidfd = None
    data.start()  # Pipe feeders and checkpoint sync (jobdata.py)
    return running


_WRAPPERS = frozenset({"setpriv", "ip", "taskset", "prlimit"})
"""The tools a host's command may start with, each exec-ing the next (their other words
are options, never one of these names)."""


def _wrapper_path(word: str) -> str:
    """A wrapper tool's absolute path as tunelab's own ``PATH`` finds it (each wrapper
    execs the next with the job's environment, whose ``PATH`` the definition may set to
    anything); any other word unchanged."""
    if word not in _WRAPPERS:
        return word
    return _tool_path(word) or word


def _have(tool: str) -> bool:
    return _tool_path(tool) is not None


def _tool_path(tool: str) -> str | None:
    """Where tunelab's own ``PATH`` finds ``tool``."""
    return _which(tool, os.environ.get("PATH", ""))


@functools.cache
def _which(tool: str, path: str) -> str | None:
    return shutil.which(tool, path=path)


def _die_with_parent() -> None:
    """What ``setpriv --pdeathsig KILL`` does, for machines without util-linux."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _limits_in_child(
    cpus: tuple[int, ...], memory: int | None, before: Callable[[], None] | None = None
) -> Callable[[], None]:
    """What ``taskset`` and ``prlimit`` do, for machines without util-linux (after
    ``before``, when given)."""

    def apply() -> None:
        if before is not None:
            before()
        os.sched_setaffinity(0, cpus)
        if memory is not None:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    return apply
