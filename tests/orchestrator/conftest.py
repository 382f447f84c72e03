"""Fixtures for the tuning loop: a real SQLite store, a fake clock and the
simulated executor playing scripted training jobs."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tunelab.domain.enums import TuningJobStatus
from tunelab.domain.request import parse_tuning_job
from tunelab.domain.tuning_job import TuningJob
from tunelab.execution.base import LaunchRequest
from tunelab.execution.clock import FakeClock
from tunelab.execution.simulated import SimulatedExecutor, SimulatedRun
from tunelab.orchestrator.loop import LoopSettings, TuningLoop
from tunelab.orchestrator.progress import Progress
from tunelab.store.sql.store import SqlStore


def accuracy_of(hyperparameters: dict[str, str]) -> float:
    """A smooth objective with its optimum at lr=0.01, depth=4, kernel=rbf."""
    lr = float(hyperparameters.get("lr", "0.01"))
    depth = int(hyperparameters.get("depth", "4"))
    kernel = hyperparameters.get("kernel", "rbf")
    value = 0.95 - (math.log10(lr) + 2) ** 2 / 20 - (depth - 4) ** 2 / 200
    return round(value - (0.0 if kernel == "rbf" else 0.02), 6)


def epochs_program(
    epochs: int = 3, seconds_per_epoch: float = 10.0
) -> Callable[[LaunchRequest], SimulatedRun]:
    """Prints the accuracy approaching its final value, one line per epoch."""

    def program(request: LaunchRequest) -> SimulatedRun:
        final = accuracy_of(dict(request.hyperparameters))
        lines = tuple(
            (
                (e + 1) * seconds_per_epoch,
                f"epoch {e + 1} validation:accuracy={final - 0.1 * (epochs - e - 1):.6f}",
            )
            for e in range(epochs)
        )
        return SimulatedRun(lines=lines, duration=epochs * seconds_per_epoch + 1)

    return program


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    store = SqlStore(f"sqlite:///{tmp_path / 'tunelab.db'}")
    yield store
    store.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


class Harness:
    def __init__(self, store: SqlStore, clock: FakeClock, root: Path) -> None:
        self.store, self.clock, self.root = store, clock, root
        self.progress: list[Progress] = []

    def create(self, document: dict[str, Any]) -> TuningJob:
        now = self.clock.now()
        spec = parse_tuning_job(document)
        return self.store.create_tuning_job(TuningJob(spec, TuningJobStatus.IN_PROGRESS, now, now))

    def loop(self, name: str, executor: SimulatedExecutor) -> TuningLoop:
        settings = LoopSettings(str(self.root / "jobs"), poll_interval=5.0)
        return TuningLoop(self.store, executor, self.clock, name, settings, self.progress.append)

    def executor(
        self, program: Callable[[LaunchRequest], SimulatedRun] | None = None
    ) -> SimulatedExecutor:
        return SimulatedExecutor(program or epochs_program(), self.clock)


@pytest.fixture
def harness(store: SqlStore, clock: FakeClock, tmp_path: Path) -> Harness:
    return Harness(store, clock, tmp_path)
