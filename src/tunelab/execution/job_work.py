"""Work on a training job that may take long, in worker threads: laying out its directory,
staging its data and starting its processes; closing its data streams (the last
checkpoint upload) and packing and uploading its model. Milliseconds on a slow disk,
minutes for a large channel or model: the thread that polls the running jobs and starts
the others never waits for it.

Work that is sure to be quick runs at once instead (:func:`run_now`: a thread handoff
costs more than it). The executor hands work to :meth:`JobWork.begin` and collects, in
order, what it reports with :meth:`JobWork.take`: the events the work announces while it
runs (``Downloading``) and, last, its outcome: :class:`Done` with the work's value, or
:class:`Failed` with the exception that ended it. Each report calls ``wake``, so that an
executor waiting for processes to exit wakes up to take it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from tunelab.execution.base import ExecutorEvent

DEFAULT_WORK_THREADS = 4
"""Work that may run at once: a slow disk's latency overlaps across jobs."""

Announce = Callable[[ExecutorEvent], None]


@dataclass(frozen=True)
class Done:
    """Work on ``name`` (about ``subject``) that returned ``value``."""

    name: str
    value: Any
    subject: Any = None


@dataclass(frozen=True)
class Failed:
    """Work on ``name`` (about ``subject``) that raised ``error``."""

    name: str
    error: BaseException
    subject: Any = None


WorkReport = ExecutorEvent | Done | Failed


def run_now(
    name: str, work: Callable[[Announce], Any], subject: Any, announce: Announce
) -> Done | Failed:
    """Run ``work(announce)`` in this thread: work that is quick needs no worker. An
    exception is reported, for the executor to decide; a KeyboardInterrupt goes on."""
    try:
        return Done(name, work(announce), subject)
    except Exception as error:
        return Failed(name, error, subject)


class JobWork:
    """Work running in worker threads, at most one per training job name. Its methods are
    called by one thread (the executor's); the workers only add to the reports, under a
    lock."""

    def __init__(self, wake: Callable[[], None], threads: int = DEFAULT_WORK_THREADS) -> None:
        """``wake``: called from a worker at each report (must be thread-safe)."""
        self._wake = wake
        self._threads = threads
        self._workers: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._reports: list[WorkReport] = []
        self._in_flight: set[str] = set()

    def __contains__(self, name: object) -> bool:
        return name in self._in_flight

    def __len__(self) -> int:
        """Work begun and not yet taken."""
        return len(self._in_flight)

    def begin(self, name: str, work: Callable[[Announce], Any], subject: Any = None) -> None:
        """Run ``work(announce)`` in a worker; it may ``announce`` events before it ends.
        ``subject``: what the work is about, handed back with its outcome."""
        if name in self._in_flight:
            raise ValueError(f"work on {name} is already running")
        if self._workers is None:
            self._workers = ThreadPoolExecutor(self._threads, "tunelab-job-work")
        self._in_flight.add(name)
        self._workers.submit(self._run, name, work, subject)

    def take(self) -> list[WorkReport]:
        """What the work reported since the last call, in the order it was reported; a
        work's outcome comes after its announcements and ends its being in flight."""
        with self._lock:
            reports, self._reports = self._reports, []
        for report in reports:
            if isinstance(report, Done | Failed):
                self._in_flight.discard(report.name)
        return reports

    def has_reports(self) -> bool:
        with self._lock:
            return bool(self._reports)

    def finish(self) -> list[WorkReport]:
        """Wait for all work in flight to end; then :meth:`take`."""
        if self._workers is not None:
            self._workers.shutdown(wait=True)
            self._workers = None
        return self.take()

    def _run(self, name: str, work: Callable[[Announce], Any], subject: Any) -> None:
        try:
            outcome = run_now(name, work, subject, self._report)
        except BaseException as error:  # a worker has no caller to hand it to
            outcome = Failed(name, error, subject)
        self._report(outcome)

    def _report(self, report: WorkReport) -> None:
        """Add ``report`` and wake the executor, so that it takes it soon."""
        with self._lock:
            self._reports.append(report)
        self._wake()
