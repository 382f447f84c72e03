"""Chart data: the best-so-far line, decimation that keeps what matters, the
early-stopped curves, and an importance that finds the hyperparameter the
objective depends on and not the others."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.factories import make_document
from tunelab.console.charts import MAX_CURVE_POINTS, curves_chart, decimate, objective_chart
from tunelab.console.importance import MIN_JOBS, epsilon_squared, importances
from tunelab.domain.enums import ObjectiveStatus, TrainingJobStatus
from tunelab.domain.request import parse_tuning_job
from tunelab.domain.trial import MetricPoint, TrainingJob


def job(sequence: int, value: float | None) -> TrainingJob:
    return TrainingJob(
        name=f"j-{sequence:04d}",
        tuning_job_name="t",
        sequence=sequence,
        definition_name=None,
        tuned_hyperparameters={"lr": "0.1"},
        creation_time=float(sequence),
        status=TrainingJobStatus.COMPLETED,
        objective_status=ObjectiveStatus.SUCCEEDED,
        final_objective_value=value,
    )


def test_best_so_far_follows_the_objective_direction() -> None:
    spec = parse_tuning_job(make_document())  # Maximize
    values = [0.5, 0.4, 0.7, None, 0.6, 0.9]
    chart = objective_chart(spec, [job(i + 1, v) for i, v in enumerate(values)])
    assert chart["x"] == [1, 2, 3, 5, 6]
    assert chart["best_x"] == [1, 3, 6, 6] and chart["best_y"] == [0.5, 0.7, 0.9, 0.9]


def test_decimation_keeps_the_cap_and_what_must_stay() -> None:
    kept = decimate(10_000, {9_999, 4_321}, 1_000)
    assert len(kept) <= 1_002 and {0, 4_321, 9_999} <= set(kept)
    assert decimate(10, set(), 1_000) == list(range(10))
    spec = parse_tuning_job(make_document())
    jobs = [job(i + 1, i / 5000) for i in range(5000)]  # every job improves
    chart = objective_chart(spec, jobs)
    assert chart["total"] == 5000 and chart["best_y"][-1] == pytest.approx(4999 / 5000)
    assert chart["shown"] == 5000  # improvements are never dropped


def test_importance_finds_what_matters() -> None:
    rng = np.random.default_rng(3)
    jobs = []
    for _ in range(200):
        x, z = rng.uniform(0, 1), rng.uniform(0, 1)
        kernel = str(rng.choice(["rbf", "linear"]))
        loss = (x - 0.3) ** 2 + (0.2 if kernel == "rbf" else 0.0) + rng.normal(0, 0.01)
        jobs.append((None, {"x": f"{x}", "z": f"{z}", "kernel": kernel}, loss))
    found = {i.name: i.value for i in importances(jobs)}
    assert found["x"] > 0.3 and found["kernel"] > 0.3 and found["z"] < 0.05
    assert importances(jobs[: MIN_JOBS - 1]) == []


def test_epsilon_squared_corrects_for_many_small_groups() -> None:
    rng = np.random.default_rng(0)
    y = rng.normal(size=40)
    assert epsilon_squared(np.arange(40) % 20, y) < 0.2  # pure noise in 20 groups
    assert epsilon_squared(np.zeros(40), y) == 0.0
    groups = np.arange(40) % 2
    assert epsilon_squared(groups, groups * 10 + rng.normal(0, 0.1, 40)) > 0.99


def test_a_long_curve_is_thinned_keeping_its_first_best_and_latest_reports() -> None:
    spec = parse_tuning_job(make_document())  # Maximize validation:accuracy
    values = [0.5 + 0.4 * math.sin(k / 500) for k in range(25_000)]
    series = [MetricPoint("validation:accuracy", v, float(k), k) for k, v in enumerate(values)]
    asked: list[tuple[str, str]] = []

    def points(training_job: str, metric: str) -> list[MetricPoint]:
        asked.append((training_job, metric))
        return series

    curve = curves_chart(spec, [job(1, values[-1])], points)["series"][0]
    assert asked == [("j-0001", "validation:accuracy")]  # the objective's points only
    assert len(curve["x"]) <= MAX_CURVE_POINTS + 2
    best = max(range(len(values)), key=values.__getitem__)
    assert {1, best + 1, 25_000} <= set(curve["x"])  # x is the report number
    assert curve["y"][-1] == values[-1]
    assert curve["x"] == sorted(curve["x"])
