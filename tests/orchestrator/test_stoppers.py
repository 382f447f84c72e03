"""How a training job's stop reads from its status history: early or not; where
Hyperband reads a job's own number of epochs."""

from __future__ import annotations

import pytest

from tests.factories import make_document
from tunelab.domain.enums import SecondaryStatus, TrainingJobStatus
from tunelab.domain.request import parse_tuning_job
from tunelab.domain.trial import StatusTransition, TrainingJob
from tunelab.orchestrator.stoppers import (
    DECIDED,
    ENDED,
    REQUESTED,
    EarlyStoppingOptions,
    decided_message,
    problem_for,
    stop_reason,
    stopped_early,
)
from tunelab.strategies.hyperband import EpochsHyperparameter, HyperbandProblem

AT_MAX = "Hyperband: reached MaxResource (81 reports of the objective)"
AT_RUNG = "Hyperband: stopped at rung 3 of bracket 0 (resource 3/81): ranked 2 of 2 with 0.5"


def job_stopped(message: str | None) -> TrainingJob:
    transitions = (StatusTransition(SecondaryStatus.TRAINING, 1.0, "Training in progress."),)
    if message is not None:
        transitions += (StatusTransition(SecondaryStatus.STOPPING, 2.0, message),)
    return TrainingJob(
        name="job-1-001",
        tuning_job_name="job-1",
        sequence=1,
        definition_name=None,
        tuned_hyperparameters={},
        status=TrainingJobStatus.STOPPED if message else TrainingJobStatus.COMPLETED,
        creation_time=0.0,
        transitions=transitions,
    )


def test_a_stop_at_max_resource_is_recorded_as_not_early() -> None:
    assert decided_message(AT_MAX) == ENDED + AT_MAX
    assert decided_message(AT_RUNG) == DECIDED + AT_RUNG


@pytest.mark.parametrize(
    ("message", "reason", "early"),
    [
        (DECIDED + AT_RUNG, AT_RUNG, True),
        (DECIDED + "median stopping rule: report 3", "median stopping rule: report 3", True),
        (ENDED + AT_MAX, AT_MAX, False),
        (DECIDED + AT_MAX, AT_MAX, False),  # stored before ENDED existed
        (REQUESTED, REQUESTED, False),
        ("Stopping the training job", None, False),
        (None, None, False),
    ],
)
def test_stop_reason_and_stopped_early(
    message: str | None, reason: str | None, early: bool
) -> None:
    job = job_stopped(message)
    assert stop_reason(job) == reason
    assert stopped_early(job) is early


@pytest.mark.parametrize(
    ("static", "tuned", "expected"),
    [
        ({"epochs": "9"}, None, EpochsHyperparameter("epochs", 9)),
        ({"num_epochs": " 4 "}, None, EpochsHyperparameter("num_epochs", 4)),
        ({}, "n-epochs", EpochsHyperparameter("n-epochs")),
        # the first name usable, in the order MaxResource is inferred from
        ({"epochs": "all", "n_epochs": "5"}, None, EpochsHyperparameter("n_epochs", 5)),
        ({"numepochs": "3"}, "num_epochs", EpochsHyperparameter("numepochs", 3)),
        ({"epochs": "3.5", "rounds": "7"}, None, None),
        ({}, None, None),
    ],
)
def test_hyperband_reads_each_definitions_own_epochs(
    static: dict, tuned: str | None, expected: EpochsHyperparameter | None
) -> None:
    document = make_document(strategy="Hyperband", StaticHyperParameters=static)
    config = document["HyperParameterTuningJobConfig"]
    config["StrategyConfig"] = {"HyperbandStrategyConfig": {"MaxResource": 9}}
    if tuned is not None:
        config["ParameterRanges"]["IntegerParameterRanges"].append(
            {"Name": tuned, "MinValue": "1", "MaxValue": "20"}
        )
    problem = problem_for(parse_tuning_job(document), EarlyStoppingOptions())
    assert isinstance(problem, HyperbandProblem)
    assert problem.max_resource == 9 and problem.epochs == (expected,)
