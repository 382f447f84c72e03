"""End-to-end helpers: the real ``tunelab`` command in subprocesses, a private
``TUNELAB_HOME`` per test, and a job file running ``programs/epochs.py``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.serving import wait_for  # noqa: F401  (the e2e tests import it from here)
from tunelab.store.base import TrainingJobQuery, iterate_training_jobs
from tunelab.store.sql.store import SqlStore

PROGRAM = Path(__file__).parent / "programs" / "epochs.py"
TUNELAB = str(Path(sys.executable).with_name("tunelab"))


class Env:
    """A private tunelab installation state: home, environment, job files."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.home = root / "home"
        self.runs_log = root / "runs.log"
        self.runs_log.touch()
        self.vars = dict(
            os.environ,
            TUNELAB_HOME=str(self.home),
            TUNELAB_STOP_GRACE_SECONDS="2",
            COLUMNS="200",
        )
        self._store: SqlStore | None = None

    def job_file(
        self, name: str = "e2e-job", max_jobs: int = 4, parallel: int = 2, **static: str
    ) -> Path:
        document: dict[str, Any] = {
            "HyperParameterTuningJobName": name,
            "HyperParameterTuningJobConfig": {
                "Strategy": "Random",
                "RandomSeed": 3,
                "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "loss"},
                "ResourceLimits": {
                    "MaxNumberOfTrainingJobs": max_jobs,
                    "MaxParallelTrainingJobs": parallel,
                },
                "ParameterRanges": {
                    "ContinuousParameterRanges": [{"Name": "x", "MinValue": "0", "MaxValue": "1"}]
                },
            },
            "TrainingJobDefinition": {
                "StaticHyperParameters": {"epochs": "3", "seconds_per_epoch": "0.2", **static},
                "AlgorithmSpecification": {
                    "TrainingImage": f"file://{PROGRAM}",
                    "TrainingInputMode": "File",
                    "MetricDefinitions": [{"Name": "loss", "Regex": r"loss=([0-9.]+);"}],
                },
                "RoleArn": "arn:aws:iam::123456789012:role/e2e",
                "OutputDataConfig": {"S3OutputPath": "file:output/"},
                "StoppingCondition": {"MaxRuntimeInSeconds": 120},
                "Environment": {"RUNS_LOG": str(self.runs_log)},
            },
        }
        path = self.root / f"{name}.json"
        path.write_text(json.dumps(document, indent=2))
        return path

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [TUNELAB, *args], env=self.vars, capture_output=True, text=True, timeout=timeout
        )

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [TUNELAB, *args],
            env=self.vars,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def describe(self, name: str) -> dict[str, Any]:
        result = self.run("describe", name, "--json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    @property
    def store(self) -> SqlStore:
        if self._store is None:
            self._store = SqlStore(f"sqlite:///{self.home / 'tunelab.db'}")
        return self._store

    def training_jobs(self, name: str) -> list:
        return list(
            iterate_training_jobs(self.store, TrainingJobQuery(name, sort_by="CreationTime"))
        )

    def runs(self) -> list[str]:
        """Training job names, one per program start."""
        return [line.split()[0] for line in self.runs_log.read_text().splitlines()]

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    environment = Env(tmp_path)
    yield environment
    environment.close()
