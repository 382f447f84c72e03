"""A host's CPUs, thread share and memory limit, as the program sees them; a program
that needs more memory than its instance type fails with a clear reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.execution.conftest import CPUS
from tunelab.domain.definition import ResourceSpec
from tunelab.domain.enums import SecondaryStatus, TrainingJobStatus
from tunelab.domain.instance_types import GIB
from tunelab.execution.base import ExecutorEvent, Finished
from tunelab.execution.limits import MemoryLimiter
from tunelab.execution.local import LocalExecutor

from .test_contract import PROGRAMS, collect, lines_of, make_definition, make_request

PROBE = (PROGRAMS / "probe.py").as_uri()


def submit(
    executor: LocalExecutor, job_dir: Path, instance: str = "ml.m5.large", **hps: str
) -> None:
    definition = make_definition(
        PROBE, resources=ResourceSpec(instance, 1), output_path=str(job_dir.parent / "out")
    )
    executor.submit(make_request(job_dir, definition, hps))


def probe(events: list[ExecutorEvent]) -> dict:
    line = next(x for x in lines_of(events) if x.startswith("probe "))
    return json.loads(line[len("probe ") :])


def test_a_host_is_pinned_limited_and_told_its_share(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    submit(executor, tmp_path / "first")
    first = probe(collect(executor))
    assert first["affinity"] == list(CPUS)
    assert first["rlimit_as"] == 8 * GIB  # ml.m5.large's 8 GiB
    threads = str(len(CPUS))
    assert [first[k] for k in ("SM_NUM_CPUS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")] == [
        threads,
        threads,
        threads,
    ]
    assert (first["OPENBLAS_NUM_THREADS"], first["SM_NUM_GPUS"]) == (threads, "0")


def test_hosts_running_together_share_the_cpus(executor: LocalExecutor, tmp_path: Path) -> None:
    submit(executor, tmp_path / "a")  # both are admitted before either starts running
    submit(executor, tmp_path / "b", "ml.c5.xlarge")
    events: list[ExecutorEvent] = []
    while sum(isinstance(e, Finished) for e in events) < 2:
        executor.wait(0.5)
        events += executor.poll()
    seen = {
        e.name: json.loads(line[len("probe ") :])
        for e in events
        if hasattr(e, "lines")
        for line in e.lines  # type: ignore[union-attr]
        if line.startswith("probe ")
    }
    assert seen["a"]["OMP_NUM_THREADS"] == str(len(CPUS))
    # the second host shares the busiest CPU with the first: half of them each
    assert seen["b"]["OMP_NUM_THREADS"] == str(max(1, len(CPUS) // 2))
    assert seen["b"]["rlimit_as"] == 8 * GIB  # ml.c5.xlarge: 4 vCPUs, 8 GiB


def test_memory_beyond_the_instance_type_fails_with_a_clear_reason(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    submit(executor, tmp_path / "greedy", "ml.t3.medium", allocate_gib="6")
    done = collect(executor, timeout=30)[-1]
    assert isinstance(done, Finished)
    assert (done.status, done.secondary) == (TrainingJobStatus.FAILED, SecondaryStatus.FAILED)
    assert done.failure_reason is not None
    assert done.failure_reason.startswith(
        "OutOfMemoryError: the training job ran out of memory: ml.t3.medium has 4 GiB "
        "(enforced with RLIMIT_AS). Please use an instance type with more memory"
    )
    assert "MemoryError" in done.failure_reason  # the program's own last lines follow
    assert not done.internal  # the program's failure: never retried
    submit(executor, tmp_path / "modest", "ml.t3.medium", allocate_gib="0.25")
    done = collect(executor, timeout=30)[-1]
    assert isinstance(done, Finished) and done.status is TrainingJobStatus.COMPLETED


def test_without_util_linux_the_limits_are_applied_in_the_child(
    executor: LocalExecutor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no taskset, no prlimit
    submit(executor, tmp_path / "job", "ml.t3.medium")
    seen = probe(collect(executor))
    assert (seen["affinity"], seen["rlimit_as"]) == (list(CPUS), 4 * GIB)


def test_cgroup_v2_memory_limits(tmp_path: Path) -> None:
    root = tmp_path / "delegated"
    root.mkdir()
    (root / "cgroup.subtree_control").write_text("cpu memory\n")
    limiter = MemoryLimiter(str(root))
    assert limiter.mechanism == "cgroup v2 memory.max"
    (root / "tunelab-job_1-algo-1").mkdir()
    (root / "tunelab-job_1-algo-1" / "memory.swap.max").write_text("max")
    limit, prefix = limiter.prepare("job/1-algo-1", 4 * GIB)
    assert prefix == []  # no prlimit: the cgroup limits the process
    group = Path(limit.cgroup or "")
    assert group == root / "tunelab-job_1-algo-1"
    assert (group / "memory.max").read_text() == str(4 * GIB)
    assert (group / "memory.swap.max").read_text() == "0"
    limiter.attach(limit, 4321)
    assert (group / "cgroup.procs").read_text() == "4321"
    (group / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 0\n")
    assert not limiter.oom(limit, ["MemoryError"])  # the cgroup's word counts, not the log
    (group / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
    assert limiter.oom(limit, [])
    assert "(enforced with cgroup v2 memory.max)" in limiter.reason("ml.m5.large", limit)
    limiter.release(limit)
    assert not group.exists()
    (root / "cgroup.subtree_control").write_text("cpu\n")  # memory not delegated
    assert MemoryLimiter(str(root)).mechanism == "RLIMIT_AS"
    assert MemoryLimiter(None).prepare("x", GIB)[1] == ["prlimit", f"--as={GIB}:{GIB}"]
