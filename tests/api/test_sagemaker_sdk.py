"""The SageMaker Python SDK v2 (``sagemaker<3``) against tunelab: an ``Estimator`` whose
image is a local program, ``HyperparameterTuner`` (one estimator) and
``HyperparameterTuner.create`` (two), with dummy credentials in the environment, the
real key only in the boto3 session given to ``sagemaker.Session``, and no network: every
name lookup of a host other than this machine fails the test."""

from __future__ import annotations

import io
import os
import socket
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.api import jobs
from tests.api.conftest import (
    FULL_KEY,
    Server,
    response_problems,
    start_server,
    wait_for,
    wait_tuning_job,
)
from tunelab.service.object_store import LocalObjectStore
from tunelab.service.results_csv import results_csv, row_of_summary

pytestmark = pytest.mark.slow  # importing the SDK alone takes seconds
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
TELEMETRY_OFF = {
    "SchemaVersion": "1.0",
    "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}},
}


class QuickPolls:
    """The ``time`` module as ``sagemaker.session`` sees it, with its polling sleeps
    (5 s between two DescribeHyperParameterTuningJob / DescribeTrainingJob calls in
    ``wait()``, ``Estimator.attach``) cut to 0.2 s so that the test stays quick."""

    def __init__(self, real: Any) -> None:
        self._real = real

    def sleep(self, seconds: float) -> None:
        self._real.sleep(min(seconds, 0.2))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


class Sdk:
    """The SDK's modules and a session bound to the server."""

    def __init__(self, server: Server, outbound: list[str]) -> None:
        import sagemaker
        from sagemaker.estimator import Estimator
        from sagemaker.tuner import ContinuousParameter, HyperparameterTuner, IntegerParameter

        self.server, self.outbound = server, outbound
        self.Estimator, self.HyperparameterTuner = Estimator, HyperparameterTuner
        self.ContinuousParameter, self.IntegerParameter = ContinuousParameter, IntegerParameter
        boto_session = boto3.Session(
            aws_access_key_id=FULL_KEY[0],
            aws_secret_access_key=FULL_KEY[1],
            region_name="us-east-1",
        )
        self.client = boto_session.client("sagemaker", endpoint_url=server.url)
        self.session = sagemaker.Session(
            boto_session=boto_session,
            sagemaker_client=self.client,
            sagemaker_config=TELEMETRY_OFF,
        )

    def estimator(self, **hyperparameters: Any) -> Any:
        return self.Estimator(
            image_uri=f"file://{jobs.TRAIN}",
            role=jobs.ROLE,
            instance_count=1,
            instance_type="ml.m5.large",
            output_path="s3://sdk-bucket/out",
            max_run=120,
            hyperparameters=hyperparameters,
            sagemaker_session=self.session,
        )


def offline_sdk(patch: pytest.MonkeyPatch, outbound: list[str]) -> None:
    """Make the SDK unable to reach anything but loopback (each other host it looks up
    is recorded in ``outbound``), with dummy credentials and no endpoint from the
    environment."""
    real_getaddrinfo = socket.getaddrinfo

    def loopback_only(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name not in LOOPBACK:
            outbound.append(name)
            raise OSError(f"no network in this test: {name}")
        return real_getaddrinfo(host, *args, **kwargs)

    patch.setattr(socket, "getaddrinfo", loopback_only)
    patch.setenv("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    patch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    patch.setenv("AWS_ACCESS_KEY_ID", "dummy-key-id")
    patch.setenv("AWS_SECRET_ACCESS_KEY", "dummy-secret")
    patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for variable in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SAGEMAKER"):
        patch.delenv(variable, raising=False)


@pytest.fixture(scope="module")
def sdk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sdk]:
    outbound: list[str] = []
    with pytest.MonkeyPatch.context() as patch:
        offline_sdk(patch, outbound)
        import sagemaker.session

        patch.setattr(sagemaker.session, "time", QuickPolls(time))
        home = tmp_path_factory.mktemp("sdk") / "home"
        with start_server(home) as server:
            data = home.parent / "train.csv"
            data.write_text("".join(f"{i},{2 * i}\n" for i in range(7)))
            LocalObjectStore(Path(home / "s3")).put(data, "s3://sdk-bucket/train/")
            yield Sdk(server, outbound)
        assert response_problems(server.exchanges) == []
    assert outbound == [], f"the SDK tried to reach {sorted(set(outbound))}"
    assert os.environ.get("AWS_ACCESS_KEY_ID") != "dummy-key-id"


@pytest.fixture(scope="module")
def tuned(sdk: Sdk) -> Any:
    """``HyperparameterTuner(...).fit(inputs="s3://...", wait=False)``, then ``wait()``."""
    tuner = sdk.HyperparameterTuner(
        sdk.estimator(epochs=3, seconds_per_epoch=0.05),
        objective_metric_name="loss",
        hyperparameter_ranges={"x": sdk.ContinuousParameter(0, 1)},
        metric_definitions=jobs.METRICS,
        objective_type="Minimize",
        strategy="Random",
        random_seed=5,
        max_jobs=4,
        max_parallel_jobs=2,
    )
    tuner.fit(inputs="s3://sdk-bucket/train", job_name="sdk-job", wait=False)
    first = tuner.describe()
    assert first["HyperParameterTuningJobName"] == "sdk-job"
    assert first["HyperParameterTuningJobStatus"] in ("InProgress", "Completed")
    tuner.wait()
    return tuner


def test_fit_runs_the_tuning_job(sdk: Sdk, tuned: Any) -> None:
    described = tuned.describe()
    assert described["HyperParameterTuningJobStatus"] == "Completed"
    assert described["TrainingJobStatusCounters"]["Completed"] == 4
    definition = described["TrainingJobDefinition"]
    # what the SDK sent, as tunelab ran it
    assert definition["AlgorithmSpecification"]["TrainingImage"] == f"file://{jobs.TRAIN}"
    assert definition["InputDataConfig"][0]["ChannelName"] == "training"
    assert definition["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] == (
        "s3://sdk-bucket/train"
    )
    assert definition["StaticHyperParameters"]["epochs"] == "3"
    # the training program saw the channel the SDK named "training"
    summary = sdk.client.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="sdk-job"
    )["TrainingJobSummaries"][0]
    job_dir = sdk.server.home / "jobs" / "sdk-job" / summary["TrainingJobName"]
    assert "seen training/train.csv: " in (job_dir / "logs" / "attempt-1.log").read_text()


