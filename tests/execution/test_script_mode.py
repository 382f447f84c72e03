"""Script mode: framework images recognized, the submit directory unpacked into the code
directory, and a real SageMaker-style script (argparse, SM_MODEL_DIR, SM_CHANNEL_TRAIN)
run unchanged with the toolkit's arguments and variables."""

from __future__ import annotations

import json
import os
import tarfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.execution.conftest import shut_down
from tunelab.domain.definition import CheckpointSpec, DataChannel
from tunelab.domain.enums import TrainingJobStatus
from tunelab.execution import container
from tunelab.execution.base import Finished
from tunelab.execution.local import LocalExecutor
from tunelab.execution.script_mode import framework_of, is_script_mode
from tunelab.execution.storage import DataPlane

from .test_contract import PROGRAMS, collect, lines_of, make_definition, make_request

SCRIPT_DIR = PROGRAMS / "sagemaker_script"
ECR = "dkr.ecr.us-east-1.amazonaws.com"
SKLEARN = f"683313688378.{ECR}/sagemaker-scikit-learn:1.2-1-cpu-py3"
PYTORCH = f"763104351884.{ECR}/pytorch-training:2.3.0-cpu-py311-ubuntu20.04-sagemaker"


def test_framework_images_are_recognized_by_repository() -> None:
    assert framework_of(PYTORCH) == "pytorch"
    assert framework_of(SKLEARN) == "sklearn"
    assert framework_of(f"763104351884.{ECR}/tensorflow-training:2.16-cpu-py310") == "tensorflow"
    assert framework_of(f"683313688378.{ECR}/sagemaker-xgboost:1.7-1") == "xgboost"
    assert framework_of(f"763104351884.{ECR}/pytorch-inference:2.3-cpu") is None
    assert framework_of("pytorch-training:2.3") is None
    xgboost = f"683313688378.{ECR}/sagemaker-xgboost:1.7-1"
    assert not is_script_mode(xgboost, {})  # the built-in XGBoost algorithm
    assert is_script_mode(xgboost, {"sagemaker_program": '"train.py"'})
    assert is_script_mode(PYTORCH, {})


def source_tarball(path: Path) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name in ("train.py", "helper.py"):
            tar.add(SCRIPT_DIR / name, arcname=name)
    return path


@pytest.fixture
def executor(tmp_path: Path) -> Iterator[LocalExecutor]:
    ex = LocalExecutor(stop_grace_seconds=1, data=DataPlane(s3_root=str(tmp_path / "s3")))
    yield ex
    shut_down(ex)


def training_data(folder: Path) -> Path:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3))
    y = (x @ np.array([1.5, -2.0, 0.5]) > 0).astype(float)
    folder.mkdir(parents=True, exist_ok=True)
    np.savetxt(folder / "train.csv", np.column_stack([y, x]), delimiter=",")
    return folder


def test_a_sagemaker_script_runs_unchanged(executor: LocalExecutor, tmp_path: Path) -> None:
    bucket = tmp_path / "s3" / "bkt"
    bucket.mkdir(parents=True)
    source_tarball(bucket / "sourcedir.tar.gz")
    training_data(bucket / "train")
    submit = "s3://bkt/sourcedir.tar.gz"
    static = {  # as the SageMaker SDK sends them: strings JSON-encoded
        "sagemaker_program": '"train.py"',
        "sagemaker_submit_directory": json.dumps(submit),
        "sagemaker_container_log_level": "20",
        "sagemaker_region": '"us-east-1"',
        "optimizer": '"adam"',
    }
    definition = make_definition(
        SKLEARN,
        static_hyperparameters=static,
        channels=(DataChannel("train", "s3://bkt/train/", content_type="text/csv"),),
        output_path="s3://bkt/out",
    )
    hyperparameters = {**static, "epochs": "4", "learning-rate": "0.5"}
    executor.submit(make_request(tmp_path / "job", definition, hyperparameters))
    events = collect(executor, timeout=30)
    done = events[-1]
    assert isinstance(done, Finished)
    assert done.status is TrainingJobStatus.COMPLETED, done.failure_reason
    lines = lines_of(events)
    assert lines[0] == "Invoking script with the following command:"
    assert [line for line in lines if line.startswith("epoch=")][-1].startswith("epoch=3 ")
    assert float(lines[-1].split("=")[1].rstrip(";")) > 0.8  # validation-accuracy
    job = tmp_path / "job"
    run = json.loads((job / "model" / "run.json").read_text())
    assert run == {
        "optimizer": "adam",
        "hosts": ["algo-1"],
        "helper": 2,
        "cwd": str(job / "code"),
        "module_dir": submit,
        "module_name": "train",
        "user_args": ["--epochs", "4", "--learning-rate", "0.5", "--optimizer", "adam"],
    }
    assert done.model_artifacts == "s3://bkt/out/job/output/model.tar.gz"
    with tarfile.open(bucket / "out" / "job" / "output" / "model.tar.gz") as tar:
        assert sorted(tar.getnames()) == ["run.json", "weights.npy"]


