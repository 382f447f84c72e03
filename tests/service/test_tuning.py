"""Use cases: the order of validation stages, what this version refuses, the
checks that programs and data exist, create-or-resume, stop of an orphaned job,
delete."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.factories import make_document, make_multi_document
from tunelab.domain.enums import TrainingJobStatus, TuningJobStatus
from tunelab.domain.errors import (
    ResourceInUse,
    ResourceLimitExceeded,
    ResourceNotFound,
    ValidationError,
)
from tunelab.domain.request import parse_tuning_job
from tunelab.domain.rules import Quotas
from tunelab.domain.tuning_job import TuningJob
from tunelab.execution import container
from tunelab.service.settings import Settings
from tunelab.service.tuning import TuningService
from tunelab.store.sql.store import SqlStore

PROGRAM = Path(__file__).resolve().parents[1] / "e2e" / "programs" / "epochs.py"


@pytest.fixture
def service(tmp_path: Path) -> Iterator[TuningService]:
    store = SqlStore(f"sqlite:///{tmp_path / 'db.sqlite'}")
    settings = Settings(home=tmp_path, database_url=store.url, stop_grace_seconds=2)
    yield TuningService(settings, store)
    store.close()


def document(**changes) -> dict:
    """A request running the end-to-end test program, which prints ``loss=<v>;``."""
    changes.setdefault("image", f"file://{PROGRAM}")
    result = make_document(metric="loss", regex=r"loss=([0-9.]+);", **changes)
    config = result["HyperParameterTuningJobConfig"]
    config["HyperParameterTuningJobObjective"] = {"Type": "Minimize", "MetricName": "loss"}
    config["ParameterRanges"] = {
        "ContinuousParameterRanges": [{"Name": "x", "MinValue": "0", "MaxValue": "1"}]
    }
    return result


def errors(service: TuningService, request: dict) -> list[str]:
    with pytest.raises(ValidationError) as error:
        service.validate(request)
    return [str(v) for v in error.value.violations]


def test_shape_problems_are_reported_before_semantic_ones(service: TuningService) -> None:
    request = document()
    request["HyperParameterTuningJobConfig"]["Strategy"] = "Sobol"
    request["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxParallelTrainingJobs"] = 50
    assert errors(service, request) == [
        "HyperParameterTuningJobConfig.Strategy: must be one of Bayesian, Random, Hyperband, "
        "Grid; got 'Sobol'"
    ]


def test_a_request_that_is_not_an_object_is_refused(service: TuningService) -> None:
    with pytest.raises(ValidationError, match="must hold a JSON/YAML object"):
        service.validate(["not", "a", "request"])  # type: ignore[arg-type]


def test_quotas_come_from_the_settings(service: TuningService, tmp_path: Path) -> None:
    request = document(max_jobs=20, parallel=12)
    with pytest.raises(ResourceLimitExceeded, match="exceeds the quota of 10 parallel"):
        service.validate(request)
    generous = Settings(home=tmp_path, database_url="", quotas=Quotas(12, 500, 24))
    assert (
        TuningService(generous, service.store).validate(request).limits.max_parallel_training_jobs
        == 12
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda r: r["TrainingJobDefinition"]["AlgorithmSpecification"].update(
                TrainingImage="123456789012.dkr.ecr.us-east-1.amazonaws.com/xgboost:1"
            ),
            "TrainingJobDefinition.AlgorithmSpecification.TrainingImage: "
            "'123456789012.dkr.ecr.us-east-1.amazonaws.com/xgboost:1' is a container image: "
            "tunelab runs such images with docker, and no container engine answers here "
            "(`docker info` failed); use a file:///absolute/path/to/program, a built-in "
            "algorithm (tunelab algorithms list) or a SageMaker framework image with "
            "sagemaker_program and sagemaker_submit_directory (script mode); if it is meant "
            "as a built-in algorithm's image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/"
            "xgboost:1' looks like SageMaker's image of the built-in algorithm xgboost, but "
            "tunelab does not recognize it: the account of xgboost in us-east-1 is "
            "811284229777, not 123456789012",
        ),
        (
            lambda r: r["TrainingJobDefinition"].update(
                ResourceConfig={
                    "InstanceGroups": [
                        {"InstanceType": "ml.m5.large", "InstanceCount": 1}
                        | {"InstanceGroupName": "a"}
                    ],
                    "VolumeSizeInGB": 1,
                }
            ),
            "TrainingJobDefinition.ResourceConfig.InstanceGroups: heterogeneous clusters "
            "(InstanceGroups) are not available in this version of tunelab; use InstanceType "
            "and InstanceCount",
        ),
        (
            lambda r: r.update(Tags=[{"Key": "tunelab:hyperband-sampler", "Value": "gp"}]),
            "Tags[0]: the tunelab:hyperband-sampler tag applies to the Hyperband strategy only",
        ),
        (
            lambda r: (
                r["HyperParameterTuningJobConfig"].update(
                    Strategy="Hyperband",
                    StrategyConfig={"HyperbandStrategyConfig": {"MaxResource": 3}},
                ),
                r.update(Tags=[{"Key": "tunelab:hyperband-sampler", "Value": "tpe"}]),
            ),
            "Tags[0].Value: tunelab:hyperband-sampler must be one of random, model, gp; got 'tpe'",
        ),
        (
            lambda r: r["HyperParameterTuningJobConfig"].update(
                TuningJobCompletionCriteria={
                    "ConvergenceDetected": {"CompleteOnConvergence": "Enabled"}
                }
            ),
            "HyperParameterTuningJobConfig.TuningJobCompletionCriteria.ConvergenceDetected: "
            "CompleteOnConvergence 'Enabled' needs a strategy whose model detects "
            "convergence (Bayesian); the Random strategy has none: use 'Disabled' or "
            "BestObjectiveNotImproving",
        ),
    ],
)
def test_what_this_version_cannot_run_is_refused_clearly(
    service: TuningService, change, message, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no docker here: no container engine answers
    monkeypatch.setattr(container, "_checked", None)
    request = document()
    change(request)
    assert errors(service, request) == [message]


S3_CHANNEL = {
    "ChannelName": "train",
    "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/train/"}},
}


def test_s3_locations_live_in_the_local_object_store(service: TuningService) -> None:
    request = document()
    request["TrainingJobDefinition"]["InputDataConfig"] = [S3_CHANNEL]
    assert errors(service, request) == [
        "TrainingJobDefinition.InputDataConfig[0]: channel 'train': the data source "
        "s3://b/train/ does not exist"
    ]
    data = service.settings.home / "s3" / "b" / "train"
    data.mkdir(parents=True)
    (data / "train.csv").write_text("1,2\n")
    assert service.validate(request).definitions[0].channels[0].uri == "s3://b/train/"


def test_programs_and_channels_must_exist(service: TuningService, tmp_path: Path) -> None:
    request = document(image=f"file://{tmp_path}/missing.py")
    request["TrainingJobDefinition"]["InputDataConfig"] = [
        {
            "ChannelName": "train",
            "DataSource": {
                "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"file://{tmp_path}/no"}
            },
        }
    ]
    assert errors(service, request) == [
        f"TrainingJobDefinition.AlgorithmSpecification.TrainingImage: the program "
        f"file://{tmp_path}/missing.py does not exist",
        f"TrainingJobDefinition.InputDataConfig[0]: channel 'train': the data source "
        f"file://{tmp_path}/no does not exist",
    ]
    script = tmp_path / "train.sh"
    script.write_text("#!/bin/sh\n")
    request["TrainingJobDefinition"]["AlgorithmSpecification"]["TrainingImage"] = (
        f"file://{script}"
    )
    assert errors(service, request)[0].endswith(
        "is not executable (chmod +x it, or give a .py file, which runs with tunelab's Python)"
    )


def test_create_then_resume_with_the_same_request(service: TuningService) -> None:
    request = document()
    created, resumed = service.create_or_resume(copy.deepcopy(request))
    assert not resumed and created.status is TuningJobStatus.IN_PROGRESS
    again, resumed = service.create_or_resume(copy.deepcopy(request))
    assert resumed and again.name == created.name
    changed = copy.deepcopy(request)
    changed["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxNumberOfTrainingJobs"] = 3
    with pytest.raises(ResourceInUse, match="already exists"):
        service.create_or_resume(changed)


def test_stopping_a_job_no_process_runs_finishes_the_stop(service: TuningService) -> None:
    created = service.create(document())
    stopped = service.stop(created.name)
    assert stopped.status is TuningJobStatus.STOPPED
    assert service.training_jobs_of(created.name) == []


def test_a_stopping_job_is_told_to_wait_before_it_is_deleted(service: TuningService) -> None:
    created = service.create(document())
    with pytest.raises(ValidationError, match="is InProgress; stop it before deleting it"):
        service.delete(created.name)
    service.stop(created.name, finish_orphans=False)  # a process would finish the stop
    with pytest.raises(ValidationError) as error:
        service.delete(created.name)
    assert str(error.value) == (
        f"Tuning job '{created.name}' is Stopping; wait until it is Stopped, then delete it"
    )


def test_run_and_delete(service: TuningService, monkeypatch: pytest.MonkeyPatch) -> None:
    created = service.create(
        document(max_jobs=2, StaticHyperParameters={"seconds_per_epoch": "0"})
    )
    monkeypatch.setenv("RUNS_LOG", str(service.settings.home / "runs.log"))
    final = service.run(created.name)
    assert final.status is TuningJobStatus.COMPLETED
    jobs = service.training_jobs_of(created.name)
    assert [j.status for j in jobs] == [TrainingJobStatus.COMPLETED] * 2
    service.delete(created.name)
    with pytest.raises(ResourceNotFound):
        service.get(created.name)
    # the training jobs stay, as in SageMaker
    assert service.store.get_training_job(jobs[0].name).status is TrainingJobStatus.COMPLETED


def test_a_multi_definition_request_validates(service: TuningService) -> None:
    request = make_multi_document()
    for definition in request["TrainingJobDefinitions"]:
        definition["AlgorithmSpecification"]["TrainingImage"] = f"file://{PROGRAM}"
    spec = service.validate(request)
    assert [d.name for d in spec.definitions] == ["alpha", "beta"]


def test_concurrent_tuning_jobs_are_a_quota(service: TuningService, tmp_path: Path) -> None:
    quotas = Quotas(max_concurrent_tuning_jobs=2)
    small = TuningService(
        Settings(home=tmp_path, database_url=service.store.url, quotas=quotas), service.store
    )
    small.create(document(name="one"))
    small.create(document(name="two"))
    small.stop("one", finish_orphans=False)  # Stopping: not ended yet
    with pytest.raises(
        ResourceLimitExceeded,
        match="2 tuning jobs are in progress; the quota of concurrent tuning jobs is 2",
    ):
        small.create(document(name="three"))
    with pytest.raises(ResourceNotFound):
        small.get("three")  # nothing stored
    assert small.create_or_resume(document(name="two"))[1]  # resuming is not a new job
    small.stop("one")
    assert small.create(document(name="three")).status is TuningJobStatus.IN_PROGRESS


def test_the_concurrent_tuning_jobs_quota_is_configurable(tmp_path: Path) -> None:
    env = {"TUNELAB_HOME": str(tmp_path)}
    assert Settings.from_env(env).quotas.max_concurrent_tuning_jobs == 100
    env["TUNELAB_MAX_CONCURRENT_TUNING_JOBS"] = "3"
    assert Settings.from_env(env).quotas.max_concurrent_tuning_jobs == 3


def test_a_job_an_older_version_accepted_and_that_cannot_run_can_be_stopped(
    service: TuningService,
) -> None:
    request = document(StaticHyperParameters={"epochs": "0"})
    request["HyperParameterTuningJobConfig"]["Strategy"] = "Hyperband"
    with pytest.raises(ValidationError, match=r"StaticHyperParameters\.epochs: gives Hyperband"):
        service.validate(request)
    spec = parse_tuning_job(service.prepared(request))  # stored as an older version did
    now = service.clock.now()
    service.store.create_tuning_job(TuningJob(spec, TuningJobStatus.IN_PROGRESS, now, now))
    assert service.stop(spec.name).status is TuningJobStatus.STOPPED
    service.delete(spec.name)


def test_the_stop_grace_period_is_a_number_of_seconds() -> None:
    assert Settings.from_env({"TUNELAB_STOP_GRACE_SECONDS": "2.5"}).stop_grace_seconds == 2.5
    assert Settings.from_env({}).stop_grace_seconds == 120.0
    for text in ("xyz", "-5", "nan", "inf"):
        with pytest.raises(ValidationError) as refused:
            Settings.from_env({"TUNELAB_STOP_GRACE_SECONDS": text})
        assert str(refused.value.violations[0]) == (
            "environment variable TUNELAB_STOP_GRACE_SECONDS must be a number of seconds, at "
            f"least 0; got {text!r}"
        )


def test_a_job_too_big_for_this_machine_is_refused_unless_jobs_run_on_ray(
    service: TuningService, tmp_path: Path
) -> None:
    request = document(name="huge")
    resources = request["TrainingJobDefinition"]["ResourceConfig"]
    resources.update(InstanceType="ml.c5.18xlarge", InstanceCount=8)  # 576 vCPUs
    with pytest.raises(ResourceLimitExceeded, match=r"ml\.c5\.18xlarge"):
        service.create(copy.deepcopy(request))
    settings = Settings(home=tmp_path, database_url=service.store.url, ray_address="auto")
    on_ray = TuningService(settings, service.store)  # the cluster's nodes judge it
    assert on_ray.create(request).status is TuningJobStatus.IN_PROGRESS
