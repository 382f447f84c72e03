"""Fixtures of the execution tests: a real S3 API (moto's server), and a local executor
on (at most) two of this machine's CPUs with plenty of memory."""

import os
from collections.abc import Iterator

import pytest

from tests.execution.s3server import s3, s3_server  # noqa: F401  (fixtures)
from tunelab.domain.instance_types import GIB
from tunelab.execution.ledger import Ledger
from tunelab.execution.local import LocalExecutor
from tunelab.execution.resources import Machine, Overcommit

CPUS = tuple(sorted(os.sched_getaffinity(0)))[:2]


@pytest.fixture
def executor() -> Iterator[LocalExecutor]:
    """Modules with an executor fixture of their own use theirs."""
    ledger = Ledger(Machine(CPUS, 64 * GIB), Overcommit())
    ex = LocalExecutor(stop_grace_seconds=1, ledger=ledger)
    yield ex
    shut_down(ex)


def shut_down(executor: LocalExecutor) -> None:
    """Kill every host process a test left running, then close the executor."""
    executor._take_work(wait=True)  # the jobs still starting or finishing
    for job in list(executor._jobs.values()):
        for host in job.hosts:
            host.proc.kill()
            host.proc.wait()
    executor.close()
