"""Every semantic rule of a tuning job request, with the exact text a user sees."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.factories import make_document, make_multi_document
from tunelab.domain.errors import ValidationError, Violation
from tunelab.domain.request import parse_tuning_job
from tunelab.domain.rules import Quotas, check_document, check_spec

CONFIG = "HyperParameterTuningJobConfig"


def violations(document: dict[str, Any], quotas: Quotas | None = None) -> list[Violation]:
    found = check_document(document)
    if found:
        return found
    return check_spec(parse_tuning_job(document), quotas or Quotas())


def messages(document: dict[str, Any], quotas: Quotas | None = None) -> list[str]:
    return [str(v) for v in violations(document, quotas)]


def test_the_factories_make_valid_requests() -> None:
    assert violations(make_document()) == []
    assert violations(make_multi_document()) == []


# -- structure ------------------------------------------------------------------------


def test_exactly_one_of_definition_and_definitions() -> None:
    both = make_document()
    both["TrainingJobDefinitions"] = make_multi_document()["TrainingJobDefinitions"]
    assert messages(both) == [
        "TrainingJobDefinition: provide exactly one of TrainingJobDefinition or "
        "TrainingJobDefinitions; got both"
    ]
    neither = make_document()
    del neither["TrainingJobDefinition"]
    assert messages(neither)[0].endswith("got neither")


def test_definitions_take_their_own_objective_and_ranges() -> None:
    document = make_multi_document()
    document[CONFIG]["ParameterRanges"] = {}
    document[CONFIG]["HyperParameterTuningJobObjective"] = {"Type": "Maximize", "MetricName": "x"}
    assert messages(document) == [
        f"{CONFIG}.HyperParameterTuningJobObjective: not allowed with TrainingJobDefinitions: "
        "give each definition its own TuningObjective",
        f"{CONFIG}.ParameterRanges: not allowed with TrainingJobDefinitions: give each "
        "definition its own HyperParameterRanges",
    ]


def test_definition_names_are_required_and_unique_ignoring_case() -> None:
    document = make_multi_document()
    document["TrainingJobDefinitions"][1]["DefinitionName"] = "ALPHA"
    assert messages(document) == [
        "TrainingJobDefinitions[1].DefinitionName: 'ALPHA' is already the name of "
        "TrainingJobDefinitions[0] (definition names must be unique, ignoring case)"
    ]
    del document["TrainingJobDefinitions"][0]["DefinitionName"]
    assert messages(document)[0] == (
        "TrainingJobDefinitions[0].DefinitionName: is required when the job has "
        "TrainingJobDefinitions (it tells the definitions apart)"
    )


def test_each_definition_needs_a_tuning_objective() -> None:
    document = make_multi_document()
    del document["TrainingJobDefinitions"][1]["TuningObjective"]
    assert messages(document) == [
        "TrainingJobDefinitions[1].TuningObjective: is required for each definition of a job "
        "with TrainingJobDefinitions"
    ]


def test_a_single_definition_job_needs_an_objective() -> None:
    document = make_document()
    del document[CONFIG]["HyperParameterTuningJobObjective"]
    assert messages(document) == [
        f"{CONFIG}.HyperParameterTuningJobObjective: is required: name the objective metric "
        "and whether to Maximize or Minimize it"
    ]


def test_single_definition_ranges_and_objective_in_one_place() -> None:
    document = make_document()
    document["TrainingJobDefinition"]["HyperParameterRanges"] = {}
    document["TrainingJobDefinition"]["TuningObjective"] = {"Type": "Minimize", "MetricName": "x"}
    assert messages(document) == [
        "TrainingJobDefinition.HyperParameterRanges: give the ranges either here or in "
        f"{CONFIG}.ParameterRanges, not both",
        "TrainingJobDefinition.TuningObjective: differs from "
        f"{CONFIG}.HyperParameterTuningJobObjective; give one of them",
    ]


def test_single_definition_may_carry_its_own_ranges() -> None:
    document = make_document()
    ranges = document[CONFIG].pop("ParameterRanges")
    document["TrainingJobDefinition"]["HyperParameterRanges"] = ranges
    assert violations(document) == []
    spec = parse_tuning_job(document)
    assert spec.definitions[0].search_space.names == ("depth", "lr", "kernel")


# -- limits and quotas ------------------------------------------------------------------


def test_parallel_quota_is_resource_limit_exceeded() -> None:
    [violation] = violations(make_document(parallel=11, max_jobs=20))
    assert violation.code == "ResourceLimitExceeded"
    assert str(violation) == (
        f"{CONFIG}.ResourceLimits.MaxParallelTrainingJobs: 11 exceeds the quota of 10 parallel "
        "training jobs per tuning job"
    )


def test_total_quota_is_resource_limit_exceeded() -> None:
    document = make_document(max_jobs=501)
    document[CONFIG]["ParameterRanges"]["ContinuousParameterRanges"][0]["Name"] = "lr"
    [violation] = violations(document)
    assert violation.code == "ResourceLimitExceeded"
    assert str(violation) == (
        f"{CONFIG}.ResourceLimits.MaxNumberOfTrainingJobs: 501 exceeds the quota of 500 "
        "training jobs per tuning job"
    )


def test_quotas_are_configurable() -> None:
    document = make_document(parallel=11, max_jobs=600)
    assert violations(document, Quotas(20, 1000, 40)) == []


def test_parallel_jobs_times_instances_within_the_instance_quota() -> None:
    document = make_document(parallel=10, max_jobs=20)
    document["TrainingJobDefinition"]["ResourceConfig"]["InstanceCount"] = 3
    [violation] = violations(document)
    assert violation.code == "ResourceLimitExceeded"
    assert str(violation) == (
        f"{CONFIG}.ResourceLimits.MaxParallelTrainingJobs: 10 parallel jobs of 3 instances "
        "(TrainingJobDefinition's InstanceCount) need 30 training instances at once, more than "
        "the quota of 20"
    )


def test_max_number_of_training_jobs_is_required_except_for_grid() -> None:
    assert messages(make_document(max_jobs=None)) == [
        f"{CONFIG}.ResourceLimits.MaxNumberOfTrainingJobs: is required for the Random strategy "
        "(only Grid can infer it from its grid)"
    ]


# -- strategies ------------------------------------------------------------------------


def test_strategy_config_only_with_hyperband() -> None:
    document = make_document()
    document[CONFIG]["StrategyConfig"] = {"HyperbandStrategyConfig": {"MaxResource": 10}}
    assert messages(document) == [
        f"{CONFIG}.StrategyConfig: is only allowed with the Hyperband strategy; the strategy is "
        "Random"
    ]


def test_hyperband_needs_early_stopping_off() -> None:
    document = make_document(strategy="Hyperband")
    document[CONFIG]["StrategyConfig"] = {"HyperbandStrategyConfig": {"MaxResource": 10}}
    document[CONFIG]["TrainingJobEarlyStoppingType"] = "Auto"
    assert messages(document) == [
        f"{CONFIG}.TrainingJobEarlyStoppingType: must be 'Off' with the Hyperband strategy "
        "(Hyperband stops jobs early itself); got 'Auto'"
    ]


def test_hyperband_max_resource_given_or_inferred_and_bounded() -> None:
    document = make_document(strategy="Hyperband")
    path = f"{CONFIG}.StrategyConfig.HyperbandStrategyConfig"
    assert messages(document) == [
        f"{path}.MaxResource: is required for Hyperband unless a static hyperparameter named "
        "epochs, numepochs, n-epochs, n_epochs, num_epochs gives the number of epochs"
    ]
    document["TrainingJobDefinition"]["StaticHyperParameters"] = {"num_epochs": "50"}
    assert violations(document) == []
    document[CONFIG]["StrategyConfig"] = {
        "HyperbandStrategyConfig": {"MinResource": 60, "MaxResource": 20001}
    }
    assert messages(document) == [f"{path}.MaxResource: must be at most 20000; got 20001"]
    document[CONFIG]["StrategyConfig"]["HyperbandStrategyConfig"]["MaxResource"] = 40
    assert messages(document) == [
        f"{path}.MinResource: (60) must not be greater than MaxResource (40)"
    ]


def test_an_inferred_max_resource_is_at_least_1_and_named() -> None:
    document = make_document(strategy="Hyperband")
    static = document["TrainingJobDefinition"]["StaticHyperParameters"] = {"epochs": "0"}
    where = "TrainingJobDefinition.StaticHyperParameters.epochs"
    assert messages(document) == [
        f"{where}: gives Hyperband's MaxResource (HyperbandStrategyConfig has none), which "
        "must be at least 1; got 0"
    ]
    static["epochs"] = "20001"
    assert messages(document) == [f"{where}: must be at most 20000; got 20001"]
    static["epochs"] = "5"
    document[CONFIG]["StrategyConfig"] = {"HyperbandStrategyConfig": {"MinResource": 6}}
    assert messages(document) == [
        f"{CONFIG}.StrategyConfig.HyperbandStrategyConfig.MinResource: (6) must not be "
        f"greater than MaxResource (5, from {where})"
    ]
    document[CONFIG]["StrategyConfig"] = {"HyperbandStrategyConfig": {"MaxResource": 9}}
    static["epochs"] = "0"  # a MaxResource given is not inferred
    assert violations(document) == []


def test_a_tuning_job_runs_at_most_30_days() -> None:
    document = make_document()
    limits = document[CONFIG]["ResourceLimits"]
    limits["MaxRuntimeInSeconds"] = 30 * 86400 + 1
    found = violations(document)
    assert [(str(v), v.code) for v in found] == [
        (
            f"{CONFIG}.ResourceLimits.MaxRuntimeInSeconds: 2592001 exceeds the quota of "
            "2592000 seconds (30 days) of run time per tuning job",
            "ResourceLimitExceeded",
        )
    ]
    limits["MaxRuntimeInSeconds"] = 30 * 86400
    assert violations(document) == []
    assert violations(document, Quotas(max_tuning_job_runtime_seconds=3600)) != []


def grid_document(**changes: Any) -> dict[str, Any]:
    document = make_document(strategy="Grid", max_jobs=None)
    document[CONFIG]["ParameterRanges"] = {
        "CategoricalParameterRanges": [
            {"Name": "kernel", "Values": ["rbf", "linear", "poly"]},
            {"Name": "depth", "Values": ["2", "4"]},
        ]
    }
    document[CONFIG].update(changes)
    return document


def test_grid_takes_only_categorical_ranges() -> None:
    assert violations(grid_document()) == []
    document = make_document(strategy="Grid", max_jobs=None)
    assert messages(document) == [
        f"{CONFIG}.ParameterRanges.IntegerParameterRanges[0]: the Grid strategy takes only "
        "categorical ranges; 'depth' is not categorical",
        f"{CONFIG}.ParameterRanges.ContinuousParameterRanges[0]: the Grid strategy takes only "
        "categorical ranges; 'lr' is not categorical",
    ]


def test_grid_job_count_is_the_number_of_combinations() -> None:
    assert parse_tuning_job(grid_document()).max_jobs == 6
    document = grid_document(
        ResourceLimits={"MaxParallelTrainingJobs": 2, "MaxNumberOfTrainingJobs": 5}
    )
    assert messages(document) == [
        f"{CONFIG}.ResourceLimits.MaxNumberOfTrainingJobs: must equal the number of grid "
        "combinations (6) with the Grid strategy, or be left out; got 5"
    ]


def test_a_grid_larger_than_the_quota_is_refused() -> None:
    document = grid_document()
    values = [str(i) for i in range(30)]
    document[CONFIG]["ParameterRanges"]["CategoricalParameterRanges"] = [
        {"Name": "a", "Values": values},
        {"Name": "b", "Values": values},
    ]
    [violation] = violations(document)
    assert violation.code == "ResourceLimitExceeded"
    assert "the grid has 900 combinations, more than the quota of 500" in violation.message


def test_random_needs_enough_combinations_of_discrete_ranges() -> None:
    document = make_document(max_jobs=20)
    del document[CONFIG]["ParameterRanges"]["ContinuousParameterRanges"]
    assert messages(document) == [
        f"{CONFIG}.ResourceLimits.MaxNumberOfTrainingJobs: You don't have enough combinations "
        "of hyperparameter ranges. The total number of hyperparameter combinations for the "
        "provided ranges [16.0] must be equal or greater than the value of MaxNumberOfJobs, "
        "[20]. Provide additional ranges."
    ]
    document[CONFIG]["ResourceLimits"]["MaxNumberOfTrainingJobs"] = 16
    assert violations(document) == []


# -- one definition only ----------------------------------------------------------------


def test_warm_start_and_early_stopping_only_with_a_single_definition() -> None:
    document = make_multi_document()
    document["WarmStartConfig"] = {
        "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": "parent"}],
        "WarmStartType": "TransferLearning",
    }
    document[CONFIG]["TrainingJobEarlyStoppingType"] = "Auto"
    assert messages(document) == [
        "WarmStartConfig: warm start is only available for a job with a single training job "
        "definition; this job has 2",
        f"{CONFIG}.TrainingJobEarlyStoppingType: early stopping ('Auto') is only available for "
        "a job with a single training job definition; this job has 2",
    ]


def test_definitions_share_the_objective_direction() -> None:
    document = make_multi_document()
    document["TrainingJobDefinitions"][1]["TuningObjective"]["Type"] = "Minimize"
    assert messages(document) == [
        "TrainingJobDefinitions: every definition's TuningObjective must have the same Type "
        "(the best training job is chosen across definitions); got Maximize and Minimize"
    ]


# -- metrics and algorithm ----------------------------------------------------------------


def test_the_objective_metric_needs_a_metric_definition() -> None:
    document = make_document()
    document[CONFIG]["HyperParameterTuningJobObjective"]["MetricName"] = "val_loss"
    assert messages(document) == [
        "TrainingJobDefinition.AlgorithmSpecification.MetricDefinitions: A metric is required "
        "for this hyperparameter tuning job objective. Provide a metric in the metric "
        "definitions: no MetricDefinition is named 'val_loss'"
    ]


def test_at_most_20_metric_definitions_unique_names_valid_regexes() -> None:
    document = make_document()
    metrics = document["TrainingJobDefinition"]["AlgorithmSpecification"]["MetricDefinitions"]
    metrics += [{"Name": f"m{i}", "Regex": f"m{i}=(\\S+)"} for i in range(20)]
    path = "TrainingJobDefinition.AlgorithmSpecification.MetricDefinitions"
    assert messages(document) == [
        f"{path}: a tuning job takes at most 20 metric definitions per training job "
        "definition; got 21"
    ]
    del metrics[3:]
    metrics[2] = {"Name": "m0", "Regex": "loss=(["}
    assert messages(document) == [
        f"{path}[2].Name: 'm0' is defined twice",
        f"{path}[2].Regex: is not a valid regular expression: unterminated character set at "
        "position 6",
    ]


def test_training_image_or_algorithm_name() -> None:
    document = make_document()
    algorithm = document["TrainingJobDefinition"]["AlgorithmSpecification"]
    algorithm["AlgorithmName"] = "my-algorithm"
    assert messages(document) == [
        "TrainingJobDefinition.AlgorithmSpecification: give TrainingImage or AlgorithmName, "
        "not both"
    ]
    del algorithm["AlgorithmName"], algorithm["TrainingImage"]
    assert messages(document) == [
        "TrainingJobDefinition.AlgorithmSpecification: give TrainingImage or AlgorithmName"
    ]


# -- ranges ---------------------------------------------------------------------------------

RANGES = f"{CONFIG}.ParameterRanges"


def with_range(kind: str, item: dict[str, Any]) -> dict[str, Any]:
    document = make_document(max_jobs=1)
    document[CONFIG]["ParameterRanges"] = {kind: [item]}
    return document


def test_min_must_be_less_than_max() -> None:
    document = with_range(
        "ContinuousParameterRanges", {"Name": "lr", "MinValue": "0.5", "MaxValue": "0.1"}
    )
    assert messages(document) == [
        f"{RANGES}.ContinuousParameterRanges[0]: MinValue (0.5) must be less than MaxValue (0.1)"
    ]
    document = with_range(
        "IntegerParameterRanges", {"Name": "n", "MinValue": "3", "MaxValue": "3"}
    )
    assert messages(document)[0] == (
        f"{RANGES}.IntegerParameterRanges[0]: MinValue (3) must be less than MaxValue (3)"
    )


def test_logarithmic_needs_positive_bounds() -> None:
    document = with_range(
        "ContinuousParameterRanges",
        {"Name": "lr", "MinValue": "0", "MaxValue": "1", "ScalingType": "Logarithmic"},
    )
    assert messages(document) == [
        f"{RANGES}.ContinuousParameterRanges[0].ScalingType: Logarithmic scaling needs "
        "MinValue and MaxValue greater than 0; got MinValue 0"
    ]


def test_reverse_logarithmic_only_for_continuous_ranges_inside_0_1() -> None:
    document = with_range(
        "ContinuousParameterRanges",
        {"Name": "m", "MinValue": "0.5", "MaxValue": "1", "ScalingType": "ReverseLogarithmic"},
    )
    assert messages(document) == [
        f"{RANGES}.ContinuousParameterRanges[0].ScalingType: ReverseLogarithmic scaling needs "
        "0 <= MinValue and MaxValue < 1; got [0.5, 1]"
    ]
    document = with_range(
        "IntegerParameterRanges",
        {"Name": "n", "MinValue": "1", "MaxValue": "9", "ScalingType": "ReverseLogarithmic"},
    )
    assert messages(document) == [
        f"{RANGES}.IntegerParameterRanges[0].ScalingType: ReverseLogarithmic scaling is only "
        "for continuous ranges"
    ]


def test_bounds_must_be_numbers_of_the_right_kind() -> None:
    document = with_range(
        "IntegerParameterRanges", {"Name": "n", "MinValue": "1.5", "MaxValue": "ten"}
    )
    with pytest.raises(ValidationError) as error:
        violations(document)
    assert [str(v) for v in error.value.violations] == [
        f"{RANGES}.IntegerParameterRanges[0].MinValue: must be an integer written as a string; "
        "got '1.5'",
        f"{RANGES}.IntegerParameterRanges[0].MaxValue: must be an integer written as a string; "
        "got 'ten'",
    ]
    document = with_range(
        "ContinuousParameterRanges", {"Name": "x", "MinValue": "nan", "MaxValue": "1"}
    )
    with pytest.raises(ValidationError, match="MinValue: must be a finite number; got 'nan'"):
        violations(document)


@pytest.mark.parametrize("bound", ["1_0", " 1", "1 ", "0x10", "\u0661"])
def test_bounds_are_plain_decimal_numbers(bound: str) -> None:
    for kind, label in (
        ("IntegerParameterRanges", "an integer"),
        ("ContinuousParameterRanges", "a finite number"),
    ):
        document = with_range(kind, {"Name": "n", "MinValue": bound, "MaxValue": "20"})
        with pytest.raises(ValidationError) as error:
            violations(document)
        assert [str(v) for v in error.value.violations] == [
            f"{RANGES}.{kind}[0].MinValue: must be {label} written as a string; got {bound!r}"
        ]
    for bound in ("-1", "+1", "1.5e-3", ".5", "5."):
        document = with_range(
            "ContinuousParameterRanges", {"Name": "x", "MinValue": bound, "MaxValue": "20"}
        )
        assert violations(document) == []


def test_a_hyperparameter_is_static_or_tuned_not_both() -> None:
    document = make_document()
    document["TrainingJobDefinition"]["StaticHyperParameters"] = {"lr": "0.01", "epochs": "3"}
    assert messages(document) == [
        f"{RANGES}.ContinuousParameterRanges[0].Name: 'lr' is also in StaticHyperParameters; a "
        "hyperparameter is either static or tuned, not both"
    ]


def test_a_hyperparameter_is_tuned_by_one_range() -> None:
    document = make_document()
    document[CONFIG]["ParameterRanges"]["CategoricalParameterRanges"].append(
        {"Name": "depth", "Values": ["1", "2"]}
    )
    assert messages(document) == [
        f"{RANGES}.CategoricalParameterRanges[1].Name: 'depth' is already tuned by "
        f"{RANGES}.IntegerParameterRanges[0]"
    ]


def test_categorical_values_are_unique() -> None:
    document = with_range("CategoricalParameterRanges", {"Name": "k", "Values": ["a", "b", "a"]})
    assert messages(document) == [
        f"{RANGES}.CategoricalParameterRanges[0].Values: each value may appear once; repeated: 'a'"
    ]


def test_at_most_30_searched_and_100_hyperparameters() -> None:
    document = make_document()
    document[CONFIG]["ParameterRanges"] = {
        "ContinuousParameterRanges": [
            {"Name": f"x{i}", "MinValue": "0", "MaxValue": "1"} for i in range(16)
        ],
        "IntegerParameterRanges": [
            {"Name": f"n{i}", "MinValue": "0", "MaxValue": "9"} for i in range(15)
        ],
    }
    assert messages(document) == [f"{RANGES}: at most 30 hyperparameters can be searched; got 31"]
    del document[CONFIG]["ParameterRanges"]["IntegerParameterRanges"]
    document["TrainingJobDefinition"]["StaticHyperParameters"] = {f"s{i}": "1" for i in range(84)}
    assert messages(document) == [
        "TrainingJobDefinition.StaticHyperParameters: static and tuned hyperparameters together "
        "(plus _tuning_objective_metric) must be at most 100; got 101"
    ]


# -- resources and stopping ----------------------------------------------------------------


def test_max_wait_time_only_with_managed_spot_and_not_below_max_runtime() -> None:
    document = make_document()
    stopping = document["TrainingJobDefinition"]["StoppingCondition"]
    stopping["MaxWaitTimeInSeconds"] = 30
    path = "TrainingJobDefinition.StoppingCondition.MaxWaitTimeInSeconds"
    assert messages(document) == [
        f"{path}: Invalid MaxWaitTimeInSeconds. It is only supported when "
        "EnableManagedSpotTraining is set to true"
    ]
    document["TrainingJobDefinition"]["EnableManagedSpotTraining"] = True
    assert messages(document) == [f"{path}: must be at least MaxRuntimeInSeconds (60); got 30"]
    stopping["MaxWaitTimeInSeconds"] = 120
    assert violations(document) == []


def test_resource_config_forms_are_exclusive() -> None:
    document = make_document()
    definition = document["TrainingJobDefinition"]
    definition["HyperParameterTuningResourceConfig"] = {
        "InstanceType": "ml.m5.large",
        "InstanceConfigs": [
            {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1}
        ],
    }
    assert messages(document) == [
        "TrainingJobDefinition.HyperParameterTuningResourceConfig: give ResourceConfig or "
        "HyperParameterTuningResourceConfig, not both",
        "TrainingJobDefinition.HyperParameterTuningResourceConfig: use either InstanceConfigs "
        "or InstanceType/InstanceCount/VolumeSizeInGB, not both",
    ]


def test_instance_count_at_least_one() -> None:
    document = make_document()
    document["TrainingJobDefinition"]["ResourceConfig"]["InstanceCount"] = 0
    assert messages(document) == [
        "TrainingJobDefinition.ResourceConfig.InstanceCount: must be at least 1; got 0"
    ]


def test_rules_do_not_modify_the_request() -> None:
    document = make_multi_document()
    before = copy.deepcopy(document)
    violations(document)
    assert document == before
