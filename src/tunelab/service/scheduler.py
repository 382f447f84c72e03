"""The server's scheduler: one background thread that drives every tuning job
and every standalone training job of the store.

It adopts each tuning job that is InProgress or Stopping and that no live
process holds (its lease is free, expired, or held by a dead process): new jobs
created through the API, and, after ``kill -9`` of the server, every job it was
running — the tuning loop's recovery resumes them exactly. Jobs run by another
live process (``tunelab run``, another server on the same database) are left to it;
standalone training jobs likewise, by their own leases. A job whose loop raises is
dropped (its lease released) and adopted again on a later scan; a loop that another
process took over (this process's lease ran out) is dropped with one warning line,
any other failure is logged with its traceback.
"""

from __future__ import annotations

import logging
import select
import threading
from collections.abc import Callable

from tunelab.domain.enums import TuningJobStatus
from tunelab.domain.errors import ConflictError, TunelabError
from tunelab.execution.base import Executor
from tunelab.execution.clock import Clock
from tunelab.execution.wake_pipe import WakePipe
from tunelab.orchestrator.loop import LoopSettings, TuningLoop
from tunelab.orchestrator.training_runner import DefinitionOf, TrainingRunner
from tunelab.service.algorithms import AlgorithmService
from tunelab.service.executors import new_executor
from tunelab.service.settings import Settings
from tunelab.service.threads import limit_math_threads
from tunelab.service.training import left_in_progress, poll_until
from tunelab.store.base import Store, TuningJobQuery

log = logging.getLogger("tunelab.scheduler")


STOP_WAIT_SECONDS = 5.0
"""How long StopTrainingJob waits at most for the scheduler thread to commit ``Stopping``."""
STOP_POLL_SECONDS = 0.01


