"""Why a Completed tuning job completed, derived from DescribeHyperParameterTuningJob's
facts: each criterion, their order, and the same facts from the service's description
as from the response made of it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.service.test_tuning import document
from tunelab.api import codecs
from tunelab.service.completion_reason import CompletionFacts, completion_reason
from tunelab.service.settings import Settings
from tunelab.service.tuning import TuningService
from tunelab.store.sql.store import SqlStore


def response(
    *,
    status: str = "Completed",
    strategy: str = "Bayesian",
    objective: str = "Minimize",
    best: float | None = 0.5,
    ran: int = 3,
    max_jobs: int = 10,
    runtime: int = 60,
    criteria: dict[str, Any] | None = None,
    details: dict[str, Any] | None = None,
    limits: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A DescribeHyperParameterTuningJob response with the members the reason reads."""
    config: dict[str, Any] = {
        "Strategy": strategy,
        "HyperParameterTuningJobObjective": {"Type": objective, "MetricName": "loss"},
        "ResourceLimits": {"MaxNumberOfTrainingJobs": max_jobs, "MaxParallelTrainingJobs": 2}
        | (limits or {}),
    }
    if criteria is not None:
        config["TuningJobCompletionCriteria"] = criteria
    wire: dict[str, Any] = {
        "HyperParameterTuningJobName": "job",
        "HyperParameterTuningJobStatus": status,
        "HyperParameterTuningJobConfig": config,
        "TrainingJobStatusCounters": {
            "Completed": ran,
            "InProgress": 0,
            "RetryableError": 0,
            "NonRetryableError": 0,
            "Stopped": 0,
        },
        "TuningJobCompletionDetails": {"NumberOfTrainingJobsObjectiveNotImproving": 0}
        | (details or {}),
        "ConsumedResources": {"RuntimeInSeconds": runtime},
    }
    if best is not None:
        wire["BestTrainingJob"] = {
            "TrainingJobName": "job-001",
            "FinalHyperParameterTuningJobObjectiveMetric": {
                "Type": objective,
                "MetricName": "loss",
                "Value": best,
            },
        }
    return wire


def reason(wire: dict[str, Any]) -> str | None:
    return completion_reason(CompletionFacts.of_response(wire))


def test_the_target_objective_value_reached_by_the_best_training_job() -> None:
    target = {"TargetObjectiveMetricValue": 0.6}
    assert reason(response(best=0.5, criteria=target)) == (
        "TargetObjectiveMetricValue (0.6) reached: the best training job's objective is 0.5"
    )
    assert reason(response(best=0.6, criteria=target)).startswith("TargetObjectiveMetricValue")
    # to maximize, the best must be at least the target
    assert reason(response(objective="Maximize", best=0.7, criteria=target)).startswith(
        "TargetObjectiveMetricValue (0.6) reached"
    )
    not_reached = reason(response(objective="Maximize", best=0.5, criteria=target))
    assert not_reached == "the Bayesian strategy had no configuration left to run: every " + (
        "combination of the ranges was tried (3 training jobs ran)"
    )
    assert reason(response(best=None, criteria=target)).startswith("the Bayesian strategy")


def test_the_best_objective_not_improving() -> None:
    criteria = {"BestObjectiveNotImproving": {"MaxNumberOfTrainingJobsNotImproving": 4}}
    improving = {"NumberOfTrainingJobsObjectiveNotImproving": 3}
    assert not reason(response(criteria=criteria, details=improving)).startswith("the best")
    stuck = {"NumberOfTrainingJobsObjectiveNotImproving": 4}
    assert reason(response(criteria=criteria, details=stuck)) == (
        "the best objective did not improve in the last 4 training jobs "
        "(BestObjectiveNotImproving: MaxNumberOfTrainingJobsNotImproving 4)"
    )
    # the count alone, without the criterion, is no reason
    assert reason(response(details=stuck)).startswith("the Bayesian strategy")


