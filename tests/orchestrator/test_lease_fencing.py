"""Two drivers of one tuning job: a loop whose lease ran out while it was busy (a
stalled server) must not overwrite what the process that took the job over stored;
and a loop busy in one long step keeps its lease (the heartbeat), so nobody takes the
job from a process that is alive and working. The two-driver tests run on SQLite and,
when ``TUNELAB_TEST_POSTGRES_URL`` is set, on PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.factories import make_document
from tests.orchestrator.conftest import Harness
from tests.store.conftest import store_url  # noqa: F401  (fixture: SQLite and PostgreSQL)
from tunelab.domain.enums import TrainingJobStatus, TuningJobStatus
from tunelab.domain.errors import ConflictError
from tunelab.execution.base import LaunchRequest
from tunelab.execution.clock import FakeClock, SystemClock
from tunelab.execution.simulated import SimulatedExecutor, SimulatedRun
from tunelab.orchestrator.lease import LeaseKeeper
from tunelab.orchestrator.loop import LoopSettings, TuningLoop
from tunelab.store.base import Lease, TrainingJobQuery, iterate_training_jobs
from tunelab.store.sql.store import SqlStore

OTHER_HOST = "another-host:4242:1"
"""A process of another machine (the second server): alive as far as this one can tell."""


def failing(request: LaunchRequest) -> SimulatedRun:
    """The stale driver's view of the job: its attempt fails (F12: a FIFO as
    ``output/failure``, read long after the job was taken over)."""
    return SimulatedRun(duration=20.0, exit_code=1, failure="stale server reason")


def succeeding(request: LaunchRequest) -> SimulatedRun:
    return SimulatedRun(lines=((5.0, "validation:accuracy=0.9"),), duration=6.0)


@pytest.fixture
def shared(store_url: str, tmp_path: Path) -> Iterator[Harness]:  # noqa: F811
    """A harness on an empty database of either backend."""
    store = SqlStore(store_url)
    yield Harness(store, FakeClock(), tmp_path)
    store.close()


def stored(harness: Harness) -> tuple[object, list[object]]:
    jobs = iterate_training_jobs(harness.store, TrainingJobQuery("job-1", sort_by="Name"))
    return harness.store.get_tuning_job("job-1"), list(jobs)


def test_a_driver_whose_lease_was_taken_over_writes_nothing(shared: Harness) -> None:
    harness = shared
    harness.create(make_document(max_jobs=2, parallel=1))
    stale = harness.loop("job-1", harness.executor(failing))
    stale.start()
    stale.tick()  # training job 001 launched
    stale.tick()  # its process id committed
    first = harness.store.get_training_job(next(iter(stale.live)))
    assert first.pid is not None
    # the stale driver is stuck in one step past its lease (30 s)...
    harness.clock.advance_to(harness.clock.now() + 31)
    # ...so a second server takes the job over and runs it to its end
    fresh = harness.loop("job-1", harness.executor(succeeding))
    fresh.lease.owner = OTHER_HOST
    fresh.start()
    while not fresh.tick():
        fresh.executor.wait(5.0)
    fresh.lease.release()
    job, jobs = stored(harness)
    assert job.status is TuningJobStatus.COMPLETED
    assert [(j.status, j.final_objective_value) for j in jobs] == [
        (TrainingJobStatus.COMPLETED, 0.9),
        (TrainingJobStatus.COMPLETED, 0.9),
    ]
    assert jobs[0].name == first.name and jobs[0].attempt == 2  # rerun by the new holder
    # the stale driver wakes up: its attempt of 001 "failed"; it must write none of it
    stale.executor.wait(30.0)
    with pytest.raises(ConflictError) as raised:
        stale.tick()
    assert stored(harness) == (job, jobs)
    assert "another process took over tuning job 'job-1'" in raised.value.message
    assert stale.lease.lost and stale.lease.held is None
    with pytest.raises(ConflictError, match="another process took over"):
        stale.tick()  # and it never drives again
    assert stored(harness) == (job, jobs)
    best = harness.store.best_training_job("job-1", job.spec.objective_type)
    assert best is not None and best.final_objective_value == 0.9


def test_a_takeover_while_the_old_driver_still_runs_jobs_refuses_its_launches(
    shared: Harness,
) -> None:
    """The stale driver would start new training jobs: its commit of them is refused
    before any is launched, so no job runs twice."""
    harness = shared
    harness.create(make_document(max_jobs=4, parallel=2))
    stale = harness.loop("job-1", harness.executor(succeeding))
    stale.start()
    stale.tick()
    harness.clock.advance_to(harness.clock.now() + 31)  # its two jobs ended; it stalled
    fresh = harness.loop("job-1", harness.executor(succeeding))
    fresh.lease.owner = OTHER_HOST
    fresh.start()  # reruns the two jobs the stale one ran
    launched_before = len(stale.executor.launches)
    with pytest.raises(ConflictError) as raised:
        stale.tick()  # would commit both ends and two new jobs
    assert len(stale.executor.launches) == launched_before == 2
    names = [j.name for j in stored(harness)[1]]
    assert len(names) == 2  # no job of the stale driver's suggestions was stored
    assert "another process took over tuning job 'job-1'" in raised.value.message
    while not fresh.tick():
        fresh.executor.wait(5.0)
    job, jobs = stored(harness)
    assert job.status is TuningJobStatus.COMPLETED and len(jobs) == 4


def test_the_heartbeat_keeps_the_lease_through_a_long_step(tmp_path: Path) -> None:
    """A loop blocked in one step for several lease periods (packing a large model)
    keeps its job: another process cannot take it, and the loop goes on afterwards;
    once the loop lets it go, the other process can."""
    store = SqlStore(f"sqlite:///{tmp_path / 'tunelab.db'}")
    harness = Harness(store, FakeClock(), tmp_path)
    harness.create(make_document(max_jobs=2, parallel=1))
    settings = LoopSettings(str(tmp_path / "jobs"), poll_interval=5.0, lease_ttl=1.5)

    def loop(owner: str | None = None) -> TuningLoop:
        executor = SimulatedExecutor(succeeding, FakeClock())
        made = TuningLoop(store, executor, SystemClock(), "job-1", settings)
        made.lease.owner = owner or made.lease.owner
        return made

    busy = loop()
    busy.start()
    busy.tick()
    time.sleep(4.0)  # one long step: more than two lease periods
    other = loop(OTHER_HOST)
    with pytest.raises(ConflictError, match="is being run by another process"):
        other.start()
    assert not busy.tick()  # its writes still go through
    busy.lease.release()
    time.sleep(1.0)  # the heartbeat ended with the loop: the lease stays free
    assert store.get_lease("job-1") is None
    other.start()
    assert other.lease.held is not None
    other.lease.release()
    store.close()


def test_the_heartbeat_notices_a_takeover_and_leaves_the_lease_alone(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'tunelab.db'}")
    Harness(store, FakeClock(), tmp_path).create(make_document())
    keeper = LeaseKeeper(store, "job-1", SystemClock(), ttl=0.6, heartbeat=0.1)
    keeper.acquire()
    theirs = Lease(OTHER_HOST, time.time() + 60)
    assert store.swap_lease("job-1", store.get_lease("job-1"), theirs)
    deadline = time.monotonic() + 5
    while not keeper.lost and time.monotonic() < deadline:
        time.sleep(0.05)
    assert keeper.lost and keeper.held is None
    with pytest.raises(ConflictError, match="another process took over tuning job 'job-1'"):
        keeper.check()
    keeper.release()
    assert store.get_lease("job-1") == theirs
    store.close()