class Scheduler:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        clock: Clock,
        definition_of: DefinitionOf,
        tick_interval: float = 0.05,
        scan_interval: float = 2.0,
        executor_factory: Callable[[], Executor] | None = None,
    ) -> None:
        self.settings, self.store, self.clock = settings, store, clock
        self.tick_interval, self.scan_interval = tick_interval, scan_interval
        self._new_executor = executor_factory or (
            lambda: new_executor(settings, AlgorithmService(store, clock).image)
        )
        self.loops: dict[str, TuningLoop] = {}
        self.training = TrainingRunner(
            store,
            self._new_executor(),
            clock,
            str(settings.jobs_root),
            definition_of,
            settings.region,
            settings.account,
        )
        self._wake = WakePipe()
        """Set by :meth:`notify` and stop requests; kept for the process's life (a set may
        come from another thread at any time)."""
        self._scan_now = True
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_scan = 0.0
        self._scans_started = self._scans_done = 0
        """Scans of the store begun and finished by the scheduler thread."""

    # -- control (any thread) ---------------------------------------------------

    def start(self) -> None:
        limit_math_threads()
        self._thread = threading.Thread(target=self._run, name="tunelab-scheduler", daemon=True)
        self._thread.start()

    def notify(self) -> None:
        """Something changed (a job was created or stopped): scan and tick now."""
        self._scan_now = True
        self._wake.set()

    def wind_down(self) -> None:
        """Start nothing more: the thread ends after the tick it is in, releasing its
        leases (a signal handler may call this; it does not wait)."""
        self._stopping.set()
        self._wake.set()

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop driving jobs and release their leases. Training processes keep
        running; the next scheduler adopts the jobs (as after a crash)."""
        self.wind_down()
        if self._thread is not None:
            self._thread.join(timeout)

    def request_stop_training_job(self, name: str, wait: float = STOP_WAIT_SECONDS) -> bool:
        """Ask the loop or runner that drives the training job to stop it, then wait
        until the store shows the job out of ``InProgress`` (the scheduler thread,
        woken here, commits ``Stopping`` on its next tick), at most ``wait`` seconds and
        only while that thread runs: a Describe after StopTrainingJob then shows
        ``Stopping``, as SageMaker's does. A job not driven here yet (created a moment
        ago) is looked for again after one more scan of the store. False when no loop of
        this scheduler runs it."""
        if not self._ask_to_stop(name):
            # created a moment ago, perhaps not adopted yet: a scan that starts now decides
            started = self._scans_started
            self.notify()
            self._await(lambda: self._scans_done > started, wait)
            if not self._ask_to_stop(name):
                return False
        self._wake.set()
        if not self._await(lambda: left_in_progress(self.store, name), wait):
            log.warning("StopTrainingJob %s: not yet Stopping after %.1f s", name, wait)
        return True

    def _ask_to_stop(self, name: str) -> bool:
        if name in self.training.running:
            self.training.request_stop(name)
            return True
        loop = next((x for x in list(self.loops.values()) if name in x.live), None)
        if loop is not None:
            loop.request_stop_training_job(name)
        return loop is not None

    def _await(self, condition: Callable[[], bool], wait: float) -> bool:
        """Poll ``condition`` until true (True), or until ``wait`` seconds passed or the
        scheduler thread is not running (False)."""
        return poll_until(condition, wait, STOP_POLL_SECONDS, alive=self._thread_alive)

    def _thread_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- the thread ------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                now = self.clock.now()
                if self._scan_now or now - self._last_scan >= self.scan_interval:
                    self._scan_now = False
                    self._last_scan = now
                    self._scans_started += 1
                    self._adopt()
                    self._scans_done += 1
                self._tick_all()
                self._sleep(self.tick_interval)
        finally:
            for name in list(self.loops):
                self._drop(name)
            self.training.release_leases()

    def _sleep(self, timeout: float) -> None:
        """Until ``timeout`` seconds pass, :meth:`notify` is called or an executor has
        something to poll (a training process exited, a start or end finished in a worker
        thread): a freed slot is filled at once, not at the next tick."""
        executors = [loop.executor for loop in self.loops.values()] + [self.training.executor]
        handles = [h for h in (e.wait_handle() for e in executors) if h is not None]
        poller = select.poll()
        for fd in [self._wake.fileno(), *handles]:
            poller.register(fd, select.POLLIN)
        poller.poll(max(0.0, timeout) * 1000)
        self._wake.drain()

    def _adopt(self) -> None:
        for status in (TuningJobStatus.IN_PROGRESS, TuningJobStatus.STOPPING):
            page = self.store.list_tuning_jobs(TuningJobQuery(status=status))
            for job in page.items:
                if job.name not in self.loops:
                    self._try_start(job.name)
        try:
            self.training.adopt()
        except Exception:
            log.exception("adopting standalone training jobs failed")

    def _try_start(self, name: str) -> None:
        settings = LoopSettings(str(self.settings.jobs_root), self.tick_interval)
        loop = TuningLoop(self.store, self._new_executor(), self.clock, name, settings)
        try:
            loop.start()
        except ConflictError:
            loop.executor.close()  # run by another live process
            return
        except (TunelabError, Exception):
            log.exception("could not start tuning job %s", name)
            loop.executor.close()
            return
        self.loops[name] = loop

    def _tick_all(self) -> None:
        for name, loop in list(self.loops.items()):
            try:
                if loop.tick():
                    self._drop(name)
            except Exception as error:
                self._log_loop_failure(name, loop, error)
                self._drop(name)
        try:
            self.training.tick()
        except Exception:
            log.exception("standalone training jobs: a tick failed")

    @staticmethod
    def _log_loop_failure(name: str, loop: TuningLoop, error: Exception) -> None:
        """One warning line when another process took the job over (the loop's lease is
        lost: that process drives it now); the traceback for any other failure."""
        if isinstance(error, ConflictError) and loop.lease.lost:
            log.warning("%s", error.message)
        else:
            log.exception("tuning job %s: the loop failed; it will be adopted again", name)

    def _drop(self, name: str) -> None:
        loop = self.loops.pop(name)
        try:
            loop.lease.release()
        finally:
            loop.executor.close()
