"""A definition naming a built-in: its metric definitions are predefined, and it is
checked against the algorithm's metadata with messages that name the field."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.factories import ROLE
from tunelab.algorithms import catalog
from tunelab.algorithms.spec import training_specification
from tunelab.domain.errors import ValidationError
from tunelab.execution.clock import SystemClock
from tunelab.service.settings import Settings
from tunelab.service.training import TrainingService
from tunelab.service.tuning import TuningService
from tunelab.store.sql.store import SqlStore

XGB_URI = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    store = SqlStore(f"sqlite:///{tmp_path / 'db.sqlite'}")
    yield store
    store.close()


@pytest.fixture
def service(tmp_path: Path, store: SqlStore) -> TuningService:
    return TuningService(Settings(home=tmp_path, database_url=store.url), store)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    for channel in ("train", "validation", "test"):
        (tmp_path / channel).mkdir()
        (tmp_path / channel / "data.csv").write_text("1,0.5\n")
    return tmp_path


def channel(root: Path, name: str, content_type: str | None = "text/csv") -> dict[str, Any]:
    source = {"S3DataType": "S3Prefix", "S3Uri": str(root / name)}
    out: dict[str, Any] = {"ChannelName": name, "DataSource": {"S3DataSource": source}}
    if content_type:
        out["ContentType"] = content_type
    return out


def request(
    data: Path,
    image: str = "tunelab/xgboost",
    objective: tuple[str, str] = ("Maximize", "validation:auc"),
    static: dict[str, str] | None = None,
    ranges: dict[str, Any] | None = None,
    channels: tuple[str, ...] = ("train", "validation"),
) -> dict[str, Any]:
    default_ranges = {
        "ContinuousParameterRanges": [{"Name": "eta", "MinValue": "0.1", "MaxValue": "0.5"}]
    }
    return {
        "HyperParameterTuningJobName": "builtin",
        "HyperParameterTuningJobConfig": {
            "Strategy": "Random",
            "HyperParameterTuningJobObjective": {"Type": objective[0], "MetricName": objective[1]},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 2, "MaxParallelTrainingJobs": 1},
            "ParameterRanges": default_ranges if ranges is None else ranges,
        },
        "TrainingJobDefinition": {
            "StaticHyperParameters": {"num_round": "5", "objective": "binary:logistic"}
            if static is None
            else static,
            "AlgorithmSpecification": {"TrainingImage": image, "TrainingInputMode": "File"},
            "RoleArn": ROLE,
            "InputDataConfig": [channel(data, c) for c in channels],
            "OutputDataConfig": {"S3OutputPath": str(data / "output")},
            "ResourceConfig": {
                "InstanceType": "ml.m5.large",
                "InstanceCount": 1,
                "VolumeSizeInGB": 1,
            },
            "StoppingCondition": {"MaxRuntimeInSeconds": 60},
        },
    }


def errors(service: TuningService, document: dict[str, Any]) -> list[str]:
    with pytest.raises(ValidationError) as error:
        service.validate(document)
    return [str(v) for v in error.value.violations]


def test_a_builtin_needs_no_metric_definitions(service: TuningService, data: Path) -> None:
    spec = service.validate(
        request(data, XGB_URI, static={"num_round": "5", "eval_metric": "logloss"})
    )
    metrics = spec.definitions[0].metric_definitions
    assert len(metrics) == 20  # a tuning job's limit; the objective's first
    assert [m.name for m in metrics[:5]] == [
        "validation:auc",
        "validation:logloss",
        "train:logloss",
        "validation:accuracy",
        "validation:aucpr",
    ]
    xgboost = catalog.BUILTINS["xgboost"]
    assert metrics[0].regex == xgboost.metric("validation:auc").regex  # type: ignore[union-attr]
    assert (
        metrics[0].regex
        == r".*\[[0-9]+\].*#011validation-auc:([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?).*"
    )
    # given metric definitions are kept
    own = request(data)
    own["TrainingJobDefinition"]["AlgorithmSpecification"]["MetricDefinitions"] = [
        {"Name": "validation:auc", "Regex": r"validation-auc:(\S+)"}
    ]
    assert len(service.validate(own).definitions[0].metric_definitions) == 1


def test_hyperparameters_are_checked_against_the_metadata(
    service: TuningService, data: Path
) -> None:
    static = {"num_round": "0", "objective": "binary:logistc", "max_dept": "3", "_tuning_x": "1"}
    ranges = {
        "ContinuousParameterRanges": [
            {"Name": "eta", "MinValue": "0.1", "MaxValue": "1.5"},
            {"Name": "max_depth", "MinValue": "1", "MaxValue": "5"},
        ],
        "IntegerParameterRanges": [{"Name": "seed", "MinValue": "1", "MaxValue": "5"}],
        "CategoricalParameterRanges": [{"Name": "booster", "Values": ["gbtree"]}],
    }
    assert errors(service, request(data, static=static, ranges=ranges)) == [
        "TrainingJobDefinition.StaticHyperParameters.num_round: must be an integer in [1, ∞); "
        "got '0'",
        "TrainingJobDefinition.StaticHyperParameters.objective: must be one of "
        "reg:squarederror, reg:linear, reg:logistic, reg:gamma, reg:pseudohubererror, "
        "reg:squaredlogerror, reg:tweedie, binary:logistic, binary:logitraw, binary:hinge, "
        "count:poisson, multi:softmax, multi:softprob, survival:cox; got 'binary:logistc'",
        "TrainingJobDefinition.StaticHyperParameters.max_dept: is not a hyperparameter of the "
        "built-in xgboost algorithm; did you mean 'max_depth'?",
        "HyperParameterTuningJobConfig.ParameterRanges.IntegerParameterRanges[0].Name: 'seed' is "
        "not a tunable hyperparameter of the built-in xgboost algorithm; tunable: num_round, "
        "alpha, lambda, eta, gamma, max_depth, min_child_weight, max_delta_step, subsample, "
        "colsample_bytree, colsample_bylevel, colsample_bynode",
        "HyperParameterTuningJobConfig.ParameterRanges.ContinuousParameterRanges[0].MaxValue: "
        "1.5 is outside the valid range of 'eta', [0, 1]",
        "HyperParameterTuningJobConfig.ParameterRanges.ContinuousParameterRanges[1].Name: "
        "'max_depth' is an integer: use IntegerParameterRanges",
        "HyperParameterTuningJobConfig.ParameterRanges.CategoricalParameterRanges[0].Name: "
        "'booster' is not a tunable hyperparameter of the built-in xgboost algorithm; tunable: "
        "num_round, alpha, lambda, eta, gamma, max_depth, min_child_weight, max_delta_step, "
        "subsample, colsample_bytree, colsample_bylevel, colsample_bynode",
    ]


def test_required_hyperparameters_objective_and_channels(
    service: TuningService, data: Path
) -> None:
    static = {"objective": "multi:softprob"}
    document = request(
        data, objective=("Minimize", "validation:auc"), static=static, channels=("train",)
    )
    assert errors(service, document) == [
        "TrainingJobDefinition.StaticHyperParameters: the built-in xgboost algorithm requires "
        "hyperparameter 'num_round' (an integer in [1, ∞)), static or tuned",
        "TrainingJobDefinition.StaticHyperParameters: objective 'multi:softprob' requires "
        "hyperparameter 'num_class'",
        "HyperParameterTuningJobConfig.HyperParameterTuningJobObjective.Type: the objective "
        "metric 'validation:auc' of the built-in xgboost algorithm is to maximize; got Minimize",
        "HyperParameterTuningJobConfig.HyperParameterTuningJobObjective.MetricName: "
        "'validation:auc' is computed on the 'validation' channel, which the definition does "
        "not have",
    ]
    unknown = request(data, objective=("Maximize", "validation:f2"))
    assert errors(service, unknown)[0].startswith(
        "HyperParameterTuningJobConfig.HyperParameterTuningJobObjective.MetricName: "
        "'validation:f2' is not an objective metric of the built-in xgboost algorithm; choose "
        "one of validation:accuracy, validation:auc"
    )
    # tuning a required hyperparameter gives it
    tuned = request(
        data,
        static={},
        ranges={
            "IntegerParameterRanges": [{"Name": "num_round", "MinValue": "1", "MaxValue": "9"}]
        },
    )
    assert service.validate(tuned).definitions[0].search_space is not None


def test_channels_and_content_types(service: TuningService, data: Path) -> None:
    document = request(
        data,
        "tunelab/linear-learner",
        ("Minimize", "validation:objective_loss"),
        static={"predictor_type": "binary_classifier"},
        ranges={},
        channels=("train", "validation", "test"),
    )
    definition = document["TrainingJobDefinition"]
    definition["InputDataConfig"][0]["ContentType"] = "application/x-recordio-protobuf"
    del definition["InputDataConfig"][1]["ContentType"]
    definition["InputDataConfig"][2]["ChannelName"] = "extra"
    assert errors(service, document) == [
        "TrainingJobDefinition.InputDataConfig[0].ContentType: 'application/x-recordio-protobuf' "
        "is not available in this version of tunelab; use one of text/csv",
        "TrainingJobDefinition.InputDataConfig[1]: channel 'validation' has no ContentType, "
        "which for linear-learner means application/x-recordio-protobuf (SageMaker's default), "
        "not available in this version of tunelab; set ContentType to one of text/csv",
        "TrainingJobDefinition.InputDataConfig[2].ChannelName: 'extra' is not a channel of the "
        "built-in linear-learner algorithm (channels: train, validation, test)",
    ]


def test_multi_definition_and_training_jobs(
    service: TuningService, store: SqlStore, data: Path
) -> None:
    single = request(data)
    definition = copy.deepcopy(single["TrainingJobDefinition"])
    definition.update(
        DefinitionName="xgb",
        TuningObjective={"Type": "Maximize", "MetricName": "validation:auc"},
        HyperParameterRanges={
            "IntegerParameterRanges": [{"Name": "k", "MinValue": "1", "MaxValue": "9"}]
        },
    )
    multi = {k: v for k, v in single.items() if k != "TrainingJobDefinition"}
    del multi["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]
    del multi["HyperParameterTuningJobConfig"]["ParameterRanges"]
    multi["TrainingJobDefinitions"] = [definition]
    assert errors(service, multi) == [
        "TrainingJobDefinitions[0].HyperParameterRanges.IntegerParameterRanges[0].Name: is not a "
        "hyperparameter of the built-in xgboost algorithm"
    ]
    training = TrainingService(store, SystemClock())
    job = {
        "TrainingJobName": "one-xgb",
        "HyperParameters": {"num_round": "3", "eta": "2"},
        **{
            k: v
            for k, v in single["TrainingJobDefinition"].items()
            if k != "StaticHyperParameters"
        },
    }
    with pytest.raises(ValidationError) as error:
        training.create(job)
    assert str(error.value) == "HyperParameters.eta: must be a number in [0, 1]; got '2'"
    job["HyperParameters"]["eta"] = "0.2"
    training.create(job)
    stored = store.training_job_request("one-xgb")
    assert len(stored["AlgorithmSpecification"]["MetricDefinitions"]) == 38  # all of them


def test_a_registered_algorithm_may_run_a_builtin(service: TuningService, data: Path) -> None:
    """A registered copy of the built-in's TrainingSpecification (as ``tunelab algorithms
    describe --json`` prints it) runs the built-in with its predefined metrics."""
    training = training_specification(catalog.get("xgboost"), XGB_URI)
    service.algorithms.create({"AlgorithmName": "house-xgb", "TrainingSpecification": training})
    document = request(data)
    algorithm = document["TrainingJobDefinition"]["AlgorithmSpecification"]
    del algorithm["TrainingImage"]
    algorithm["AlgorithmName"] = "house-xgb"
    definition = service.validate(document).definitions[0]
    assert definition.metric_definitions[0].name == "validation:auc"


def test_a_value_not_available_here_reads_as_a_sentence(
    service: TuningService, data: Path
) -> None:
    static = {"num_round": "5", "objective": "binary:logistic", "tree_method": "gpu_hist"}
    assert errors(service, request(data, XGB_URI, static=static)) == [
        "TrainingJobDefinition.StaticHyperParameters.tree_method: must be one of auto, exact, "
        "approx, hist ('gpu_hist' is not available in this version of tunelab); got 'gpu_hist'"
    ]


def test_an_objective_the_predictor_type_never_reports_is_refused(
    service: TuningService, data: Path
) -> None:
    knn = {"feature_dim": "2", "k": "3", "sample_size": "10", "predictor_type": "classifier"}
    document = request(
        data, "tunelab/knn", ("Minimize", "test:mse"), knn, ranges={}, channels=("train", "test")
    )
    assert errors(service, document) == [
        "HyperParameterTuningJobConfig.HyperParameterTuningJobObjective.MetricName: the "
        "built-in knn algorithm reports 'test:mse' for predictor_type regressor; "
        "predictor_type is 'classifier'"
    ]
    linear = {"predictor_type": "regressor"}
    document = request(
        data, "tunelab/linear-learner", ("Maximize", "validation:roc_auc_score"), linear, {}
    )
    assert errors(service, document) == [
        "HyperParameterTuningJobConfig.HyperParameterTuningJobObjective.MetricName: the "
        "built-in linear-learner algorithm reports 'validation:roc_auc_score' for "
        "predictor_type binary_classifier; predictor_type is 'regressor'"
    ]
    wd = {"ContinuousParameterRanges": [{"Name": "wd", "MinValue": "0.0001", "MaxValue": "1"}]}
    service.validate(
        request(data, "tunelab/linear-learner", ("Minimize", "validation:mse"), linear, wd)
    )
