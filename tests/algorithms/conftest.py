"""Running a built-in through the real contract: the LocalExecutor lays out the job
directory, stages the channels and starts ``python -m tunelab.algorithms.<name>``;
metrics are read from the log with the metadata's own regexes (MetricExtractor)."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from tunelab.algorithms import catalog
from tunelab.domain.definition import DataChannel, MetricDefinition, TrainingJobDefinition
from tunelab.domain.enums import TrainingInputMode
from tunelab.domain.search_space import SearchSpace
from tunelab.execution.base import Finished, LaunchRequest, OutputLines
from tunelab.execution.local import LocalExecutor
from tunelab.metrics.extract import MetricExtractor

ARN = "arn:aws:sagemaker:us-east-1:123456789012:training-job/"


@dataclass
class Result:
    finished: Finished
    lines: list[str]
    metrics: dict[str, list[float]]
    """Points per metric name, found with the algorithm's predefined regexes."""
    job_dir: Path

    @property
    def failure(self) -> str | None:
        return self.finished.failure_reason

    def final(self, name: str) -> float:
        return self.metrics[name][-1]


def write_csv(path: Path, y: np.ndarray, x: np.ndarray) -> Path:
    """SageMaker's CSV: label first, no header."""
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savetxt(path, np.column_stack([y, x]), delimiter=",", fmt="%.10g")
    return path


def write_libsvm(path: Path, y: np.ndarray, x: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = []
    for label, row in zip(y, x, strict=True):
        pairs = " ".join(f"{j}:{v:.10g}" for j, v in enumerate(row) if v != 0)
        rows.append(f"{label:g} {pairs}")
    path.write_text("\n".join(rows) + "\n")
    return path


def split(x: np.ndarray, y: np.ndarray, seed: int = 0) -> tuple[tuple, tuple]:
    order = np.random.default_rng(seed).permutation(len(y))
    cut = int(len(y) * 0.7)
    return (x[order[:cut]], y[order[:cut]]), (x[order[cut:]], y[order[cut:]])


@pytest.fixture(scope="session")
def binary_data() -> tuple[tuple, tuple]:
    from sklearn.datasets import load_breast_cancer

    x, y = load_breast_cancer(return_X_y=True)
    return split(x, y.astype(float))


@pytest.fixture(scope="session")
def multiclass_data() -> tuple[tuple, tuple]:
    from sklearn.datasets import load_iris

    x, y = load_iris(return_X_y=True)
    return split(x, y.astype(float))


@pytest.fixture(scope="session")
def regression_data() -> tuple[tuple, tuple]:
    from sklearn.datasets import load_diabetes

    x, y = load_diabetes(return_X_y=True)
    return split(x, y / 10)  # not all integers: LightGBM would take integers for classes


@pytest.fixture
def executor() -> Iterator[LocalExecutor]:
    ex = LocalExecutor(stop_grace_seconds=1)
    yield ex
    ex.close()


def submit(
    executor: LocalExecutor,
    job_dir: Path,
    image: str,
    hyperparameters: dict[str, str],
    channels: Sequence[tuple[str, Path, str | None]],
) -> str:
    """Starts ``image`` in ``job_dir`` with ``channels`` ((name, path, ContentType))."""
    definition = TrainingJobDefinition(
        name=None,
        objective=None,
        search_space=SearchSpace(),
        static_hyperparameters=dict(hyperparameters),
        training_image=image,
        algorithm_name=None,
        input_mode=TrainingInputMode.FILE,
        metric_definitions=(),
        channels=tuple(DataChannel(c, str(p), content_type=t) for c, p, t in channels),
        output_path=str(job_dir.parent / "output"),
        role_arn="arn:aws:iam::123456789012:role/tunelab",
    )
    name = job_dir.name
    executor.submit(LaunchRequest(name, ARN + name, definition, hyperparameters, str(job_dir)))
    return name


def collect(executor: LocalExecutor, jobs: dict[str, Path], timeout: float = 90) -> dict:
    """Every job's :class:`Result`, once all have ended."""
    lines: dict[str, list[str]] = {name: [] for name in jobs}
    results: dict[str, Result] = {}
    end = time.monotonic() + timeout
    while len(results) < len(jobs) and time.monotonic() < end:
        executor.wait(0.5)
        for event in executor.poll():
            if isinstance(event, OutputLines):
                lines[event.name].extend(event.lines)
            elif isinstance(event, Finished):
                results[event.name] = Result(event, lines[event.name], {}, jobs[event.name])
    assert len(results) == len(jobs), f"jobs still running after {timeout} s: {lines}"
    return results


def run_builtin(
    executor: LocalExecutor,
    tmp_path: Path,
    image: str,
    hyperparameters: dict[str, str],
    channels: Sequence[tuple[str, Path, str | None]],
) -> Result:
    """Runs one job to its end."""
    job_dir = tmp_path / "job"
    name = submit(executor, job_dir, image, hyperparameters, channels)
    return collect(executor, {name: job_dir})[name]


def extract(result: Result, algorithm: str) -> Result:
    """``result`` with the metric points of ``algorithm``'s predefined definitions."""
    spec = catalog.get(algorithm)
    assert spec is not None
    extractor = MetricExtractor([MetricDefinition(m.name, m.regex) for m in spec.metrics])
    for point in extractor.feed(result.lines, 0.0):
        result.metrics.setdefault(point.metric_name, []).append(point.value)
    return result
