"""CheckpointConfig.LocalPath must name a folder of its own: not /opt/ml (the job directory)
nor a folder it gives another purpose (input with its config files and data channels,
model, output, code, tunelab's logs and other hosts), which restoring checkpoints empties
and syncing uploads as checkpoints. Refused when a job is created, and at launch for a job
stored before the rule."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.execution.conftest import shut_down
from tunelab.domain.definition import CheckpointSpec
from tunelab.domain.enums import TrainingJobStatus
from tunelab.domain.errors import Violation
from tunelab.domain.request import parse_tuning_job
from tunelab.domain.training_request import parse_training_job_request
from tunelab.execution.base import Finished
from tunelab.execution.job_dir import JobLayout, shared_checkpoint_dir
from tunelab.execution.local import LocalExecutor
from tunelab.execution.preflight import check_launchable, launch_problems
from tunelab.execution.storage import DataPlane

from .test_contract import PROGRAMS, collect, make_definition, make_request

PROGRAM = (PROGRAMS / "checkpointer.py").as_uri()
SAFETY = (
    ": restoring checkpoints would delete its files and syncing would upload them as "
    "checkpoints; name a folder of its own, such as /opt/ml/checkpoints (the default)"
)
REFUSED = [
    "/opt/ml",
    "/opt/ml/",
    "/opt/ml/input",
    "/opt/ml/input/config",
    "/opt/ml/input/config/hyperparameters.json",
    "/opt/ml/input/data/train",
    "/opt/ml/model",
    "/opt/ml/output/",
    "/opt/ml/output/data",
    "/opt/ml/code",
    "/opt/ml/logs",
    "/opt/ml/hosts/algo-2",
    "/opt/ml/checkpoints/../model",
    "//opt/ml",  # POSIX keeps a leading // in normpath: it still names /opt/ml
    "//opt/ml/input",
    "//opt/ml/model/",
    "relative/ck",
]
TAKEN = [
    "/opt/ml/checkpoints",
    "/opt/ml/checkpoints/",
    "/opt/ml/ck/deep",
    "/opt/ml/inputs",
    "//opt/ml/checkpoints",
]


def _definition(local_path: str, tmp_path: Path) -> Any:
    return make_definition(
        PROGRAM,
        checkpoint=CheckpointSpec("s3://bkt/ck", local_path),
        output_path=str(tmp_path / "out"),
    )


@pytest.mark.parametrize("local_path", REFUSED)
def test_a_local_path_of_the_job_directory_is_refused(local_path: str, tmp_path: Path) -> None:
    problems = launch_problems(_definition(local_path, tmp_path), "", str(tmp_path / "s3"))
    assert [p.path for p in problems] == ["CheckpointConfig.LocalPath"]
    assert problems[0].message.startswith(repr(local_path))


@pytest.mark.parametrize("local_path", TAKEN)
def test_new_folders_under_opt_ml_are_taken(local_path: str, tmp_path: Path) -> None:
    assert launch_problems(_definition(local_path, tmp_path), "", str(tmp_path / "s3")) == []


def test_the_message_names_the_folder_and_the_rule(tmp_path: Path) -> None:
    def message(local_path: str) -> str:
        return launch_problems(_definition(local_path, tmp_path), "")[0].message

    assert message("/opt/ml") == "'/opt/ml' is the job directory itself" + SAFETY
    assert message("/opt/ml/model") == (
        "'/opt/ml/model' is the folder of the model (SM_MODEL_DIR), packaged as "
        "model.tar.gz" + SAFETY
    )
    assert message("/opt/ml/input/data/train") == (
        "'/opt/ml/input/data/train' is inside /opt/ml/input, the folder of the job's "
        "config files and data channels" + SAFETY
    )
    assert message("relative/ck") == "'relative/ck' must be an absolute path"
    assert message("//opt/ml/input") == (
        "'//opt/ml/input' is the folder of the job's config files and data channels" + SAFETY
    )


def test_a_local_path_starting_with_two_slashes_is_under_the_job_directory(
    tmp_path: Path,
) -> None:
    """``//opt/ml/ck`` is ``/opt/ml/ck``: re-rooted at the job directory like it, not a
    folder of this machine shared by every job that names it."""
    definition = _definition("//opt/ml/ck", tmp_path)
    assert shared_checkpoint_dir(definition) is None
    layout = JobLayout.for_request(make_request(tmp_path / "job", definition))
    assert layout.checkpoint_dir == str(tmp_path / "job" / "ck")


def test_create_training_job_and_tuning_job_definitions_are_refused(tmp_path: Path) -> None:
    """What ``CreateTrainingJob`` and ``CreateHyperParameterTuningJob`` check (service/)."""
    definition = {
        "AlgorithmSpecification": {"TrainingImage": PROGRAM, "TrainingInputMode": "File"},
        "RoleArn": "arn:aws:iam::123456789012:role/tunelab",
        "OutputDataConfig": {"S3OutputPath": str(tmp_path / "out")},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": 60},
    }
    bad = dict(definition, CheckpointConfig={"S3Uri": "s3://b/ck", "LocalPath": "/opt/ml/input"})
    training = parse_training_job_request(dict(bad, TrainingJobName="alone"))
    assert [p.path for p in launch_problems(training.definition, "")] == [
        "CheckpointConfig.LocalPath"
    ]
    tuning = parse_tuning_job(
        {
            "HyperParameterTuningJobName": "tuning",
            "HyperParameterTuningJobConfig": {
                "Strategy": "Random",
                "ResourceLimits": {"MaxNumberOfTrainingJobs": 2, "MaxParallelTrainingJobs": 1},
            },
            "TrainingJobDefinitions": [
                dict(definition, DefinitionName="fine", StaticHyperParameters={}),
                dict(bad, DefinitionName="bad", StaticHyperParameters={}),
            ],
        }
    )
    found = check_launchable(tuning)
    assert found == [
        Violation(
            "TrainingJobDefinitions[1].CheckpointConfig.LocalPath",
            "'/opt/ml/input' is the folder of the job's config files and data channels" + SAFETY,
        )
    ]


def test_a_job_stored_before_the_rule_fails_without_syncing(tmp_path: Path) -> None:
    """Once, LocalPath /opt/ml made the restore empty the job directory (its config files
    and staged data) and the sync upload the job's log as a checkpoint."""
    remote = tmp_path / "s3" / "bkt" / "ck"
    remote.mkdir(parents=True)
    (remote / "step.txt").write_text("1")
    executor = LocalExecutor(stop_grace_seconds=1, data=DataPlane(s3_root=str(tmp_path / "s3")))
    try:
        request = make_request(tmp_path / "job", _definition("/opt/ml", tmp_path), {"steps": "2"})
        executor.submit(request)
        done = collect(executor, timeout=15)[-1]
    finally:
        shut_down(executor)
    assert isinstance(done, Finished) and done.status is TrainingJobStatus.FAILED
    assert done.failure_reason == (
        "CheckpointConfig.LocalPath '/opt/ml' is the job directory itself" + SAFETY
    )
    assert [p.name for p in remote.rglob("*")] == ["step.txt"]  # nothing was uploaded
