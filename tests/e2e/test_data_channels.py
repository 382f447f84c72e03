"""Data and outputs end to end against a real S3 API (moto's server behind
AWS_ENDPOINT_URL_S3): a tuning job reads its channel from S3, checkpoints to S3 and writes
artifacts encrypted with a key of `tunelab kms`, which `tunelab artifacts get` decrypts;
roles.yaml refuses a definition reaching outside its role."""

from __future__ import annotations

import json
import tarfile
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from tests.e2e.conftest import PROGRAM, Env
from tests.execution.s3server import CREDENTIALS, keys, moto_server

pytestmark = pytest.mark.slow  # a moto server and several `tunelab` processes


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with moto_server() as url:
        yield url


def job(name: str, **definition: object) -> dict:
    document = {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": {
            "Strategy": "Random",
            "RandomSeed": 3,
            "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "loss"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 2, "MaxParallelTrainingJobs": 2},
            "ParameterRanges": {
                "ContinuousParameterRanges": [{"Name": "x", "MinValue": "0", "MaxValue": "1"}]
            },
        },
        "TrainingJobDefinition": {
            "StaticHyperParameters": {"epochs": "2", "seconds_per_epoch": "0"},
            "AlgorithmSpecification": {
                "TrainingImage": f"file://{PROGRAM}",
                "TrainingInputMode": "File",
                "MetricDefinitions": [{"Name": "loss", "Regex": r"loss=([0-9.]+);"}],
            },
            "RoleArn": "arn:aws:iam::123456789012:role/trainer",
            "InputDataConfig": [
                {
                    "ChannelName": "train",
                    "DataSource": {
                        "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://e2e-data/train"}
                    },
                }
            ],
            "OutputDataConfig": {"S3OutputPath": "s3://e2e-models/out"},
            "CheckpointConfig": {"S3Uri": "s3://e2e-models/checkpoints"},
            "StoppingCondition": {"MaxRuntimeInSeconds": 120},
        },
    }
    document["TrainingJobDefinition"].update(definition)
    return document


def test_s3_channels_checkpoints_and_encrypted_outputs(
    env: Env, endpoint: str, tmp_path: Path
) -> None:
    env.vars.update(CREDENTIALS, AWS_ENDPOINT_URL_S3=endpoint)
    s3 = boto3.client("s3", endpoint_url=endpoint, **_keys())
    for bucket in ("e2e-data", "e2e-models"):
        s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket="e2e-data", Key="train/part-0.csv", Body=b"1,2\n")
    created = env.run("kms", "create-key", "e2e-models")
    assert created.returncode == 0, created.stderr
    document = job("s3-data")
    document["TrainingJobDefinition"]["Environment"] = {"RUNS_LOG": str(env.runs_log)}
    document["TrainingJobDefinition"]["OutputDataConfig"]["KmsKeyId"] = "alias/e2e-models"
    path = tmp_path / "job.json"
    path.write_text(json.dumps(document))
    result = env.run("run", str(path), "--quiet", timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    names = sorted(j.name for j in env.training_jobs("s3-data"))
    assert len(names) == 2
    assert keys(s3, "e2e-models", "out/") == sorted(
        f"out/{n}/output/{f}" for n in names for f in ("model.tar.gz", "output.tar.gz")
    )
    stored = s3.get_object(Bucket="e2e-models", Key=f"out/{names[0]}/output/model.tar.gz")
    assert stored["Body"].read().startswith(b"TUNELAB-AES256GCM")
    fetched = env.run(
        "artifacts", "get", f"s3://e2e-models/out/{names[0]}/output/model.tar.gz", str(tmp_path)
    )
    assert fetched.returncode == 0, fetched.stderr
    assert "decrypted with" in fetched.stdout
    with tarfile.open(tmp_path / "model.tar.gz") as tar:
        assert tar.getnames() == ["model.txt"]
    log = env.home / "jobs" / "s3-data" / names[0] / "logs" / "attempt-1.log"
    assert "seen train/part-0.csv: '1,2\\n'" in log.read_text()  # staged, then removed
    assert not (env.home / "jobs" / "s3-data" / names[0] / "input" / "data").exists()


def test_roles_refuse_what_a_role_may_not_reach(env: Env, endpoint: str, tmp_path: Path) -> None:
    env.vars.update(CREDENTIALS, AWS_ENDPOINT_URL_S3=endpoint)
    env.home.mkdir(parents=True, exist_ok=True)
    (env.home / "roles.yaml").write_text(
        "roles:\n  trainer:\n    read: [s3://e2e-data/]\n    write: [s3://e2e-models/out/]\n"
    )
    path = tmp_path / "job.json"
    path.write_text(json.dumps(job("refused")))
    result = env.run("validate", str(path))
    assert result.returncode == 2
    message = " ".join(result.stderr.split())
    assert (
        "TrainingJobDefinition.CheckpointConfig.S3Uri: role "
        "arn:aws:iam::123456789012:role/trainer may not write s3://e2e-models/checkpoints"
    ) in message


def _keys() -> dict[str, str]:
    return {
        "aws_access_key_id": CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        "region_name": CREDENTIALS["AWS_DEFAULT_REGION"],
    }
