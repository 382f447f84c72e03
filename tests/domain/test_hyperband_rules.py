"""Hyperband's MaxResource inferred from a static ``epochs`` that holds no whole number:
the message says the value is no valid number of epochs, naming its field."""

from __future__ import annotations

import pytest

from tests.factories import make_document, make_multi_document
from tunelab.domain.request import parse_tuning_job
from tunelab.domain.rules import check_document, check_spec

CONFIG = "HyperParameterTuningJobConfig"


def messages(document: dict) -> list[str]:
    found = check_document(document)
    return [str(v) for v in found or check_spec(parse_tuning_job(document))]


@pytest.mark.parametrize("value", ["2.5", "-3", "abc", "NaN", "1e3", ""])
def test_an_epochs_value_that_is_no_whole_number_is_named(value: str) -> None:
    document = make_document(strategy="Hyperband")
    document["TrainingJobDefinition"]["StaticHyperParameters"] = {"epochs": value}
    assert messages(document) == [
        "TrainingJobDefinition.StaticHyperParameters.epochs: cannot give Hyperband's "
        "MaxResource (HyperbandStrategyConfig has none): a number of epochs must be a whole "
        f"number from 1 to 20000; got {value!r}"
    ]


def test_a_whole_number_elsewhere_is_used_and_a_given_max_resource_needs_none() -> None:
    document = make_multi_document()
    document[CONFIG]["Strategy"] = "Hyperband"
    first, second = document["TrainingJobDefinitions"]
    first["StaticHyperParameters"] = {"num_epochs": "abc"}
    assert messages(document) == [
        "TrainingJobDefinitions[0].StaticHyperParameters.num_epochs: cannot give Hyperband's "
        "MaxResource (HyperbandStrategyConfig has none): a number of epochs must be a whole "
        "number from 1 to 20000; got 'abc'"
    ]
    second["StaticHyperParameters"] = {"epochs": "7"}  # SageMaker infers it from this one
    assert messages(document) == []
    second["StaticHyperParameters"] = {}
    document[CONFIG]["StrategyConfig"] = {"HyperbandStrategyConfig": {"MaxResource": 9}}
    assert messages(document) == []
