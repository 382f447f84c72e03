"""JobWork: work on training jobs runs in worker threads, its reports come back in order."""

from __future__ import annotations

import threading

import pytest

from tunelab.domain.enums import SecondaryStatus
from tunelab.execution.base import StatusChanged
from tunelab.execution.job_work import Announce, Done, Failed, JobWork, run_now


def test_slow_work_holds_up_no_other() -> None:
    woken = threading.Semaphore(0)
    work = JobWork(woken.release, threads=2)
    release = threading.Event()
    work.begin("slow", lambda announce: release.wait(30))
    work.begin("fast", lambda announce: "started")
    assert woken.acquire(timeout=30)
    assert work.take() == [Done("fast", "started")]
    assert "slow" in work and "fast" not in work and len(work) == 1
    release.set()
    assert work.finish() == [Done("slow", True)]
    assert len(work) == 0


def test_reports_keep_their_order_and_exceptions_are_reports() -> None:
    work = JobWork(lambda: None, threads=1)
    note = StatusChanged("a", 0.0, SecondaryStatus.DOWNLOADING, "Downloading input data")

    def announces_then_fails(announce: Announce) -> None:
        announce(note)
        raise OSError("no space left on device")

    work.begin("a", announces_then_fails)
    work.begin("b", lambda announce: 1)
    reports = work.finish()
    assert reports[0] is note
    assert isinstance(reports[1], Failed) and reports[1].name == "a"
    assert str(reports[1].error) == "no space left on device"
    assert reports[2] == Done("b", 1)


def test_one_work_per_job_at_a_time() -> None:
    work = JobWork(lambda: None, threads=1)
    release = threading.Event()
    work.begin("a", lambda announce: release.wait(30))
    with pytest.raises(ValueError, match="work on a is already running"):
        work.begin("a", lambda announce: None)
    release.set()
    work.finish()
    work.begin("a", lambda announce: None)  # again, once the first was taken
    assert work.finish() == [Done("a", None)]


def test_work_run_at_once_lets_a_keyboard_interrupt_through() -> None:
    def interrupted(announce: Announce) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_now("a", interrupted, None, lambda event: None)
    assert isinstance(run_now("a", lambda a: 1 / 0, None, lambda e: None), Failed)


def test_a_worker_reports_even_what_is_no_exception() -> None:
    work = JobWork(lambda: None, threads=1)

    def exits(announce: Announce) -> None:
        raise SystemExit(3)

    work.begin("a", exits)
    [report] = work.finish()
    assert isinstance(report, Failed) and isinstance(report.error, SystemExit)
