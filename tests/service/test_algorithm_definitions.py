"""A tuning job or a training job naming a registered algorithm is checked against its
TrainingSpecification, as one running a built-in is against the built-in's metadata:
hyperparameters (declared, tunable, in range, of their type, required ones given), the
objective metric, instance types and count, channels (required, content types, input
modes, compression). Each refusal names the field."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.factories import ROLE
from tunelab.domain.errors import ValidationError
from tunelab.execution.clock import SystemClock
from tunelab.service.settings import Settings
from tunelab.service.training import TrainingService
from tunelab.service.tuning import TuningService
from tunelab.store.sql.store import SqlStore

PROGRAM = Path(__file__).resolve().parents[1] / "e2e" / "programs" / "epochs.py"
ALGO = "the algorithm 'checked-algo'"
Doc = dict[str, Any]


def _numeric(name: str, kind: str, low: str, high: str, **extra: Any) -> Doc:
    bounds = {"MinValue": low, "MaxValue": high}
    entry = {"Name": name, "Type": kind, "Range": {f"{kind}ParameterRangeSpecification": bounds}}
    return entry | extra


def specification() -> Doc:
    return {
        "TrainingImage": f"file://{PROGRAM}",
        "SupportedHyperParameters": [
            _numeric("x", "Continuous", "0", "1", IsTunable=True),
            _numeric("depth", "Integer", "1", "10", IsTunable=True),
            {
                "Name": "kernel",
                "Type": "Categorical",
                "Range": {"CategoricalParameterRangeSpecification": {"Values": ["rbf", "linear"]}},
                "IsTunable": True,
            },
            _numeric("epochs", "Integer", "1", "1000", IsRequired=True),
            {"Name": "seconds_per_epoch", "Type": "FreeText"},
        ],
        "SupportedTrainingInstanceTypes": ["ml.m5.large", "ml.c5.xlarge"],
        "SupportsDistributedTraining": False,
        "TrainingChannels": [
            {
                "Name": "train",
                "IsRequired": True,
                "SupportedContentTypes": ["text/csv"],
                "SupportedInputModes": ["File"],
                "SupportedCompressionTypes": ["None"],
            },
            {
                "Name": "validation",
                "SupportedContentTypes": ["text/csv"],
                "SupportedInputModes": ["File", "Pipe"],
            },
        ],
        "MetricDefinitions": [
            {"Name": "loss", "Regex": r"loss=([0-9.]+);"},
            {"Name": "acc", "Regex": r"acc=([0-9.]+);"},
        ],
        "SupportedTuningJobObjectiveMetrics": [
            {"Type": "Minimize", "MetricName": "loss"},
            {"Type": "Maximize", "MetricName": "acc"},
        ],
    }


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    store = SqlStore(f"sqlite:///{tmp_path / 'db.sqlite'}")
    yield store
    store.close()


@pytest.fixture
def service(tmp_path: Path, store: SqlStore) -> TuningService:
    service = TuningService(Settings(home=tmp_path, database_url=store.url), store)
    service.algorithms.create(
        {"AlgorithmName": "checked-algo", "TrainingSpecification": specification()}
    )
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "data.csv").write_text("1,0.5\n")
    return service


def channel(root: Path, name: str = "train", **extra: Any) -> Doc:
    source = {"S3DataType": "S3Prefix", "S3Uri": str(root / "train")}
    entry = {
        "ChannelName": name,
        "ContentType": "text/csv",
        "DataSource": {"S3DataSource": source},
    }
    return entry | extra


def definition(root: Path) -> Doc:
    return {
        "StaticHyperParameters": {"epochs": "3", "seconds_per_epoch": "0"},
        "AlgorithmSpecification": {"AlgorithmName": "checked-algo", "TrainingInputMode": "File"},
        "RoleArn": ROLE,
        "InputDataConfig": [channel(root)],
        "OutputDataConfig": {"S3OutputPath": str(root / "output")},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": 60},
    }


def tuning_job(root: Path) -> Doc:
    return {
        "HyperParameterTuningJobName": "on-checked-algo",
        "HyperParameterTuningJobConfig": {
            "Strategy": "Random",
            "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "loss"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 2, "MaxParallelTrainingJobs": 1},
            "ParameterRanges": {
                "ContinuousParameterRanges": [{"Name": "x", "MinValue": "0.1", "MaxValue": "0.9"}]
            },
        },
        "TrainingJobDefinition": definition(root),
    }


def errors(service: TuningService, document: Doc) -> list[str]:
    with pytest.raises(ValidationError) as error:
        service.validate(document)
    return [str(v) for v in error.value.violations]


def test_a_job_that_follows_the_specification_passes(service: TuningService, tmp_path: Path):
    spec = service.validate(tuning_job(tmp_path))
    assert [m.name for m in spec.definitions[0].metric_definitions] == ["loss", "acc"]


RANGES = "HyperParameterTuningJobConfig.ParameterRanges"
STATIC = "TrainingJobDefinition.StaticHyperParameters"
OBJECTIVE = "HyperParameterTuningJobConfig.HyperParameterTuningJobObjective"
CHANNELS = "TrainingJobDefinition.InputDataConfig"


def _ranges(**ranges: list[Doc]) -> Callable[[Doc], None]:
    def change(document: Doc) -> None:
        document["HyperParameterTuningJobConfig"]["ParameterRanges"] = ranges

    return change


def _static(**values: str | None) -> Callable[[Doc], None]:
    def change(document: Doc) -> None:
        static = document["TrainingJobDefinition"]["StaticHyperParameters"]
        static.update(values)
        for name in [n for n, v in values.items() if v is None]:
            del static[name]

    return change


def _objective(kind: str, name: str) -> Callable[[Doc], None]:
    def change(document: Doc) -> None:
        objective = {"Type": kind, "MetricName": name}
        document["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"] = objective

    return change


def _resources(**changes: Any) -> Callable[[Doc], None]:
    def change(document: Doc) -> None:
        document["TrainingJobDefinition"]["ResourceConfig"].update(changes)

    return change


def _channel(index: int, **changes: Any) -> Callable[[Doc], None]:
    def change(document: Doc) -> None:
        document["TrainingJobDefinition"]["InputDataConfig"][index].update(changes)

    return change


def _input_mode(document: Doc) -> None:
    document["TrainingJobDefinition"]["AlgorithmSpecification"]["TrainingInputMode"] = "Pipe"


def _no_channels(document: Doc) -> None:
    del document["TrainingJobDefinition"]["InputDataConfig"]


def _range(name: str, low: str, high: str) -> list[Doc]:
    return [{"Name": name, "MinValue": low, "MaxValue": high}]


CASES = [
    (
        _ranges(ContinuousParameterRanges=_range("dept", "1", "2")),
        f"{RANGES}.ContinuousParameterRanges[0].Name: is not a hyperparameter of {ALGO}; "
        "did you mean 'depth'?",
    ),
    (
        _ranges(IntegerParameterRanges=_range("epochs", "1", "5")),
        f"{RANGES}.IntegerParameterRanges[0].Name: 'epochs' is not a tunable hyperparameter of "
        f"{ALGO}; tunable: x, depth, kernel",
    ),
    (
        _ranges(ContinuousParameterRanges=_range("x", "0.5", "2")),
        f"{RANGES}.ContinuousParameterRanges[0].MaxValue: 2 is outside the valid range of 'x', "
        "[0, 1]",
    ),
    (
        _ranges(ContinuousParameterRanges=_range("depth", "1", "5")),
        f"{RANGES}.ContinuousParameterRanges[0].Name: 'depth' is an integer: use "
        "IntegerParameterRanges",
    ),
    (
        _ranges(CategoricalParameterRanges=[{"Name": "kernel", "Values": ["rbf", "poly"]}]),
        f"{RANGES}.CategoricalParameterRanges[0].Values[1]: must be one of rbf, linear; "
        "got 'poly'",
    ),
    (_static(epochs="2.5"), f"{STATIC}.epochs: must be an integer in [1, 1000]; got '2.5'"),
    (_static(fail="yes"), f"{STATIC}.fail: is not a hyperparameter of {ALGO}"),
    (
        _static(epochs=None),
        f"{STATIC}: {ALGO} requires hyperparameter 'epochs' (an integer in [1, 1000]), "
        "static or tuned",
    ),
    (
        _objective("Minimize", "rows"),
        f"{OBJECTIVE}.MetricName: 'rows' is not an objective metric of {ALGO}; choose one of "
        "loss, acc",
    ),
    (
        _objective("Minimize", "acc"),
        f"{OBJECTIVE}.Type: the objective metric 'acc' of {ALGO} is to maximize; got Minimize",
    ),
    (
        _resources(InstanceType="ml.p3.2xlarge"),
        f"TrainingJobDefinition.ResourceConfig.InstanceType: {ALGO} supports the instance "
        "types ml.m5.large, ml.c5.xlarge (SupportedTrainingInstanceTypes); got ml.p3.2xlarge",
    ),
    (
        _resources(InstanceCount=2),
        f"TrainingJobDefinition.ResourceConfig.InstanceCount: {ALGO} does not support "
        "distributed training (SupportsDistributedTraining is false): use 1 instance; got 2",
    ),
    (_no_channels, f"{CHANNELS}: {ALGO} needs a 'train' channel"),
    (
        _channel(0, ChannelName="test"),
        f"{CHANNELS}[0].ChannelName: 'test' is not a channel of {ALGO} (channels: train, "
        f"validation)\n{CHANNELS}: {ALGO} needs a 'train' channel",
    ),
    (
        _channel(0, ContentType="text/libsvm"),
        f"{CHANNELS}[0].ContentType: 'text/libsvm' is not a content type of channel 'train' "
        f"of {ALGO} (text/csv)",
    ),
    (
        _channel(0, InputMode="Pipe"),
        f"{CHANNELS}[0].InputMode: channel 'train' of {ALGO} supports the input modes File; "
        "got Pipe",
    ),
    (
        _input_mode,
        f"{CHANNELS}[0].InputMode: channel 'train' of {ALGO} supports the input modes File; "
        "got Pipe (AlgorithmSpecification's)",
    ),
    (
        _channel(0, CompressionType="Gzip"),
        f"{CHANNELS}[0].CompressionType: channel 'train' of {ALGO} supports the compression "
        "types None; got Gzip",
    ),
]


@pytest.mark.parametrize(("change", "message"), CASES)
def test_a_tuning_job_is_checked_against_the_specification(
    service: TuningService, tmp_path: Path, change: Callable[[Doc], None], message: str
) -> None:
    document = tuning_job(tmp_path)
    change(document)
    assert "\n".join(errors(service, document)) == message


def test_the_hunts_tuning_job_on_a_lax_algorithm_is_refused(
    service: TuningService, tmp_path: Path
) -> None:
    """repros/05b, on an algorithm stored before CreateAlgorithm checked its
    specification: x declared in [5, not-a-number], objective 'nope' without a metric
    definition. (Its empty SupportedTrainingInstanceTypes is read as any type.)"""
    lax = specification()
    lax["SupportedHyperParameters"] = [
        _numeric("x", "Continuous", "5", "not-a-number", IsTunable=True)
    ]
    lax["SupportedTrainingInstanceTypes"] = []
    lax["SupportedTuningJobObjectiveMetrics"] = [{"Type": "Maximize", "MetricName": "nope"}]
    document = {"AlgorithmName": "lax-algo", "TrainingSpecification": lax}
    service.store.algorithms.create("lax-algo", document, 0.0)
    request = tuning_job(tmp_path)
    definition = request["TrainingJobDefinition"]
    definition["AlgorithmSpecification"]["AlgorithmName"] = "lax-algo"
    definition["StaticHyperParameters"] = {}
    lax_algo = "the algorithm 'lax-algo'"
    assert errors(service, request) == [
        f"{RANGES}.ContinuousParameterRanges[0].MinValue: 0.1 is outside the valid range of "
        "'x', [5, ∞)",
        f"{RANGES}.ContinuousParameterRanges[0].MaxValue: 0.9 is outside the valid range of "
        "'x', [5, ∞)",
        f"{OBJECTIVE}.MetricName: {lax_algo} cannot be tuned: its TrainingSpecification has "
        "no SupportedTuningJobObjectiveMetrics with a MetricDefinition",
    ]


def test_an_algorithm_without_objective_metrics_cannot_be_tuned(
    service: TuningService, tmp_path: Path
) -> None:
    plain = specification()
    del plain["SupportedTuningJobObjectiveMetrics"], plain["SupportedHyperParameters"]
    service.algorithms.create({"AlgorithmName": "plain", "TrainingSpecification": plain})
    request = tuning_job(tmp_path)
    definition = request["TrainingJobDefinition"]
    definition["AlgorithmSpecification"]["AlgorithmName"] = "plain"
    definition["StaticHyperParameters"] = {}
    assert errors(service, request) == [
        f"{RANGES}.ContinuousParameterRanges[0].Name: is not a hyperparameter of the "
        "algorithm 'plain', whose TrainingSpecification declares no SupportedHyperParameters",
        f"{OBJECTIVE}.MetricName: the algorithm 'plain' cannot be tuned: its "
        "TrainingSpecification has no SupportedTuningJobObjectiveMetrics with a MetricDefinition",
    ]


def test_a_training_job_is_checked_against_the_specification(
    service: TuningService, store: SqlStore, tmp_path: Path
) -> None:
    training = TrainingService(store, SystemClock(), settings=service.settings)
    job = {"TrainingJobName": "one-checked", **definition(tmp_path)}
    job["HyperParameters"] = job.pop("StaticHyperParameters") | {"epochs": "0"}
    job["ResourceConfig"]["InstanceType"] = "ml.c5.2xlarge"
    with pytest.raises(ValidationError) as error:
        training.create(job)
    assert [str(v) for v in error.value.violations] == [
        "HyperParameters.epochs: must be an integer in [1, 1000]; got '0'",
        f"ResourceConfig.InstanceType: {ALGO} supports the instance types ml.m5.large, "
        "ml.c5.xlarge (SupportedTrainingInstanceTypes); got ml.c5.2xlarge",
    ]
    job["HyperParameters"]["epochs"] = "1"
    job["ResourceConfig"]["InstanceType"] = "ml.c5.xlarge"
    training.create(job)
    stored = store.training_job_request("one-checked")
    assert [m["Name"] for m in stored["AlgorithmSpecification"]["MetricDefinitions"]] == [
        "loss",
        "acc",
    ]


def test_a_tuning_job_takes_twenty_of_many_metric_definitions_the_objectives_first(
    service: TuningService, tmp_path: Path
) -> None:
    """An algorithm may define 40 metrics, a tuning job's definition takes 20: the
    objective's definition comes first (as for a built-in)."""
    many = specification()
    many["MetricDefinitions"] = [{"Name": f"m{i}", "Regex": f"m{i}=([0-9.]+)"} for i in range(25)]
    many["SupportedTuningJobObjectiveMetrics"] = [{"Type": "Minimize", "MetricName": "m24"}]
    service.algorithms.create({"AlgorithmName": "many", "TrainingSpecification": many})
    request = tuning_job(tmp_path)
    request["TrainingJobDefinition"]["AlgorithmSpecification"]["AlgorithmName"] = "many"
    _objective("Minimize", "m24")(request)
    names = [m.name for m in service.validate(request).definitions[0].metric_definitions]
    assert names == ["m24", *(f"m{i}" for i in range(19))]