def test_convergence_detected() -> None:
    criteria = {"ConvergenceDetected": {"CompleteOnConvergence": "Enabled"}}
    details = {"ConvergenceDetectedTime": 1_700_000_000.0}
    assert reason(response(criteria=criteria, details=details)) == (
        "the strategy's model detected convergence (CompleteOnConvergence)"
    )


def test_the_runtime_limit() -> None:
    limits = {"MaxRuntimeInSeconds": 600}
    assert reason(response(runtime=601, limits=limits)) == (
        "MaxRuntimeInSeconds (600 s) reached after 601 s"
    )
    assert reason(response(runtime=599, limits=limits)).startswith("the Bayesian strategy")


def test_every_training_job_of_the_budget_ran() -> None:
    assert reason(response(ran=10, max_jobs=10)) == (
        "all 10 training jobs of MaxNumberOfTrainingJobs ran"
    )


def test_a_strategy_with_no_configuration_left() -> None:
    assert reason(response(strategy="Grid", ran=4, max_jobs=6)) == (
        "the Grid strategy had no grid point left to run (4 ran)"
    )
    assert reason(response(strategy="Random", ran=4, max_jobs=6)) == (
        "the Random strategy had no configuration left to run: every combination of the "
        "ranges was tried (4 training jobs ran)"
    )


def test_the_first_criterion_that_holds_is_the_reason() -> None:
    criteria = {
        "TargetObjectiveMetricValue": 0.6,
        "BestObjectiveNotImproving": {"MaxNumberOfTrainingJobsNotImproving": 2},
    }
    details = {"NumberOfTrainingJobsObjectiveNotImproving": 2, "ConvergenceDetectedTime": 1.0}
    limits = {"MaxRuntimeInSeconds": 10}
    everything = dict(criteria=criteria, details=details, limits=limits, ran=10, runtime=20)
    assert reason(response(best=0.5, **everything)).startswith("TargetObjectiveMetricValue")
    assert reason(response(best=0.7, **everything)).startswith("the best objective did not")
    details["NumberOfTrainingJobsObjectiveNotImproving"] = 1
    assert reason(response(best=0.7, **everything)).startswith("the strategy's model")
    del details["ConvergenceDetectedTime"]
    assert reason(response(best=0.7, **everything)).startswith("MaxRuntimeInSeconds")
    assert reason(response(best=0.7, **everything | {"runtime": 5})).startswith("all 10")


@pytest.mark.parametrize("status", ["InProgress", "Stopping", "Stopped", "Failed"])
def test_only_a_completed_job_has_a_completion_reason(status: str) -> None:
    assert reason(response(status=status, ran=10, max_jobs=10)) is None


def test_a_multi_definition_response_takes_the_direction_of_its_definitions() -> None:
    wire = response(objective="Maximize", best=0.7, criteria={"TargetObjectiveMetricValue": 0.6})
    objective = wire["HyperParameterTuningJobConfig"].pop("HyperParameterTuningJobObjective")
    wire["TrainingJobDefinitions"] = [{"TuningObjective": objective}]
    del wire["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Type"]
    assert reason(wire).startswith("TargetObjectiveMetricValue (0.6) reached")


def test_the_description_and_its_response_give_the_same_facts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The console reads the service's description, the CLI the response made of it."""
    monkeypatch.setenv("RUNS_LOG", str(tmp_path / "runs.log"))
    store = SqlStore(f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        service = TuningService(Settings(home=tmp_path, database_url=store.url), store)
        request = document(name="target", max_jobs=4, parallel=1)
        request["TrainingJobDefinition"]["StaticHyperParameters"] = {
            "epochs": "1",
            "seconds_per_epoch": "0",
        }
        config = request["HyperParameterTuningJobConfig"]
        config["TuningJobCompletionCriteria"] = {"TargetObjectiveMetricValue": 2.0}
        service.run(service.create(request).name)
        description = service.describe("target")
        facts = CompletionFacts.of_description(description)
        assert facts == CompletionFacts.of_response(codecs.describe_tuning_job(description))
        assert (facts.training_jobs, facts.max_training_jobs) == (1, 4)
        assert completion_reason(facts).startswith("TargetObjectiveMetricValue (2) reached")
    finally:
        store.close()
