"""RayExecutor on a real one-node Ray cluster (started once per test session): outcomes,
logs, stops, capacity, a home the node does not see, close."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import RAY_CPUS, RAY_MEMORY_GIB
from tunelab.domain.definition import ResourceSpec, StoppingCondition
from tunelab.domain.enums import SecondaryStatus, TrainingJobStatus
from tunelab.execution.base import ExecutorEvent, Finished, LaunchRequest, StatusChanged
from tunelab.execution.processes import process_start_time
from tunelab.execution.ray_executor import RayExecutor
from tunelab.execution.ray_pool import pool_of
from tunelab.service.executors import WITNESS, NodeExecutor, home_witness
from tunelab.service.settings import Settings

from .test_contract import PROGRAMS, collect, lines_of, make_definition, make_request

BEHAVE = (PROGRAMS / "behave.py").as_uri()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", database_url="sqlite://", stop_grace_seconds=1)


@pytest.fixture
def executor(ray_cluster: str, settings: Settings) -> Iterator[RayExecutor]:
    recipe = NodeExecutor(settings, home_witness(settings.home))
    ex = RayExecutor(ray_cluster, recipe, {"registered": BEHAVE}.get, stop_grace_seconds=1)
    yield ex
    ex.close()


def request(
    settings: Settings, name: str, hps: dict[str, str], **changes: object
) -> LaunchRequest:
    changes.setdefault("output_path", str(settings.home / "out"))
    definition = make_definition(BEHAVE, **changes)
    return make_request(settings.jobs_root / name, definition, hps)


def finished(events: list[ExecutorEvent]) -> Finished:
    assert isinstance(events[-1], Finished), events
    return events[-1]


def test_a_job_runs_on_the_cluster_and_packs_its_model(
    executor: RayExecutor, settings: Settings
) -> None:
    executor.submit(request(settings, "job", {"lines": "3", "model": "weights"}))
    events = collect(executor, timeout=60)
    kinds = [(type(e).__name__, getattr(e, "secondary", None)) for e in events]
    assert kinds[0] == ("StatusChanged", SecondaryStatus.TRAINING)
    assert kinds[-2:] == [
        ("StatusChanged", SecondaryStatus.UPLOADING),
        ("Finished", SecondaryStatus.COMPLETED),
    ]
    assert lines_of(events) == [f"step={i} loss={1.0 / (i + 1):.4f};" for i in range(3)]
    done = finished(events)
    assert done.status is TrainingJobStatus.COMPLETED and done.exit_code == 0
    model = settings.home / "out" / "job" / "output" / "model.tar.gz"
    assert done.model_artifacts == model.as_uri()
    with tarfile.open(model) as tar:
        assert tar.extractfile("model.txt").read() == b"weights"  # type: ignore[union-attr]
    assert executor.running() == 0


def test_a_failing_program_fails_the_job(executor: RayExecutor, settings: Settings) -> None:
    executor.submit(request(settings, "bad", {"failure": "bad data", "exit": "3"}))
    done = finished(collect(executor, timeout=60))
    assert done.status is TrainingJobStatus.FAILED
    assert done.exit_code == 3 and done.failure_reason is not None
    assert "bad data" in done.failure_reason


def test_stop_ends_the_job_stopped(executor: RayExecutor, settings: Settings) -> None:
    executor.submit(request(settings, "long", {"ready": "1", "sleep": "60"}))
    collect(executor, timeout=60, until="ready")
    started = time.monotonic()
    executor.stop("long")
    done = finished(collect(executor, timeout=30))
    assert done.status is TrainingJobStatus.STOPPED
    assert done.secondary is SecondaryStatus.STOPPED
    assert time.monotonic() - started < 10


def test_an_algorithm_name_runs_the_image_the_driver_resolves(
    executor: RayExecutor, settings: Settings
) -> None:
    job = request(settings, "named", {"lines": "1"}, training_image=None)
    job = dataclasses.replace(
        job, definition=dataclasses.replace(job.definition, algorithm_name="registered")
    )
    executor.submit(job)
    events = collect(executor, timeout=60)
    assert finished(events).status is TrainingJobStatus.COMPLETED, events
    assert lines_of(events) == ["step=0 loss=1.0000;"]


def test_a_job_no_node_can_hold_fails_at_once(executor: RayExecutor, settings: Settings) -> None:
    big = ResourceSpec(instance_type="ml.c5.4xlarge", instance_count=1)  # 16 vCPUs
    executor.submit(request(settings, "big", {}, resources=big))
    done = finished(executor.poll())
    assert done.status is TrainingJobStatus.FAILED
    assert done.failure_reason == (
        "ResourceConfig: 1 x ml.c5.4xlarge needs 16 CPUs and 8.0 GiB of memory on one node of "
        "the Ray cluster (memory: 32 GiB / memory overcommit 4, TUNELAB_MEMORY_OVERCOMMIT), "
        f"and its largest node has {RAY_CPUS} CPUs and {RAY_MEMORY_GIB:.1f} GiB of memory in "
        "all (ray start --num-cpus and --memory set what a node offers)"
    )


def test_a_job_whose_memory_no_node_has_fails_at_once_while_others_run(
    executor: RayExecutor, settings: Settings
) -> None:
    executor.submit(request(settings, "running", {"ready": "1", "sleep": "60"}))
    collect(executor, timeout=60, until="ready")
    big = ResourceSpec(instance_type="ml.r5.2xlarge", instance_count=1)  # 8 vCPUs, 64 GiB
    executor.submit(request(settings, "big", {}, resources=big))
    done = finished(executor.poll())
    assert done.name == "big" and done.status is TrainingJobStatus.FAILED
    assert done.failure_reason is not None
    assert "needs 8 CPUs and 16.0 GiB of memory" in done.failure_reason


def test_a_job_waits_for_capacity_and_can_be_stopped_while_it_waits(
    executor: RayExecutor, settings: Settings
) -> None:
    whole_node = ResourceSpec(instance_type="ml.c5.2xlarge", instance_count=1)  # 8 vCPUs
    executor.submit(
        request(settings, "first", {"ready": "1", "sleep": "60"}, resources=whole_node)
    )
    collect(executor, timeout=60, until="ready")
    executor.submit(request(settings, "second", {"lines": "1"}, resources=whole_node))
    executor.submit(request(settings, "third", {"lines": "1"}, resources=whole_node))
    waiting: list[ExecutorEvent] = []
    deadline = time.monotonic() + 10
    while len(waiting) < 2 and time.monotonic() < deadline:
        executor.wait(1)
        waiting += executor.poll()
    assert {(e.name, e.secondary) for e in waiting if isinstance(e, StatusChanged)} == {
        ("second", SecondaryStatus.STARTING),
        ("third", SecondaryStatus.STARTING),
    }
    assert all("Waiting for capacity" in e.message for e in waiting)  # type: ignore[union-attr]
    executor.stop("third")
    stopped = finished(executor.poll())
    assert (stopped.name, stopped.status) == ("third", TrainingJobStatus.STOPPED)
    executor.stop("first")
    events = collect(executor, timeout=30)
    assert (finished(events).name, finished(events).status) == ("first", TrainingJobStatus.STOPPED)
    events = collect(executor, timeout=60)  # the room first held goes to the second
    assert (finished(events).name, finished(events).status) == (
        "second",
        TrainingJobStatus.COMPLETED,
    )


def test_max_wait_ends_a_job_still_waiting(executor: RayExecutor, settings: Settings) -> None:
    whole_node = ResourceSpec(instance_type="ml.c5.2xlarge", instance_count=1)
    executor.submit(
        request(settings, "holder", {"ready": "1", "sleep": "60"}, resources=whole_node)
    )
    collect(executor, timeout=60, until="ready")
    spot = request(
        settings,
        "spot",
        {},
        resources=whole_node,
        enable_managed_spot=True,
        stopping=StoppingCondition(max_runtime_seconds=60, max_wait_seconds=62),
    )
    executor.submit(dataclasses.replace(spot, not_after=time.time() + 2))
    events = collect(executor, timeout=30)
    done = finished(events)
    assert (done.name, done.secondary) == ("spot", SecondaryStatus.MAX_WAIT_TIME_EXCEEDED)


def test_a_node_that_does_not_see_the_home_fails_the_job(
    ray_cluster: str, settings: Settings
) -> None:
    home_witness(settings.home)
    elsewhere = NodeExecutor(settings, witness="a token of another home")
    executor = RayExecutor(ray_cluster, elsewhere, stop_grace_seconds=1)
    try:
        executor.submit(request(settings, "job", {"lines": "1"}))
        done = finished(collect(executor, timeout=60))
    finally:
        executor.close()
    assert done.status is TrainingJobStatus.FAILED
    assert done.failure_reason is not None
    assert f"does not see tunelab's home {settings.home}" in done.failure_reason


def test_the_home_witness_is_written_once(tmp_path: Path) -> None:
    token = home_witness(tmp_path / "home")
    assert home_witness(tmp_path / "home") == token == (tmp_path / "home" / WITNESS).read_text()
    assert sorted(p.name for p in (tmp_path / "home").iterdir()) == [WITNESS]


def test_close_ends_the_running_jobs_processes(executor: RayExecutor, settings: Settings) -> None:
    executor.submit(request(settings, "left", {"ready": "1", "sleep": "60"}))
    events = collect(executor, timeout=60, until="ready")
    training = next(e for e in events if isinstance(e, StatusChanged) and e.pid)
    assert training.pid is not None
    assert process_start_time(training.pid) == training.pid_start_time
    executor.close()
    deadline = time.monotonic() + 20
    while process_start_time(training.pid) == training.pid_start_time:
        assert time.monotonic() < deadline, "the job's process outlived its executor"
        time.sleep(0.1)
    assert executor.running() == 0


def test_several_hosts_run_on_one_node(executor: RayExecutor, settings: Settings) -> None:
    two = ResourceSpec(instance_type="ml.m5.large", instance_count=2)
    executor.submit(request(settings, "pair", {"lines": "1"}, resources=two))
    events = collect(executor, timeout=60)
    assert finished(events).status is TrainingJobStatus.COMPLETED, events
    logs = sorted(p.name for p in (settings.jobs_root / "pair").rglob("*.log"))
    assert len(logs) == 2, logs
    assert os.path.isdir(settings.jobs_root / "pair")


def test_a_gpu_type_on_a_cluster_without_gpus_runs_on_cpus(
    executor: RayExecutor, settings: Settings
) -> None:
    gpu = ResourceSpec(instance_type="ml.g4dn.xlarge", instance_count=1)  # 4 vCPUs, 1 GPU
    executor.submit(request(settings, "gpu", {"lines": "1"}, resources=gpu))
    events = collect(executor, timeout=60)
    assert finished(events).status is TrainingJobStatus.COMPLETED, events


def test_an_agent_that_cannot_start_on_its_node_says_why(
    ray_cluster: str, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A recipe from a module the node cannot import, as on a node without tunelab."""
    (tmp_path / "only_on_the_driver.py").write_text(
        "class Recipe:\n    def __call__(self, algorithms):\n        raise AssertionError\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))  # after the cluster's workers started
    from only_on_the_driver import Recipe  # type: ignore[import-not-found]

    executor = RayExecutor(ray_cluster, Recipe(), stop_grace_seconds=1)
    try:
        executor.submit(request(settings, "job", {"lines": "1"}))
        done = finished(collect(executor, timeout=60))
    finally:
        executor.close()
    assert done.status is TrainingJobStatus.FAILED and done.internal
    assert done.failure_reason == (
        "the job's Ray actor could not start on its node: ModuleNotFoundError: No module named "
        "'only_on_the_driver' (every node needs the same tunelab installed)"
    )


@pytest.mark.slow
def test_jobs_go_to_the_node_that_holds_them_and_a_lost_node_fails_its_jobs(
    tmp_path: Path,
) -> None:
    """Two nodes on this machine (Ray's own test cluster, in a process of its own: this
    one has joined the session's cluster): see ``programs/two_node_cluster.py``."""
    root = Path(__file__).resolve().parents[2]
    script = PROGRAMS / "two_node_cluster.py"
    result = subprocess.run(
        [sys.executable, str(script), str(tmp_path)],
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.splitlines()[-1])
    assert report["placed"] == {
        "wide": "worker",  # 8 vCPUs: the head has 2
        "narrow": "head",
        "doomed": "worker",
        "survivor": "head",
    }
    ended = report["ended"]
    assert ended["wide"] == ended["narrow"] == ended["survivor"] == ["Completed", None, False]
    status, reason, internal = ended["doomed"]
    assert status == "Failed" and internal  # the tuning job may run it again
    assert reason.startswith(
        "the job's Ray agent was lost (its node or its process ended): ActorDiedError: "
    )


def test_executors_of_one_process_share_the_node_agent_and_keep_their_own_events(
    ray_cluster: str, settings: Settings
) -> None:
    recipe = NodeExecutor(settings, home_witness(settings.home))
    first = RayExecutor(ray_cluster, recipe, stop_grace_seconds=1)
    second = RayExecutor(ray_cluster, recipe, stop_grace_seconds=1)
    try:
        first.submit(request(settings, "mine", {"ready": "1", "sleep": "60"}))
        second.submit(request(settings, "theirs", {"lines": "2", "interval": "1.5"}))
        collect(first, timeout=60, until="ready")
        assert pool_of(recipe) is first._agents is second._agents
        assert len(pool_of(recipe)._nodes) == 1  # one agent on the one node
        first.close()  # stops its own job only
        events = collect(second, timeout=60)
    finally:
        first.close()
        second.close()
    assert {e.name for e in events} == {"theirs"}
    assert finished(events).status is TrainingJobStatus.COMPLETED
    assert lines_of(events) == ["step=0 loss=1.0000;", "step=1 loss=0.5000;"]
    assert pool_of(recipe)._nodes == {}  # the last executor left: the agent is gone


def test_a_program_ends_with_its_node_agent(executor: RayExecutor, settings: Settings) -> None:
    executor.submit(request(settings, "job", {"ready": "1", "sleep": "60"}))
    events = collect(executor, timeout=60, until="ready")
    [pid] = [e.pid for e in events if isinstance(e, StatusChanged) and e.pid]
    assert pid is not None
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()
    os.kill(int(stat[1]), signal.SIGKILL)  # the agent: the program's parent
    done = finished(collect(executor, timeout=60))
    assert done.status is TrainingJobStatus.FAILED and done.internal
    assert done.failure_reason is not None
    assert done.failure_reason.startswith(
        "the job's Ray agent was lost (its node or its process ended): "
    )
    assert len(done.failure_reason) <= 300, done.failure_reason
    deadline = time.monotonic() + 10
    while Path(f"/proc/{pid}").exists():  # killed with its parent, reaped by init
        assert time.monotonic() < deadline, "the program outlived its agent"
        time.sleep(0.1)
