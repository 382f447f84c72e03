"""CreateAlgorithm refuses a TrainingSpecification that breaks SageMaker's rules
(invalid regexes, inconsistent hyperparameters, objectives without a metric definition,
no instance type...), naming the field; a refused algorithm is not stored."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.factories import make_algorithm
from tunelab.domain.errors import ResourceNotFound, ValidationError
from tunelab.execution.clock import SystemClock
from tunelab.service.algorithms import AlgorithmService
from tunelab.store.sql.store import SqlStore

Spec = dict[str, Any]


def valid() -> dict[str, Any]:
    """A CreateAlgorithm request that passes every rule."""
    hyperparameters = [
        {
            "Name": "depth",
            "Type": "Integer",
            "Range": {"IntegerParameterRangeSpecification": {"MinValue": "1", "MaxValue": "9"}},
            "DefaultValue": "3",
        },
        {
            "Name": "kernel",
            "Type": "Categorical",
            "Range": {"CategoricalParameterRangeSpecification": {"Values": ["a", "b"]}},
        },
        {"Name": "note", "Type": "FreeText"},
    ]
    metrics = [
        {"Name": "loss", "Regex": r"loss=([0-9.]+);"},
        {"Name": "acc", "Regex": r"acc=([0-9.]+);"},
    ]
    return make_algorithm("checked", "file:///opt/train.py", hyperparameters, metrics)


@pytest.fixture
def algorithms(tmp_path: Path) -> Iterator[AlgorithmService]:
    store = SqlStore(f"sqlite:///{tmp_path / 'db.sqlite'}")
    yield AlgorithmService(store, SystemClock())
    store.close()


def refused(algorithms: AlgorithmService, request: dict[str, Any]) -> list[str]:
    """The violations of a refused request, after checking that nothing was stored."""
    with pytest.raises(ValidationError) as error:
        algorithms.create(request)
    with pytest.raises(ResourceNotFound):
        algorithms.get(request["AlgorithmName"])
    return [str(v) for v in error.value.violations]


def test_a_consistent_specification_is_stored(algorithms: AlgorithmService) -> None:
    algorithms.create(valid())
    assert algorithms.get("checked").document["TrainingSpecification"]["MetricDefinitions"]


HP = "TrainingSpecification.SupportedHyperParameters"


@pytest.mark.parametrize("regex", ["(", "(?P<x>"])
def test_an_invalid_metric_regex_is_refused(algorithms: AlgorithmService, regex: str) -> None:
    request = valid()
    request["TrainingSpecification"]["MetricDefinitions"][1]["Regex"] = regex
    assert refused(algorithms, request) == [
        "TrainingSpecification.MetricDefinitions[1].Regex: is not a valid regular expression: "
        "missing ), unterminated subpattern at position 0"
    ]


def test_a_metric_regex_with_a_repeat_too_large_is_refused(algorithms: AlgorithmService) -> None:
    request = valid()
    request["TrainingSpecification"]["MetricDefinitions"][0]["Regex"] = "a{99999999999}"
    (message,) = refused(algorithms, request)
    assert message.startswith(
        "TrainingSpecification.MetricDefinitions[0].Regex: is not a valid regular expression: "
    )


def test_the_hunts_inconsistent_specification_is_refused_naming_each_field(
    algorithms: AlgorithmService,
) -> None:
    """repros/05a: a range whose MaxValue is no number, a hyperparameter declared twice,
    an objective metric without a metric definition, no instance type."""
    request = valid()
    spec = request["TrainingSpecification"]
    bad = copy.deepcopy(spec["SupportedHyperParameters"][0])
    bad["Range"]["ContinuousParameterRangeSpecification"] = {
        "MinValue": "5",
        "MaxValue": "not-a-number",
    }
    spec["SupportedHyperParameters"] = [bad, copy.deepcopy(bad)]
    spec["SupportedTrainingInstanceTypes"] = []
    spec["SupportedTuningJobObjectiveMetrics"] = [{"Type": "Maximize", "MetricName": "nope"}]
    range_path = "Range.ContinuousParameterRangeSpecification.MaxValue"
    assert refused(algorithms, request) == [
        f"{HP}[1].Name: 'x' is already defined by {HP}[0]",
        f"{HP}[0].{range_path}: must be a number; got 'not-a-number'",
        f"{HP}[1].{range_path}: must be a number; got 'not-a-number'",
        "TrainingSpecification.SupportedTuningJobObjectiveMetrics[0].MetricName: 'nope' is not "
        "among the MetricDefinitions (loss, acc): an objective metric is read with its "
        "definition's regex",
        "TrainingSpecification.SupportedTrainingInstanceTypes: must list at least one instance "
        "type the algorithm can train on",
    ]


def _hp(index: int, **changes: Any) -> Callable[[Spec], None]:
    def change(spec: Spec) -> None:
        spec["SupportedHyperParameters"][index].update(changes)

    return change


def _untunable(spec: Spec) -> None:
    spec["SupportedHyperParameters"][0]["IsTunable"] = False


def _duplicate(key: str) -> Callable[[Spec], None]:
    def change(spec: Spec) -> None:
        spec[key].append(copy.deepcopy(spec[key][0]))

    return change


CONTINUOUS = "Range.ContinuousParameterRangeSpecification"
INTEGER = "Range.IntegerParameterRangeSpecification"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            _hp(
                0, Range={"IntegerParameterRangeSpecification": {"MinValue": "0", "MaxValue": "1"}}
            ),
            f"{HP}[0].{INTEGER}: a Continuous hyperparameter takes a "
            "ContinuousParameterRangeSpecification; got IntegerParameterRangeSpecification",
        ),
        (
            _hp(
                0,
                Range={
                    "ContinuousParameterRangeSpecification": {"MinValue": "2", "MaxValue": "1"}
                },
            ),
            f"{HP}[0].{CONTINUOUS}: MinValue (2) must not be greater than MaxValue (1)",
        ),
        (
            _hp(
                1,
                Range={"IntegerParameterRangeSpecification": {"MinValue": "1.5", "MaxValue": "9"}},
            ),
            f"{HP}[1].{INTEGER}.MinValue: must be an integer; got '1.5'",
        ),
        (
            _hp(
                0,
                Range={
                    "ContinuousParameterRangeSpecification": {"MinValue": "0", "MaxValue": "1"},
                    "IntegerParameterRangeSpecification": {"MinValue": "0", "MaxValue": "1"},
                },
            ),
            f"{HP}[0].Range: give one range specification; got "
            "ContinuousParameterRangeSpecification, IntegerParameterRangeSpecification",
        ),
        (
            _hp(2, Range={}),
            f"{HP}[2].Range: a Categorical hyperparameter needs a "
            "CategoricalParameterRangeSpecification listing its values",
        ),
        (
            _hp(3, Range={"CategoricalParameterRangeSpecification": {"Values": ["a"]}}),
            f"{HP}[3].Range.CategoricalParameterRangeSpecification: a FreeText hyperparameter "
            "takes no Range",
        ),
        (
            _hp(1, IsRequired=True),
            f"{HP}[1].IsRequired: a hyperparameter with a DefaultValue cannot be required",
        ),
        (
            _hp(1, DefaultValue="12"),
            f"{HP}[1].DefaultValue: must be an integer in [1, 9]; got '12'",
        ),
        (_hp(2, DefaultValue="c"), f"{HP}[2].DefaultValue: must be one of a, b; got 'c'"),
        (
            _untunable,
            f"{HP}: an algorithm that supports tuning (SupportedTuningJobObjectiveMetrics) must "
            "declare its tunable hyperparameters (IsTunable true); it declares none",
        ),
        (
            _duplicate("MetricDefinitions"),
            "TrainingSpecification.MetricDefinitions[2].Name: 'loss' is already defined by "
            "TrainingSpecification.MetricDefinitions[0]",
        ),
        (
            _duplicate("TrainingChannels"),
            "TrainingSpecification.TrainingChannels[1].Name: 'train' is already defined by "
            "TrainingSpecification.TrainingChannels[0]",
        ),
    ],
)
def test_each_rule_of_the_specification_is_refused_naming_the_field(
    algorithms: AlgorithmService, change: Callable[[Spec], None], message: str
) -> None:
    request = valid()
    change(request["TrainingSpecification"])
    assert refused(algorithms, request) == [message]


def test_an_algorithm_that_is_not_tuned_needs_no_hyperparameters(
    algorithms: AlgorithmService,
) -> None:
    request = valid()
    spec = request["TrainingSpecification"]
    del spec["SupportedHyperParameters"], spec["SupportedTuningJobObjectiveMetrics"]
    algorithms.create(request)