def test_best_training_job(sdk: Sdk, tuned: Any) -> None:
    best = tuned.best_training_job()
    described = sdk.client.describe_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="sdk-job"
    )
    assert best == described["BestTrainingJob"]["TrainingJobName"]
    assert best.startswith("sdk-job-")


def test_analytics_dataframe(sdk: Sdk, tuned: Any) -> None:
    frame = tuned.analytics().dataframe()
    assert len(frame) == 4
    assert {"x", "TrainingJobName", "TrainingJobStatus", "FinalObjectiveValue"} <= set(frame)
    assert set(frame["TrainingJobStatus"]) == {"Completed"}
    for _, row in frame.iterrows():
        expected = round((float(row["x"]) - 0.3) ** 2 + 1 / 3, 6)
        assert row["FinalObjectiveValue"] == pytest.approx(expected, abs=1e-6)
    best = frame.sort_values("FinalObjectiveValue").iloc[0]["TrainingJobName"]
    assert best == tuned.best_training_job()


def assert_csv_is_the_dataframe(sdk: Sdk, name: str, frame: Any) -> None:
    """``tunelab training-jobs --csv``'s text, from the summaries the SDK read (the same
    request), has the dataframe's columns in its order and its values."""
    import pandas

    summaries = sdk.client.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name, MaxResults=100
    )["TrainingJobSummaries"]
    text = results_csv(map(row_of_summary, summaries))
    table = pandas.read_csv(io.StringIO(text))
    assert list(table.columns) == list(frame.columns)
    assert len(table) == len(frame) == len(summaries)
    for (_, ours), (_, theirs) in zip(table.iterrows(), frame.iterrows(), strict=True):
        for column in frame.columns:
            mine, sdks = ours[column], theirs[column]
            if column in ("TrainingStartTime", "TrainingEndTime"):
                assert datetime.fromisoformat(mine).timestamp() == pytest.approx(
                    sdks.timestamp(), abs=1e-3
                )
            elif isinstance(sdks, str):
                assert mine == sdks, column
            elif pandas.isna(sdks):
                assert pandas.isna(mine), column
            else:
                assert float(mine) == pytest.approx(float(sdks), abs=1e-6), column


def test_csv_is_the_analytics_dataframe(sdk: Sdk, tuned: Any) -> None:
    assert_csv_is_the_dataframe(sdk, "sdk-job", tuned.analytics().dataframe())


def test_attach(sdk: Sdk, tuned: Any) -> None:
    attached = sdk.HyperparameterTuner.attach("sdk-job", sagemaker_session=sdk.session)
    assert attached.latest_tuning_job.name == "sdk-job"
    assert attached.objective_metric_name == "loss"
    assert attached.objective_type == "Minimize"
    assert attached.max_jobs == 4 and attached.max_parallel_jobs == 2
    assert attached.strategy == "Random"
    ranges = attached.hyperparameter_ranges()
    assert ranges["ContinuousParameterRanges"][0]["Name"] == "x"
    estimator = attached.estimator
    assert estimator.image_uri == f"file://{jobs.TRAIN}"
    assert estimator.instance_type == "ml.m5.large"
    assert estimator.output_path == "s3://sdk-bucket/out"
    assert "_tuning_objective_metric" not in estimator.hyperparameters()
    assert attached.best_training_job() == tuned.best_training_job()


