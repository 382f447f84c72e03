"""Two runners (servers) of one standalone training job: a runner that stalled inside a
tick past the job's lease (another server took the job over meanwhile) must write
nothing more for it and stop driving it; a runner busy for several lease periods keeps
its lease (the heartbeat), so nobody takes a job from a process that is alive."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.orchestrator.test_training_leases import TTL, Shared, adopt_as, run_to_end
from tunelab.domain.enums import TrainingJobStatus
from tunelab.domain.trial import TrainingJob
from tunelab.execution.base import ExecutorEvent, LaunchRequest
from tunelab.execution.clock import Clock, FakeClock, SystemClock
from tunelab.execution.simulated import SimulatedExecutor, SimulatedRun
from tunelab.orchestrator.training_runner import TrainingRunner

OTHER_HOST = "another-host:4242:1"
"""A process of another machine (the second server): alive as far as this one can tell."""


def failing(request: LaunchRequest) -> SimulatedRun:
    """The stale runner's attempt: it fails, long after the job was taken over."""
    return SimulatedRun(duration=20.0, exit_code=1, failure="stale server reason")


def succeeding(request: LaunchRequest) -> SimulatedRun:
    return SimulatedRun(lines=((2.0, "validation:accuracy=0.9"),), duration=4.0)


@dataclass
class StallingExecutor(SimulatedExecutor):
    """A simulated executor whose next :meth:`poll` first runs ``meanwhile``: what
    other servers do while this one is stuck in the step (the clock moves on)."""

    meanwhile: Callable[[], None] | None = None

    def poll(self) -> list[ExecutorEvent]:
        stall, self.meanwhile = self.meanwhile, None
        if stall is not None:
            stall()
        return super().poll()


def make_runner(
    shared: Shared, executor: SimulatedExecutor, clock: Clock, ttl: float = TTL
) -> TrainingRunner:
    return TrainingRunner(
        shared.store,
        executor,
        clock,
        str(shared.tmp_path / "jobs"),
        shared.service.definition_of,
        "us-east-1",
        "123456789012",
        lease_ttl=ttl,
    )


@pytest.fixture
def shared(tmp_path: Path) -> Iterator[Shared]:
    made = Shared(tmp_path)
    yield made
    made.store.close()


def test_a_runner_that_stalled_past_its_lease_writes_nothing_for_the_job(
    shared: Shared, monkeypatch: pytest.MonkeyPatch
) -> None:
    stale_executor = StallingExecutor(failing, shared.clock)
    stale = make_runner(shared, stale_executor, shared.clock)
    stale.adopt()
    stale.tick()  # its process id committed
    assert shared.job().attempt == 1 and shared.job().pid is not None
    fresh_executor = SimulatedExecutor(succeeding, shared.clock)
    fresh = make_runner(shared, fresh_executor, shared.clock)
    taken_over: list[TrainingJob] = []

    def another_server_takes_over() -> None:
        shared.clock.sleep(TTL + 1)  # the stale runner is stuck past its lease...
        adopt_as(fresh, OTHER_HOST, monkeypatch)  # ...so another server reruns the job
        fresh.tick()
        taken_over.append(shared.job())

    stale_executor.meanwhile = another_server_takes_over
    stale.tick()  # stalls in its poll; wakes up with its attempt failed
    [before] = taken_over
    assert before.attempt == 2 and before.status is TrainingJobStatus.IN_PROGRESS
    assert shared.job() == before  # it wrote none of it
    lease = shared.lease()
    assert lease is not None and lease.owner == OTHER_HOST
    assert stale.running == {} and stale_executor.running() == 0  # it let the job go
    stale.tick()
    stale.adopt()  # the job is another live server's: left to it
    assert len(stale_executor.launches) == 1 and shared.job() == before
    run_to_end(fresh, fresh_executor)
    job = shared.job()
    assert job.status is TrainingJobStatus.COMPLETED and job.attempt == 2
    assert job.failure_reason is None and job.exit_code == 0
    assert shared.lease() is None


def test_the_heartbeat_keeps_the_lease_through_a_long_step(
    shared: Shared, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A runner blocked for several lease periods keeps its job; once it lets it go,
    another server can take it."""
    busy_executor = SimulatedExecutor(succeeding, FakeClock())
    busy = make_runner(shared, busy_executor, SystemClock(), ttl=1.5)
    busy.adopt()
    time.sleep(4.0)  # one long step: more than two lease periods
    other_executor = SimulatedExecutor(succeeding, FakeClock())
    other = make_runner(shared, other_executor, SystemClock(), ttl=1.5)
    adopt_as(other, OTHER_HOST, monkeypatch)
    assert other_executor.launches == []
    busy.tick()  # its writes still go through
    assert shared.job().pid is not None and busy.running
    busy.release_leases()
    time.sleep(1.0)  # the heartbeat ended with the lease: it stays free
    assert shared.lease() is None
    adopt_as(other, OTHER_HOST, monkeypatch)
    assert len(other_executor.launches) == 1
    other.release_leases()
