"""Multi-instance training (``InstanceCount > 1``): one process per host, each told who
it is and who its peers are, all meeting by host name in the job's network."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import tarfile
from pathlib import Path

import pytest

from tunelab.domain.definition import ResourceSpec
from tunelab.domain.enums import TrainingJobStatus
from tunelab.execution.base import ExecutorEvent, Finished
from tunelab.execution.local import LocalExecutor
from tunelab.execution.network import isolation_problem

from .test_contract import PROGRAMS, collect, lines_of, make_definition, make_request

RENDEZVOUS = (PROGRAMS / "rendezvous.py").as_uri()

needs_namespaces = pytest.mark.skipif(
    isolation_problem() is not None,
    reason=f"host names resolve only in a network namespace per job: {isolation_problem()}",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("", 0))
        return int(s.getsockname()[1])


def run_hosts(
    executor: LocalExecutor, job_dir: Path, count: int, **hps: str
) -> list[ExecutorEvent]:
    """Run rendezvous.py on ``count`` ml.m5.large hosts; the job's events."""
    definition = make_definition(
        RENDEZVOUS,
        resources=ResourceSpec("ml.m5.large", count),
        output_path=str(job_dir.parent / "out"),
    )
    executor.submit(make_request(job_dir, definition, {"port": str(free_port()), **hps}))
    return collect(executor, timeout=15)


def finished(events: list[ExecutorEvent]) -> Finished:
    assert isinstance(events[-1], Finished), events
    return events[-1]


def host_lines(lines: list[str]) -> list[dict]:
    return [json.loads(x[len("host ") :]) for x in lines if x.startswith("host ")]


def namespaces() -> set[str]:
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    return {line.split()[0] for line in listed.stdout.splitlines() if line.strip()}


@needs_namespaces
def test_hosts_meet_by_name_and_know_who_they_are(executor: LocalExecutor, tmp_path: Path) -> None:
    """algo-2 connects to ``algo-1`` by name; the message reaches algo-1's model."""
    events = run_hosts(executor, tmp_path / "pair", 2)
    done = finished(events)
    assert done.status is TrainingJobStatus.COMPLETED, done.failure_reason
    with tarfile.open(tmp_path / "out" / "pair" / "output" / "model.tar.gz") as tar:
        received = tar.extractfile("received.txt").read()  # type: ignore[union-attr]
    assert received == b"hello from algo-2\n"
    algo_1_log = (tmp_path / "pair" / "logs" / "attempt-1-algo-1.log").read_text()
    assert "received: hello from algo-2" in algo_1_log.splitlines()
    assert "reply: ack from algo-1" in lines_of(events)

    seen = host_lines(algo_1_log.splitlines()) + host_lines(lines_of(events))
    for k, host in enumerate(seen, start=1):
        assert host["SM_CURRENT_HOST"] == host["current_host"] == f"algo-{k}"
        assert host["SM_HOSTS"] == host["hosts"] == ["algo-1", "algo-2"]
    addresses = [host["address"] for host in seen]
    assert len(set(addresses)) == 2 and all(a.startswith("127.") for a in addresses)
    config = tmp_path / "pair" / "hosts" / "algo-2" / "input" / "config" / "resourceconfig.json"
    assert json.loads(config.read_text())["current_host"] == "algo-2"


@needs_namespaces
def test_the_job_output_is_the_last_hosts(executor: LocalExecutor, tmp_path: Path) -> None:
    """Only the last host's lines (and so its objective) are the job's metric output; the
    other hosts' logs stay beside it."""
    events = run_hosts(executor, tmp_path / "trio", 3)
    assert finished(events).status is TrainingJobStatus.COMPLETED
    output = lines_of(events)
    assert "objective=3.0" in output
    assert not {"objective=1.0", "objective=2.0"} & set(output)
    assert [h["SM_CURRENT_HOST"] for h in host_lines(output)] == ["algo-3"]
    logs = tmp_path / "trio" / "logs"
    assert sorted(p.name for p in logs.iterdir()) == [
        "attempt-1-algo-1.log",
        "attempt-1-algo-2.log",
        "attempt-1.log",
    ]
    assert (logs / "attempt-1.log").read_text().splitlines() == output
    assert "objective=1.0" in (logs / "attempt-1-algo-1.log").read_text().splitlines()
    algo_1_log = (logs / "attempt-1-algo-1.log").read_text().splitlines()
    assert sorted(x for x in algo_1_log if x.startswith("received: ")) == [
        "received: hello from algo-2",
        "received: hello from algo-3",
    ]


@needs_namespaces
def test_the_jobs_namespace_is_removed_when_it_ends(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    before = namespaces()
    assert finished(run_hosts(executor, tmp_path / "pair", 2)).status is (
        TrainingJobStatus.COMPLETED
    )
    mine = {ns for ns in namespaces() if ns.startswith(f"tunelab-{os.getpid()}-")}
    assert mine <= before  # nothing of this job is left
    assert not [p for p in Path("/etc/netns").glob(f"tunelab-{os.getpid()}-*")]


def test_a_failing_host_fails_the_job_and_stops_the_others(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    """algo-1 cannot bind a port that is taken: it fails, the job fails with its name,
    and algo-2 (waiting for algo-1) is stopped rather than left to its own timeout."""
    with socket.socket() as taken:
        taken.bind(("", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        definition = make_definition(
            RENDEZVOUS,
            resources=ResourceSpec("ml.m5.large", 2),
            output_path=str(tmp_path / "out"),
        )
        executor.submit(
            make_request(tmp_path / "clash", definition, {"port": port, "resolve": "env"})
        )
        done = finished(collect(executor, timeout=8))
    assert done.status is TrainingJobStatus.FAILED
    reason = done.failure_reason or ""
    assert reason.startswith("algo-1: AlgorithmError: program exited with code 1")
    assert "Address already in use" in reason