def test_best_estimator(sdk: Sdk, tuned: Any) -> None:
    """``Estimator.attach`` of the best training job: DescribeTrainingJob, ListTags and
    the SDK's status-change printer, which reads every transition's StatusMessage."""
    estimator = tuned.best_estimator()
    best = tuned.best_training_job()
    assert estimator.latest_training_job.name == best
    assert estimator.model_data == f"s3://sdk-bucket/out/{best}/output/model.tar.gz"
    assert LocalObjectStore(sdk.server.home / "s3").path(estimator.model_data).is_file()


def test_stop_tuning_job(sdk: Sdk) -> None:
    tuner = sdk.HyperparameterTuner(
        sdk.estimator(epochs=200, seconds_per_epoch=0.1),
        objective_metric_name="loss",
        hyperparameter_ranges={"x": sdk.ContinuousParameter(0, 1)},
        metric_definitions=jobs.METRICS,
        objective_type="Minimize",
        strategy="Random",
        max_jobs=4,
        max_parallel_jobs=2,
    )
    tuner.fit(inputs="s3://sdk-bucket/train", job_name="sdk-stop", wait=False)
    wait_for(
        lambda: tuner.describe()["TrainingJobStatusCounters"]["InProgress"] == 2,
        what="2 running training jobs",
    )
    tuner.stop_tuning_job()
    assert tuner.describe()["HyperParameterTuningJobStatus"] in ("Stopping", "Stopped")
    described = wait_tuning_job(sdk.client, "sdk-stop", timeout=30)
    assert described["HyperParameterTuningJobStatus"] == "Stopped"
    assert described["TrainingJobStatusCounters"]["Stopped"] == 2


def test_create_with_two_estimators(sdk: Sdk) -> None:
    tuner = sdk.HyperparameterTuner.create(
        estimator_dict={
            "fast": sdk.estimator(epochs=2, seconds_per_epoch=0.05),
            "slow": sdk.estimator(seconds_per_epoch=0.02),
        },
        objective_metric_name_dict={"fast": "loss", "slow": "loss"},
        hyperparameter_ranges_dict={
            "fast": {"x": sdk.ContinuousParameter(0, 1)},
            "slow": {"x": sdk.ContinuousParameter(0.5, 1), "epochs": sdk.IntegerParameter(2, 4)},
        },
        metric_definitions_dict={"fast": jobs.METRICS, "slow": jobs.METRICS},
        objective_type="Minimize",
        strategy="Random",
        max_jobs=4,
        max_parallel_jobs=2,
    )
    tuner.fit(
        inputs={"fast": "s3://sdk-bucket/train", "slow": "s3://sdk-bucket/train"},
        job_name="sdk-multi",
        include_cls_metadata={},
        wait=False,
    )
    described = wait_tuning_job(sdk.client, "sdk-multi")
    assert described["HyperParameterTuningJobStatus"] == "Completed"
    assert [d["DefinitionName"] for d in described["TrainingJobDefinitions"]] == ["fast", "slow"]
    assert tuner.best_training_job() == described["BestTrainingJob"]["TrainingJobName"]
    frame = tuner.analytics().dataframe()
    assert len(frame) == 4
    assert set(frame["TrainingJobDefinitionName"]) <= {"fast", "slow"}
    assert_csv_is_the_dataframe(sdk, "sdk-multi", frame)
    attached = sdk.HyperparameterTuner.attach("sdk-multi", sagemaker_session=sdk.session)
    assert set(attached.estimator_dict) == {"fast", "slow"}
    assert attached.objective_metric_name_dict == {"fast": "loss", "slow": "loss"}
    assert set(attached._hyperparameter_ranges_dict["slow"]) == {"x", "epochs"}
    assert attached.estimator_dict["slow"].image_uri == f"file://{jobs.TRAIN}"


def test_attach_a_multi_definition_job_created_with_boto3(sdk: Sdk) -> None:
    """Created with boto3, each definition gives only the range lists it uses ("fast"
    no IntegerParameterRanges); attach() reads all three of each with ``[...]``."""
    sdk.client.create_hyper_parameter_tuning_job(
        **jobs.two_definition_job("boto3-multi", max_jobs=2)
    )
    attached = sdk.HyperparameterTuner.attach("boto3-multi", sagemaker_session=sdk.session)
    assert set(attached.estimator_dict) == {"fast", "slow"}
    assert set(attached._hyperparameter_ranges_dict["fast"]) == {"x"}
    assert set(attached._hyperparameter_ranges_dict["slow"]) == {"x", "epochs"}
    wait_tuning_job(sdk.client, "boto3-multi")


def test_the_sdk_used_only_tunelab(sdk: Sdk, tuned: Any) -> None:
    """Every call went to tunelab, signed with the session's key, and got a 200."""
    operations = {e.operation for e in sdk.server.exchanges}
    assert {
        "CreateHyperParameterTuningJob",
        "DescribeHyperParameterTuningJob",
        "ListTrainingJobsForHyperParameterTuningJob",
    } <= operations
    assert {e.status for e in sdk.server.exchanges} == {200}
    assert sdk.outbound == []
