"""Standalone training jobs on a database that several runners (servers) share, on the
simulated executor and a fake clock: a runner drives a job only while it holds the
job's lease, leaves a job another live process drives, takes over one whose holder
died (or whose lease expired), releases the lease when the job ends or the runner
shuts down, and lets a job go when another process took its lease. A StopTrainingJob
another process received reaches the runner through the store."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.factories import make_definition
from tunelab.domain.enums import SecondaryStatus, TrainingJobStatus
from tunelab.domain.trial import TrainingJob
from tunelab.execution.base import LaunchRequest
from tunelab.execution.clock import FakeClock
from tunelab.execution.processes import process_start_time
from tunelab.execution.simulated import SimulatedExecutor, SimulatedRun
from tunelab.orchestrator import lease as lease_module
from tunelab.orchestrator.lease import this_process
from tunelab.orchestrator.training_runner import TrainingRunner
from tunelab.service.settings import Settings
from tunelab.service.training import TrainingService
from tunelab.store.base import Lease
from tunelab.store.sql.store import SqlStore

NAME = "solo"
TTL = 30.0


def program(request: LaunchRequest) -> SimulatedRun:
    lines = tuple((float(k), f"validation:accuracy={0.1 * k}") for k in range(1, 4))
    return SimulatedRun(lines=lines, duration=4.0)


class Shared:
    """One database and one fake clock; each :meth:`runner` is another server's."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path, self.clock = tmp_path, FakeClock()
        url = f"sqlite:///{tmp_path / 'tunelab.db'}"
        self.store = SqlStore(url)
        self.service = TrainingService(
            self.store, self.clock, settings=Settings(home=tmp_path, database_url=url)
        )
        document = {"TrainingJobName": NAME, "HyperParameters": {"epochs": "3"}}
        self.service.create(document | make_definition())

    def runner(self) -> tuple[TrainingRunner, SimulatedExecutor]:
        executor = SimulatedExecutor(program, self.clock)
        runner = TrainingRunner(
            self.store,
            executor,
            self.clock,
            str(self.tmp_path / "jobs"),
            self.service.definition_of,
            "us-east-1",
            "123456789012",
            lease_ttl=TTL,
        )
        return runner, executor

    def lease(self) -> Lease | None:
        return self.store.get_training_job_lease(NAME)

    def job(self) -> TrainingJob:
        return self.store.get_training_job(NAME)


@pytest.fixture
def shared(tmp_path: Path) -> Iterator[Shared]:
    made = Shared(tmp_path)
    yield made
    made.store.close()


@pytest.fixture
def other_process() -> Iterator[subprocess.Popen[bytes]]:
    """A live process of this host, standing for another tunelab server."""
    process = subprocess.Popen(["sleep", "60"])
    yield process
    process.kill()
    process.wait()


def owner_of(process: subprocess.Popen[bytes]) -> str:
    return f"{socket.gethostname()}:{process.pid}:{process_start_time(process.pid)}"


def adopt_as(runner: TrainingRunner, owner: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """``runner.adopt()`` in a runner whose leases name ``owner``."""
    with monkeypatch.context() as patch:
        patch.setattr(lease_module, "this_process", lambda: owner)
        runner.adopt()


def run_to_end(runner: TrainingRunner, executor: SimulatedExecutor) -> None:
    for _ in range(50):
        runner.tick()
        if not runner.running:
            return
        executor.wait(5.0)
    raise AssertionError("the job did not end")


def test_a_job_another_live_process_drives_is_left_to_it_until_it_dies(
    shared: Shared, other_process: subprocess.Popen[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, first_executor = shared.runner()
    adopt_as(first, owner_of(other_process), monkeypatch)
    first.tick()  # records the process id
    assert [r.attempt for r in first_executor.launches] == [1]
    assert shared.lease() == Lease(owner_of(other_process), shared.clock.now() + TTL)

    second, second_executor = shared.runner()
    second.adopt()
    assert second_executor.launches == [] and second.running == {}
    assert shared.job().attempt == 1

    other_process.kill()
    other_process.wait()
    second.adopt()  # the holder is gone: taken over at once, as after kill -9
    assert [r.attempt for r in second_executor.launches] == [2]
    assert shared.lease() is not None and shared.lease().owner == this_process()
    run_to_end(second, second_executor)
    job = shared.job()
    assert job.status is TrainingJobStatus.COMPLETED and job.attempt == 2
    assert SecondaryStatus.INTERRUPTED in [t.status for t in job.transitions]
    assert shared.lease() is None  # released when the job ended


def test_a_job_of_another_host_is_taken_over_when_its_lease_expires(
    shared: Shared, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, _ = shared.runner()
    adopt_as(first, "otherhost:123:456", monkeypatch)  # its liveness cannot be checked
    second, second_executor = shared.runner()
    shared.clock.sleep(TTL - 1)
    second.adopt()
    assert second_executor.launches == []
    shared.clock.sleep(2)
    second.adopt()
    assert [r.attempt for r in second_executor.launches] == [1]
    run_to_end(second, second_executor)
    assert shared.job().status is TrainingJobStatus.COMPLETED


def test_released_leases_let_another_runner_adopt_at_once(
    shared: Shared, other_process: subprocess.Popen[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, _ = shared.runner()
    adopt_as(first, owner_of(other_process), monkeypatch)
    first.release_leases()  # the scheduler's shutdown
    assert shared.lease() is None
    second, second_executor = shared.runner()
    second.adopt()
    assert len(second_executor.launches) == 1


def test_a_runner_lets_a_job_go_when_another_process_took_its_lease(shared: Shared) -> None:
    runner, executor = shared.runner()
    runner.adopt()
    runner.tick()
    held = shared.lease()
    assert held is not None and executor.running() == 1
    # a runner that did not renew in time: another process took the lease over
    taken = Lease("otherhost:123:456", shared.clock.now() + 100)
    assert shared.store.swap_training_job_lease(NAME, held, taken)
    shared.clock.sleep(TTL / 2 + 1)
    runner.tick()
    assert runner.running == {}
    assert executor.launches and executor.running() == 0  # its process was stopped
    assert shared.lease() == taken


def test_a_stop_requested_through_the_store_stops_the_job(shared: Shared) -> None:
    runner, executor = shared.runner()
    runner.adopt()
    runner.tick()
    shared.store.request_training_job_stop(NAME, shared.clock.now())  # another server's API
    shared.clock.sleep(0.5)
    run_to_end(runner, executor)
    job = shared.job()
    assert job.status is TrainingJobStatus.STOPPED
    transitions = [(t.status, t.message) for t in job.transitions]
    assert (SecondaryStatus.STOPPING, "Stopped by StopTrainingJob") in transitions
    assert len(executor.launches) == 1


def test_a_job_adopted_with_a_stop_request_is_stopped_not_run(
    shared: Shared, other_process: subprocess.Popen[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, _ = shared.runner()
    adopt_as(first, owner_of(other_process), monkeypatch)
    first.tick()
    shared.store.request_training_job_stop(NAME, shared.clock.now())
    other_process.kill()  # its runner died before it read the request
    other_process.wait()
    second, second_executor = shared.runner()
    second.adopt()
    assert second_executor.launches == [] and second.running == {}
    job = shared.job()
    assert job.status is TrainingJobStatus.STOPPED
    assert [t.status for t in job.transitions][-2:] == [
        SecondaryStatus.STOPPING,
        SecondaryStatus.STOPPED,
    ]
    assert shared.lease() is None
