"""The local executor: each training job attempt runs as processes on this machine.

A submitted job waits (secondary status ``Starting``, "Waiting for capacity") until the
machine's ledger admits it (:mod:`.resources` states the overcommit policy,
:mod:`.ledger` keeps the accounts across tunelab processes). Then each of its
``InstanceCount`` hosts is laid out, gets its data and starts (:mod:`.hosts`), in a
worker thread so that a slow start holds up no other job (:mod:`.launch_pool`), pinned
to its CPUs with its memory limited (:mod:`.limits`), in the job's network when it has
several hosts or network isolation (:mod:`.network`). The last host's log is the job's
output (:meth:`LocalExecutor.poll` tails it); exits are detected with pidfds so that
:meth:`wait` wakes up as soon as a host exits (:mod:`.exit_watcher`). The job ends when
every host has exited; when one fails the others get SIGTERM (they cannot finish without
it); then whatever is left of the job's process group is killed, as when containers stop
(:mod:`.outcome` tells how it ended).

Managed spot: a running spot job whose capacity the ledger reclaims (for on-demand work,
or a drill) gets SIGTERM, SIGKILL after the grace period, and ends Failed /
``Interrupted`` with ``internal`` set, for the orchestrator to run it again;
``LaunchRequest.not_after`` (MaxWaitTimeInSeconds) ends it Stopped /
``MaxWaitTimeExceeded``, waiting or running.

The executor keeps the queue and the accounts; :mod:`.local_work` starts and finishes jobs
(in worker threads when that may take long), :mod:`.local_launch` starts an admitted job,
:mod:`.local_jobs` holds a job's state and deadlines and :mod:`.local_finish` reads its
output and reports its end.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from tunelab.domain.enums import SecondaryStatus, TrainingJobStatus
from tunelab.execution.base import (
    ExecutorEvent,
    Finished,
    LaunchRequest,
    OutputLines,
    StatusChanged,
)
from tunelab.execution.clock import Clock, SystemClock
from tunelab.execution.contract import AlgorithmImages, LaunchError, resolve_argv
from tunelab.execution.exit_watcher import ExitWatcher
from tunelab.execution.hosts import host_names
from tunelab.execution.job_processes import leftovers_on_this_machine
from tunelab.execution.job_work import DEFAULT_WORK_THREADS
from tunelab.execution.ledger import Ledger, default_ledger
from tunelab.execution.limits import MemoryLimiter
from tunelab.execution.local_finish import collect_output
from tunelab.execution.local_jobs import QueuedJob, RunningJob, max_wait_exceeded, wait_timeout
from tunelab.execution.local_work import LocalJobWork
from tunelab.execution.processes import terminate_orphans
from tunelab.execution.resources import demand_of, oversize
from tunelab.execution.storage import DataPlane


class LocalExecutor(LocalJobWork):
    """Runs attempts as local processes (see the module docstring). Not thread-safe.

    ``stop_grace_seconds`` is the time between SIGTERM and SIGKILL on a stop, a spot
    interruption or an exceeded limit; ``poll_interval`` bounds how long :meth:`wait`
    sleeps while something outside this process may change (jobs waiting for capacity,
    spot jobs that may be reclaimed) or where pidfds are unavailable."""

    def __init__(
        self,
        clock: Clock | None = None,
        stop_grace_seconds: float = 120.0,
        poll_interval: float = 0.2,
        s3_root: str | None = None,
        algorithms: AlgorithmImages | None = None,
        data: DataPlane | None = None,
        ledger: Ledger | None = None,
        limiter: MemoryLimiter | None = None,
        work_threads: int = DEFAULT_WORK_THREADS,
        die_with_parent: bool = False,
    ) -> None:
        """``s3_root``: tunelab's local object store, where ``s3://`` channels and
        outputs live (None: ``s3://`` is not local). ``algorithms``: the images of
        algorithms registered by name. ``ledger``: the machine's accounts (default: this
        process's). ``limiter``: how memory is limited (default: RLIMIT_AS).
        ``work_threads``: how many jobs may be starting, and how many finishing, at once
        (each in a worker thread: :mod:`.job_work`). ``die_with_parent``: the jobs'
        programs get SIGKILL when the thread driving this executor ends (a Ray node's
        agent: its programs must not outlive it); by default they outlive a crash of
        tunelab, and the next one ends them (:meth:`terminate_orphans`)."""
        self._clock = clock or SystemClock()
        self._s3_root = s3_root
        self._algorithms = algorithms
        self._data = data or DataPlane.default(s3_root)  # where data lives (storage.py)
        self._ledger = ledger or default_ledger()
        self._limiter = limiter or MemoryLimiter()
        self._grace = stop_grace_seconds
        self._poll_interval = poll_interval
        self._die_with_parent = die_with_parent
        self._queue: dict[str, QueuedJob] = {}
        self._jobs: dict[str, RunningJob] = {}
        self._pending: list[ExecutorEvent] = []
        self._exits = ExitWatcher(poll_interval)
        self._init_work(work_threads)

    # -- Executor protocol ------------------------------------------------------------

    def submit(self, request: LaunchRequest) -> None:
        """Queue the attempt and start it if the machine has room; a launch failure, or a
        job this machine could not hold even when idle (a Ray node's, or a smaller machine
        than the one the job was created on), is reported as ``Finished`` (Failed) by the
        next :meth:`poll`."""
        name = request.training_job_name
        held = (self._jobs, self._queue, self._starts, self._finishes)
        if any(name in h for h in held) or any(
            isinstance(e, Finished) and e.name == name for e in self._pending
        ):
            raise ValueError(f"training job {name} is already running")
        try:
            argv = resolve_argv(request.definition, self._algorithms)
            try:
                demand = demand_of(request.definition)
            except ValueError as exc:
                raise LaunchError(f"ResourceConfig.InstanceType: {exc}") from None
            machine, policy = self._ledger.machine, self._ledger.policy
            if too_big := oversize(request.definition, machine, policy):  # it would wait forever
                raise LaunchError("; ".join(f"ResourceConfig.{f}: {m}" for f, m in too_big))
        except LaunchError as exc:
            self._fail_launch(name, exc)
            return
        self._queue[name] = QueuedJob(request, argv, demand)
        self._admit(self._clock.now())

    def poll(self) -> list[ExecutorEvent]:
        now = self._clock.now()
        if self._queue:
            self._admit(now)
        self._take_work()
        self._announce_starts()
        ready = self._exits.readable()  # also takes a wake (wait_handle's readiness)
        spot = [j.name for j in self._jobs.values() if j.demand.spot and j.stop_reason is None]
        for name, why in self._ledger.reclaimed(spot).items():
            self._jobs[name].begin_stop(SecondaryStatus.INTERRUPTED, now, self._grace, why)
        for job in list(self._jobs.values()):
            job.enforce_deadlines(now, self._grace)
            if job.stop_reason is None and any(h.data and h.data.failure() for h in job.hosts):
                job.begin_stop(SecondaryStatus.FAILED, now, self._grace)  # data error (jobdata.py)
            for host in job.hosts:
                watched = host.pidfd is None or host in ready
                if host.status is None and watched and host.exited():
                    self._exits.forget(host)
            job.notice_failed_host(now, self._grace)
            lines, done = collect_output(job)
            if lines:
                self._pending.append(OutputLines(job.name, self._clock.now(), tuple(lines)))
            if done:
                self._finish(job)  # at once: its end follows its last lines
        events, self._pending = self._pending, []
        return events

    def wait(self, timeout: float) -> None:
        if self._ready_now():
            return
        now = self._clock.now()
        jobs, queue = self._jobs.values(), self._queue.values()
        timeout = wait_timeout(timeout, now, jobs, queue, self._poll_interval)
        if timeout <= 0:
            return
        hosts = [h for job in self._jobs.values() for h in job.hosts if h.status is None]
        self._exits.wait(hosts, timeout)

    def wait_handle(self) -> int | None:
        """The exit watcher's selector: readable when a watched process exits or on a
        wake (worker threads' reports wake it; so does this call when something is left
        to poll now). Processes without a pidfd are not seen here."""
        if self._ready_now():
            self._exits.wake()
        fd = self._exits.fileno()
        return fd if fd >= 0 else None  # (a selector without a descriptor of its own)

    def _ready_now(self) -> bool:
        """Whether :meth:`poll` has something to give that should not wait: a job's end,
        a worker's report, output left to read. A job that started (``Training``, with its
        pid) waits for the next poll the caller makes anyway (an exit, its poll interval):
        a round of its own for it would cost the caller a commit per start; a crash
        meanwhile loses nothing (a restart finds the process by its marker,
        :mod:`.job_processes`)."""
        return bool(
            any(isinstance(event, Finished) for event in self._pending)
            or self._starts.has_reports()
            or self._finishes.has_reports()
            or any(job.backlog for job in self._jobs.values())
        )

    def wake(self) -> None:
        """Make a :meth:`wait` in progress, or else the next one, return at once (for a
        caller in another thread that has something for this executor's driver;
        thread-safe)."""
        self._exits.wake()

    def stop(self, name: str) -> None:
        queued = self._queue.pop(name, None)
        if queued is not None:
            self._ledger.release(name)
            now = self._clock.now()
            stopped = TrainingJobStatus.STOPPED, SecondaryStatus.STOPPED
            self._pending.append(Finished(name, now, *stopped))
            return
        if name in self._starts:
            self._stop_on_start.add(name)  # the worker stops between two steps
            return
        job = self._jobs.get(name)
        if job is None or job.stop_reason is not None or all(h.exited() for h in job.hosts):
            return
        job.begin_stop(SecondaryStatus.STOPPED, self._clock.now(), self._grace)

    def terminate_orphans(self, processes: Sequence[tuple[int, int | None]]) -> int:
        """:func:`terminate_orphans` with this executor's grace period (blocks up to it)."""
        return terminate_orphans(processes, self._grace)

    def leftover_processes(
        self, attempts: Mapping[str, tuple[str, int]]
    ) -> dict[str, list[tuple[int, int]]]:
        """Found by the attempts' markers (:func:`attempts_left_running`) and logs."""
        return leftovers_on_this_machine(attempts)

    def running(self) -> int:
        finished = sum(isinstance(e, Finished) for e in self._pending)
        busy = len(self._starts) + len(self._finishes)
        return len(self._jobs) + len(self._queue) + busy + finished

    def close(self) -> None:
        """Release this executor's accounts; running processes are left alone (those
        being prepared stop and never start; those finishing are waited for)."""
        self._closing = True
        self._take_work(wait=True)
        for name in list(self._queue):
            self._ledger.release(name)
        self._queue.clear()
        for job in list(self._jobs.values()):
            self._release(job)
            self._ledger.release(job.name)
            if job.network is not None:
                job.network.remove()
        self._exits.close()

    # -- starting -----------------------------------------------------------------------

    def _admit(self, now: float) -> None:
        """Start the queued jobs the machine has room for, in order; end those whose
        MaxWaitTimeInSeconds ran out."""
        for name, queued in list(self._queue.items()):
            request = queued.request
            if request.not_after is not None and now >= request.not_after:
                del self._queue[name]
                self._ledger.release(name)
                self._pending.append(max_wait_exceeded(request, now))
                continue
            definition = request.definition
            hosts = host_names(queued.demand.hosts)
            wants_net = len(hosts) > 1 or definition.network_isolation
            admission = self._ledger.admit(name, queued.demand, hosts, now, wants_net)
            if admission.placements is None:
                if not queued.announced:
                    queued.announced = admission.reason
                    reason = admission.reason  # a sentence: first letter up, names kept
                    self._emit_status(
                        name, SecondaryStatus.STARTING, reason[:1].upper() + reason[1:]
                    )
                continue
            del self._queue[name]
            self._start(queued, admission, hosts)

    def _emit_status(self, name: str, secondary: SecondaryStatus, message: str) -> None:
        self._pending.append(StatusChanged(name, self._clock.now(), secondary, message))
