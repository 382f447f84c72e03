"""The failure limit (the first training jobs all failed: the tuning job fails) and
Grid, which runs every combination it promised whatever the first ones do."""

from __future__ import annotations

from tests.factories import make_document
from tests.orchestrator.conftest import Harness
from tunelab.domain.enums import TrainingJobStatus, TuningJobStatus
from tunelab.execution.base import LaunchRequest
from tunelab.execution.simulated import SimulatedRun
from tunelab.store.base import TrainingJobQuery, iterate_training_jobs

CONFIG = "HyperParameterTuningJobConfig"


def grid(depths: list[str]) -> dict:
    document = make_document(strategy="Grid", max_jobs=None, parallel=1)
    document[CONFIG]["ParameterRanges"] = {
        "CategoricalParameterRanges": [{"Name": "depth", "Values": depths}]
    }
    return document


def crashes_when_deep(request: LaunchRequest) -> SimulatedRun:
    """Fails for depth > 5; otherwise reports an accuracy."""
    depth = int(request.hyperparameters["depth"])
    if depth > 5:
        return SimulatedRun(duration=1.0, exit_code=1, failure=f"ValueError: depth {depth}")
    return SimulatedRun(lines=((1.0, f"validation:accuracy=0.{depth}"),), duration=2.0)


def statuses(harness: Harness) -> dict[str, TrainingJobStatus]:
    jobs = iterate_training_jobs(harness.store, TrainingJobQuery("job-1"))
    return {j.tuned_hyperparameters["depth"]: j.status for j in jobs}


def test_grid_runs_the_combinations_after_the_first_ones_failed(harness: Harness) -> None:
    harness.create(grid(["9", "8", "7", "1", "3"]))
    final = harness.loop("job-1", harness.executor(crashes_when_deep)).run()
    assert final.status is TuningJobStatus.COMPLETED
    failed, completed = TrainingJobStatus.FAILED, TrainingJobStatus.COMPLETED
    assert statuses(harness) == {
        "9": failed,
        "8": failed,
        "7": failed,
        "1": completed,
        "3": completed,
    }
    best = harness.store.best_training_job("job-1", final.spec.objective_type)
    assert best is not None and best.tuned_hyperparameters == {"depth": "3"}


def test_a_grid_whose_every_combination_fails_fails_after_all_ran(harness: Harness) -> None:
    harness.create(grid(["9", "8", "7", "6"]))
    final = harness.loop("job-1", harness.executor(crashes_when_deep)).run()
    assert final.status is TuningJobStatus.FAILED
    assert set(statuses(harness).values()) == {TrainingJobStatus.FAILED}
    assert len(statuses(harness)) == 4
    assert final.failure_reason.startswith("no training job reported the objective metric; e.g.")
    assert final.failure_reason.endswith(": ValueError: depth 9")


def test_random_search_still_fails_after_its_first_jobs_failed(harness: Harness) -> None:
    harness.create(make_document(max_jobs=10, parallel=1))

    def always(request: LaunchRequest) -> SimulatedRun:
        return SimulatedRun(duration=1.0, exit_code=1, failure="ImportError: no module x")

    final = harness.loop("job-1", harness.executor(always)).run()
    assert final.status is TuningJobStatus.FAILED
    jobs = list(iterate_training_jobs(harness.store, TrainingJobQuery("job-1")))
    assert len(jobs) == 3
    assert final.failure_reason.startswith("the first 3 training jobs failed; e.g.")