def test_a_local_folder_and_a_missing_program(executor: LocalExecutor, tmp_path: Path) -> None:
    training_data(tmp_path / "data")
    static = {"sagemaker_program": "train.py", "sagemaker_submit_directory": str(SCRIPT_DIR)}
    definition = make_definition(
        PYTORCH,
        static_hyperparameters=static,
        channels=(DataChannel("train", str(tmp_path / "data")),),
        output_path=str(tmp_path / "out"),
    )
    executor.submit(make_request(tmp_path / "job", definition, {**static, "epochs": "1"}))
    done = collect(executor, timeout=30)[-1]
    assert isinstance(done, Finished)
    assert done.status is TrainingJobStatus.COMPLETED, done.failure_reason
    assert (tmp_path / "job" / "code" / "helper.py").exists()

    wrong = {**static, "sagemaker_program": "nope.py"}
    definition = make_definition(PYTORCH, static_hyperparameters=wrong, output_path="/tmp/x")
    executor.submit(make_request(tmp_path / "job2", definition, wrong))
    done = collect(executor, timeout=10)[-1]
    assert isinstance(done, Finished) and done.status is TrainingJobStatus.FAILED
    assert done.failure_reason == (
        f"sagemaker_program 'nope.py' is not in sagemaker_submit_directory {SCRIPT_DIR}"
    )


def test_other_images_are_docker_containers_with_the_job_dir_as_opt_ml() -> None:
    other = f"123456789012.{ECR}/my-algo:3"
    assert container.runs_in_container(other, {})
    assert not container.runs_in_container(SKLEARN, {"sagemaker_program": "t.py"})
    assert not container.runs_in_container(f"683313688378.{ECR}/sagemaker-xgboost:1.7-1", {})
    assert not container.runs_in_container("file:///bin/true", {})
    definition = make_definition(other, environment={"MODE": "fast"})
    argv = container.entry_argv(definition)
    assert argv[1:3] == ["-m", "tunelab.execution.container"]
    assert argv[3:] == [
        "--env=TRAINING_JOB_NAME", "--env=TRAINING_JOB_ARN", "--env=MODE",
        f"--docker=--memory={8 * 2**30}", other,  # ml.m5.large: 8 GiB
    ]  # fmt: skip
    isolated = make_definition(other, network_isolation=True)
    assert "--docker=--network=none" in container.entry_argv(isolated)
    outside = make_definition(other, checkpoint=CheckpointSpec("s3://b/ck", "/tmp/ck/"))
    assert "--docker=--volume=/tmp/ck:/tmp/ck" in container.entry_argv(outside)
    inside = make_definition(other, checkpoint=CheckpointSpec("s3://b/ck", "/opt/ml/ck"))
    assert not any("volume" in a for a in container.entry_argv(inside))  # under /opt/ml
    options = ["--memory=1", "--cpuset-cpus=0"]
    assert container.docker_command(other, "/jobs/t/j", "tunelab-j", ["MODE"], options) == [
        "docker", "run", "--rm", "--name=tunelab-j", "--volume=/jobs/t/j:/opt/ml",
        "--env=MODE", "--memory=1", "--cpuset-cpus=0", other, "train",
    ]  # fmt: skip
    assert container.cpuset() == ",".join(map(str, sorted(os.sched_getaffinity(0))))
