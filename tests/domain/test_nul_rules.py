"""A NUL character is refused, naming the field, in every field that reaches a training
program (hyperparameters, Environment values) or a text column (metric names): in a tuning
job's objectives, ranges and every definition, and in a CreateTrainingJob request."""

from __future__ import annotations

from typing import Any

from tests.factories import make_definition, make_document, make_multi_document
from tunelab.domain.rules import check_document
from tunelab.domain.shape_check import check_input
from tunelab.domain.training_request import check_training_job, parse_training_job_request

CONFIG = "HyperParameterTuningJobConfig"
PASSED = (
    "a training job gets its hyperparameters as program arguments and environment "
    "variables, which end at a NUL"
)
STORED = (
    "a metric name is stored as text, which cannot hold a NUL (it would become U+FFFD "
    "and no longer match the metric's values)"
)
ENVIRONMENT = "a training job gets it as an environment variable, which ends at a NUL"


def refusals(document: dict[str, Any]) -> list[str]:
    assert check_input("CreateHyperParameterTuningJob", document) == []  # AWS's model allows it
    return [str(v) for v in check_document(document)]


def nul_message(text: str, why: str, what: str = "") -> str:
    position = text.index("\x00")
    return (
        f"{what}must not contain the NUL character (U+0000); got one at position {position} "
        f"of {text!r}: {why}"
    )


def test_a_single_definition_job_names_each_field_with_a_nul() -> None:
    document = make_document(
        StaticHyperParameters={"epochs": "1\x000", "s\x00": "x"},
        Environment={"MODE": "fast\x00"},
    )
    document[CONFIG]["HyperParameterTuningJobObjective"]["MetricName"] = "acc\x00"
    document[CONFIG]["ParameterRanges"]["CategoricalParameterRanges"][0]["Values"][1] = "li\x00"
    document[CONFIG]["ParameterRanges"]["IntegerParameterRanges"][0]["Name"] = "\x00depth"
    metrics = document["TrainingJobDefinition"]["AlgorithmSpecification"]["MetricDefinitions"]
    metrics[0]["Name"] = "acc\x00"
    ranges = f"{CONFIG}.ParameterRanges"
    definition = "TrainingJobDefinition"
    assert refusals(document) == [
        f"{CONFIG}.HyperParameterTuningJobObjective.MetricName: " + nul_message("acc\x00", STORED),
        f"{ranges}.IntegerParameterRanges[0].Name: " + nul_message("\x00depth", PASSED),
        f"{ranges}.CategoricalParameterRanges[0].Values[1]: " + nul_message("li\x00", PASSED),
        f"{definition}.StaticHyperParameters['epochs']: " + nul_message("1\x000", PASSED),
        f"{definition}.StaticHyperParameters['s\\x00']: " + nul_message("s\x00", PASSED, "key "),
        f"{definition}.AlgorithmSpecification.MetricDefinitions[0].Name: "
        + nul_message("acc\x00", STORED),
        f"{definition}.Environment['MODE']: " + nul_message("fast\x00", ENVIRONMENT),
    ]


def test_every_definition_of_a_multi_definition_job_is_checked() -> None:
    document = make_multi_document()
    second = document["TrainingJobDefinitions"][1]
    second["TuningObjective"]["MetricName"] = "a\x00"
    second["HyperParameterRanges"]["ContinuousParameterRanges"][0]["Name"] = "C\x00"
    second["Environment"] = {"K": "\x00"}
    assert refusals(document) == [
        "TrainingJobDefinitions[1].TuningObjective.MetricName: " + nul_message("a\x00", STORED),
        "TrainingJobDefinitions[1].HyperParameterRanges.ContinuousParameterRanges[0].Name: "
        + nul_message("C\x00", PASSED),
        "TrainingJobDefinitions[1].Environment['K']: " + nul_message("\x00", ENVIRONMENT),
    ]


def test_autotune_s_parameters_are_checked() -> None:
    document = make_document()
    document[CONFIG]["ParameterRanges"]["AutoParameters"] = [{"Name": "n", "ValueHint": "1\x00"}]
    assert refusals(document) == [
        f"{CONFIG}.ParameterRanges.AutoParameters[0].ValueHint: " + nul_message("1\x00", PASSED)
    ]


def test_a_training_job_request_names_each_field_with_a_nul() -> None:
    document: dict[str, Any] = {"TrainingJobName": "solo"} | make_definition(
        metric="loss\x00", HyperParameters={"a": "\x00"}, Environment={"E": "e\x00"}
    )
    assert check_input("CreateTrainingJob", document) == []
    found = check_training_job(parse_training_job_request(document))
    assert [str(v) for v in found] == [
        "HyperParameters['a']: " + nul_message("\x00", PASSED),
        "AlgorithmSpecification.MetricDefinitions[0].Name: " + nul_message("loss\x00", STORED),
        "Environment['E']: " + nul_message("e\x00", ENVIRONMENT),
    ]


def test_other_control_characters_and_text_without_nul_pass() -> None:
    document = make_document(StaticHyperParameters={"sep": "\t\x01\x7f"})
    document[CONFIG]["HyperParameterTuningJobObjective"]["MetricName"] = "validation:accuracy"
    assert refusals(document) == []
