"""Following a tuning job another live process runs: progress from the store, a stop
passed on, the end, or None once no live process drives it."""

from __future__ import annotations

import socket

from tests.factories import make_document
from tests.orchestrator.conftest import Harness
from tunelab.domain.enums import TuningJobStatus
from tunelab.orchestrator.following import follow
from tunelab.orchestrator.loop import TuningLoop
from tunelab.orchestrator.progress import Progress
from tunelab.store.base import Lease

OTHER_HOST = "another-host:4242:1"
"""A process of another machine: alive as far as this one can tell."""


def other_process(harness: Harness, max_jobs: int = 4) -> TuningLoop:
    """The loop of another process (say a server's scheduler) after its first tick: it
    holds the lease of job-1 and runs its first training jobs."""
    harness.create(make_document(max_jobs=max_jobs, parallel=2))
    loop = harness.loop("job-1", harness.executor())
    loop.lease.owner = OTHER_HOST
    loop.start()
    loop.tick()
    return loop


def ticking(other: TuningLoop, reports: list[Progress]):
    """An on_progress that lets the other process run one tick between two polls."""

    def on_progress(progress: Progress) -> None:
        reports.append(progress)
        if other.lease.held is not None and other.tick():
            other.lease.release()
        other.executor.wait(5.0)

    return on_progress


def test_follows_the_job_to_its_end(harness: Harness) -> None:
    other = other_process(harness)
    reports: list[Progress] = []
    final = follow(
        harness.store, harness.clock, "job-1", ticking(other, reports), lambda: False, 1.0
    )
    assert final is not None and final.status is TuningJobStatus.COMPLETED
    assert reports[0].status is TuningJobStatus.IN_PROGRESS
    assert reports[-1].status is TuningJobStatus.COMPLETED
    assert max(r.running for r in reports) == 2
    assert (reports[-1].created, reports[-1].succeeded, reports[-1].failed) == (4, 4, 0)
    best = harness.store.best_training_job("job-1", final.spec.objective_type)
    assert best is not None and reports[-1].best == best.final_objective_value


def test_a_stop_asked_for_while_following_stops_the_job_where_it_runs(harness: Harness) -> None:
    other = other_process(harness, max_jobs=20)
    reports: list[Progress] = []
    final = follow(
        harness.store,
        harness.clock,
        "job-1",
        ticking(other, reports),
        lambda: len(reports) > 3,
        1.0,
    )
    assert final is not None and final.status is TuningJobStatus.STOPPED
    assert TuningJobStatus.STOPPING in [r.status for r in reports]
    assert reports[-1].created < 20
    assert harness.store.counters("job-1").stopped > 0


def test_none_once_no_live_process_drives_the_job(harness: Harness) -> None:
    other_process(harness)
    dead = f"{socket.gethostname()}:999999999:1"  # a process of this host that is gone
    held = harness.store.get_lease("job-1")
    assert harness.store.swap_lease("job-1", held, Lease(dead, harness.clock.now() + 30))
    reports: list[Progress] = []
    assert (
        follow(harness.store, harness.clock, "job-1", reports.append, lambda: False, 1.0) is None
    )
    assert [r.status for r in reports] == [TuningJobStatus.IN_PROGRESS]


def test_none_once_the_lease_expired(harness: Harness) -> None:
    other_process(harness)  # never ticks again: its lease runs out (30 s)
    reports: list[Progress] = []
    assert (
        follow(harness.store, harness.clock, "job-1", reports.append, lambda: False, 4.0) is None
    )
    assert len(reports) == 9  # at 0, 4, ... 32 s: expired after 30 s
    running = harness.store.counters("job-1").in_progress
    assert running == 2 and all(r.running == 2 for r in reports)


def test_a_job_that_ended_is_returned_at_once(harness: Harness) -> None:
    other = other_process(harness, max_jobs=2)
    while not other.tick():
        other.executor.wait(5.0)
    reports: list[Progress] = []
    final = follow(harness.store, harness.clock, "job-1", reports.append, lambda: False, 1.0)
    assert final is not None and final.status is TuningJobStatus.COMPLETED
    assert [(r.status, r.created, r.running) for r in reports] == [
        (TuningJobStatus.COMPLETED, 2, 0)
    ]
