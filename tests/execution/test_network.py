"""``EnableNetworkIsolation``: the job's hosts reach each other and nothing else, and a
machine that cannot isolate refuses such jobs."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tunelab.domain.definition import ResourceSpec
from tunelab.domain.enums import TrainingJobStatus
from tunelab.execution.local import LocalExecutor
from tunelab.execution.network import isolation_problem

from .test_contract import PROGRAMS, collect, lines_of, make_definition, make_request
from .test_hosts import RENDEZVOUS, finished, free_port, host_lines, needs_namespaces

CONNECT_OUT = (PROGRAMS / "connect_out.py").as_uri()


class Listener:
    """A TCP server of the machine's own network (all addresses): it sends "hi" to
    each connection and counts them."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("", 0))
        self.socket.listen()
        self.port = int(self.socket.getsockname()[1])
        self.accepted = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.socket.accept()
            except OSError:  # closed
                return
            with conn:
                self.accepted += 1
                conn.sendall(b"hi")

    def close(self) -> None:
        self.socket.shutdown(socket.SHUT_RDWR)
        self.socket.close()
        self._thread.join(5)


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


def machine_addresses() -> list[str]:
    """127.0.0.1 and the machine's first global IPv4 address (if it has one)."""
    shown = subprocess.run(
        ["ip", "-4", "-o", "addr", "show", "scope", "global"],
        capture_output=True,
        text=True,
        check=True,
    )
    found = [line.split()[3].split("/")[0] for line in shown.stdout.splitlines()]
    return ["127.0.0.1", *found[:1]]


def connect_out(
    executor: LocalExecutor, job_dir: Path, targets: list[str], isolated: bool
) -> dict:
    definition = make_definition(
        CONNECT_OUT, network_isolation=isolated, output_path=str(job_dir.parent / "out")
    )
    executor.submit(make_request(job_dir, definition, {"targets": ",".join(targets)}))
    events = collect(executor, timeout=15)
    done = finished(events)
    assert done.status is TrainingJobStatus.COMPLETED, done.failure_reason
    line = next(x for x in lines_of(events) if x.startswith("connect_out "))
    return json.loads(line[len("connect_out ") :])


@needs_namespaces
def test_an_isolated_job_reaches_nothing_outside_it(
    executor: LocalExecutor, tmp_path: Path, listener: Listener
) -> None:
    targets = [f"{address}:{listener.port}" for address in machine_addresses()]
    isolated = connect_out(executor, tmp_path / "isolated", targets, isolated=True)
    assert isolated["interfaces"] == ["lo"]
    assert set(isolated["results"]) == set(targets)
    assert all(r.startswith("failed: ") for r in isolated["results"].values()), isolated
    assert listener.accepted == 0

    control = connect_out(executor, tmp_path / "control", targets, isolated=False)
    assert control["results"] == {t: "connected: hi" for t in targets}
    assert listener.accepted == len(targets)


@needs_namespaces
@pytest.mark.parametrize("isolated", [True, False])
def test_hosts_of_a_job_reach_each_other_and_the_outside_only_without_isolation(
    executor: LocalExecutor, tmp_path: Path, listener: Listener, isolated: bool
) -> None:
    definition = make_definition(
        RENDEZVOUS,
        resources=ResourceSpec("ml.m5.large", 2),
        network_isolation=isolated,
        output_path=str(tmp_path / "out"),
    )
    hps = {"port": str(free_port()), "outside": f"127.0.0.1:{listener.port}"}
    executor.submit(make_request(tmp_path / "pair", definition, hps))
    events = collect(executor, timeout=15)
    done = finished(events)
    assert done.status is TrainingJobStatus.COMPLETED, done.failure_reason
    with tarfile.open(tmp_path / "out" / "pair" / "output" / "model.tar.gz") as tar:
        received = tar.extractfile("received.txt").read()  # type: ignore[union-attr]
    assert received == b"hello from algo-2\n"
    algo_1_log = (tmp_path / "pair" / "logs" / "attempt-1-algo-1.log").read_text()
    outside = [x for x in algo_1_log.splitlines() + lines_of(events) if x.startswith("outside")]
    assert len(outside) == 2
    if isolated:
        assert all(x.startswith("outside: failed") for x in outside), outside
        assert listener.accepted == 0
    else:
        assert outside == ["outside: connected"] * 2
        assert listener.accepted == 2


def test_isolation_is_refused_where_namespaces_are_unavailable(
    executor: LocalExecutor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not root: an isolated job fails to launch with the reason, never runs unisolated."""
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    problem = isolation_problem()
    assert problem is not None and "EnableNetworkIsolation" in problem
    definition = make_definition(
        CONNECT_OUT, network_isolation=True, output_path=str(tmp_path / "out")
    )
    executor.submit(make_request(tmp_path / "job", definition, {"targets": "127.0.0.1:9"}))
    events = collect(executor)
    done = finished(events)
    assert done.status is TrainingJobStatus.FAILED
    assert done.failure_reason == problem
    assert lines_of(events) == []  # the program never started
    assert not (tmp_path / "job" / "logs").exists()


def test_without_namespaces_hosts_find_each_other_by_their_addresses(
    executor: LocalExecutor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not root: the hosts share the machine's network and are told their addresses."""
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    definition = make_definition(
        RENDEZVOUS, resources=ResourceSpec("ml.m5.large", 2), output_path=str(tmp_path / "out")
    )
    hps = {"port": str(free_port()), "resolve": "env"}
    executor.submit(make_request(tmp_path / "pair", definition, hps))
    events = collect(executor, timeout=15)
    assert finished(events).status is TrainingJobStatus.COMPLETED
    assert "reply: ack from algo-1" in lines_of(events)
    (algo_2,) = host_lines(lines_of(events))
    assert algo_2["address"] != "127.0.0.1" and algo_2["address"].startswith("127.")
