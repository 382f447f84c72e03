"""CreateTrainingJob: the rules a tuning job's definitions follow hold for a training job
on its own, and a refused request stores nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.factories import make_definition
from tunelab.domain.errors import ValidationError
from tunelab.domain.trial import MetricPoint
from tunelab.execution.clock import SystemClock
from tunelab.service.settings import Settings
from tunelab.service.training import TrainingService
from tunelab.store.base import TrainingJobQuery
from tunelab.store.retention import STEPS_KEPT
from tunelab.store.sql.store import SqlStore

PROGRAM = Path(__file__).resolve().parents[1] / "e2e" / "programs" / "epochs.py"
ARN = "arn:aws:sagemaker:us-east-1:123456789012:hub-content/hub/DataSet/faces"


@pytest.fixture
def training(tmp_path: Path) -> Iterator[TrainingService]:
    store = SqlStore(f"sqlite:///{tmp_path / 'db.sqlite'}")
    settings = Settings(home=tmp_path, database_url=store.url)
    yield TrainingService(store, SystemClock(), str(tmp_path / "s3"), settings)
    store.close()


def request(**changes: Any) -> dict[str, Any]:
    return {"TrainingJobName": "solo"} | make_definition(image=f"file://{PROGRAM}", **changes)


def refusals(training: TrainingService, document: dict[str, Any]) -> list[str]:
    with pytest.raises(ValidationError) as error:
        training.create(document)
    assert training.store.list_training_jobs(TrainingJobQuery(None)).items == []
    return [str(v) for v in error.value.violations]


def test_metric_definitions_need_valid_regexes_and_unique_names(
    training: TrainingService,
) -> None:
    document = request()
    metrics = document["AlgorithmSpecification"]["MetricDefinitions"]
    metrics += [{"Name": "z", "Regex": "(x"}, {"Name": "z", "Regex": "z=([0-9]+)"}]
    assert refusals(training, document) == [
        "AlgorithmSpecification.MetricDefinitions[1].Regex: is not a valid regular "
        "expression: missing ), unterminated subpattern at position 0",
        "AlgorithmSpecification.MetricDefinitions[2].Name: 'z' is defined twice",
    ]


def test_max_wait_time_only_with_managed_spot_and_not_below_max_runtime(
    training: TrainingService,
) -> None:
    stopping = {"MaxRuntimeInSeconds": 300, "MaxWaitTimeInSeconds": 10}
    path = "StoppingCondition.MaxWaitTimeInSeconds"
    assert refusals(training, request(StoppingCondition=stopping)) == [
        f"{path}: Invalid MaxWaitTimeInSeconds. It is only supported when "
        "EnableManagedSpotTraining is set to true"
    ]
    spot = request(StoppingCondition=stopping, EnableManagedSpotTraining=True)
    assert refusals(training, spot) == [
        f"{path}: must be at least MaxRuntimeInSeconds (300); got 10"
    ]


def test_a_training_image_or_an_algorithm_is_required(training: TrainingService) -> None:
    document = request()
    del document["AlgorithmSpecification"]["TrainingImage"]
    assert refusals(training, document) == [
        "AlgorithmSpecification: give TrainingImage or AlgorithmName"
    ]
    del document["AlgorithmSpecification"]
    assert refusals(training, document) == [
        "AlgorithmSpecification: is required: give its TrainingImage or AlgorithmName and "
        "TrainingInputMode"
    ]


def test_channel_names_are_unique(training: TrainingService, tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.csv").write_text("1,2\n")
    source = {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"file://{tmp_path}/data/"}}
    channels = [{"ChannelName": "train", "DataSource": source}] * 2
    assert refusals(training, request(InputDataConfig=channels)) == [
        "InputDataConfig[1].ChannelName: channel names must be unique; 'train' is also the "
        "name of InputDataConfig[0]"
    ]
    assert training.create(request(InputDataConfig=channels[:1])).name == "solo"


def test_dataset_sources_are_refused_as_not_available(training: TrainingService) -> None:
    channels = [{"ChannelName": "train", "DataSource": {"DatasetSource": {"DatasetArn": ARN}}}]
    assert refusals(training, request(InputDataConfig=channels)) == [
        "InputDataConfig[0].DataSource.DatasetSource: dataset sources are not available in "
        "this version of tunelab; give S3DataSource or FileSystemDataSource"
    ]


def test_the_server_s_training_service_uses_the_server_s_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server built with a home other than the environment's used to check a
    CreateTrainingJob's KmsKeyId (and RoleArn) against the environment's home, refusing a
    key of its own key store that its tuning jobs accept."""
    from tunelab.api.server import build_services
    from tunelab.service.kms import KeyStore

    server_home, environment_home = tmp_path / "server", tmp_path / "environment"
    server_home.mkdir()
    environment_home.mkdir()
    monkeypatch.setenv("TUNELAB_HOME", str(environment_home))
    monkeypatch.delenv("TUNELAB_MASTER_KEY", raising=False)
    store = SqlStore(f"sqlite:///{server_home / 'tunelab.db'}")
    settings = Settings(home=server_home, database_url=store.url)
    try:
        services = build_services(settings, store, scheduler=False)
        KeyStore(server_home).create("models")
        output = {"S3OutputPath": "s3://models/out/", "KmsKeyId": "alias/models"}
        job = services.training.create(request(OutputDataConfig=output))
        assert services.training.describe(job.name).definition.output_path == "s3://models/out/"
    finally:
        store.close()


def test_describe_reports_the_latest_point_of_each_metric_in_definition_order(
    training: TrainingService,
) -> None:
    document = request()
    document["AlgorithmSpecification"]["MetricDefinitions"].append(
        {"Name": "train:loss", "Regex": "train:loss=([0-9.]+)"}
    )
    training.create(document)
    steps = STEPS_KEPT + 2_500  # past the steps kept one by one: the series is thinned
    loss = [MetricPoint("train:loss", 1 / (k + 1), 10.0 + k, k) for k in range(steps)]
    accuracy = [MetricPoint("validation:accuracy", k / 10, 20.0 + k, k) for k in range(7)]
    with training.store.batch() as batch:
        batch.add_metric_points("solo", loss[:1_000])
        batch.add_metric_points("solo", accuracy)
    with training.store.batch() as batch:
        batch.add_metric_points("solo", loss[1_000:])
    assert len(training.store.metric_points("solo", "train:loss")) < steps
    final = training.describe("solo").final_metrics
    assert final == (accuracy[-1], loss[-1])
