"""Script mode end to end: a tuning job, written as the SageMaker SDK writes it for a
scikit-learn estimator, tunes a real SageMaker-style script whose source tarball and data
live in tunelab's local object store."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import numpy as np
import pytest

from tests.e2e.conftest import Env

SCRIPTS = Path(__file__).resolve().parents[1] / "execution" / "programs" / "sagemaker_script"
SKLEARN = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"


@pytest.mark.slow
def test_a_tuning_job_tunes_a_sagemaker_script(env: Env, tmp_path: Path) -> None:
    with tarfile.open(tmp_path / "sourcedir.tar.gz", "w:gz") as tar:
        for name in ("train.py", "helper.py"):
            tar.add(SCRIPTS / name, arcname=name)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 2))
    y = (x[:, 0] - x[:, 1] > 0).astype(float)
    (tmp_path / "data").mkdir()
    np.savetxt(tmp_path / "data" / "train.csv", np.column_stack([y, x]), delimiter=",")
    for source, uri in (
        (tmp_path / "sourcedir.tar.gz", "s3://sm-bucket/code/"),
        (tmp_path / "data", "s3://sm-bucket/train/"),
    ):
        result = env.run("data", "put", str(source), uri)
        assert result.returncode == 0, result.stderr
    document = {
        "HyperParameterTuningJobName": "script-mode",
        "HyperParameterTuningJobConfig": {
            "Strategy": "Random",
            "RandomSeed": 7,
            "HyperParameterTuningJobObjective": {
                "Type": "Maximize",
                "MetricName": "validation:accuracy",
            },
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 3, "MaxParallelTrainingJobs": 2},
            "ParameterRanges": {
                "ContinuousParameterRanges": [
                    {"Name": "learning-rate", "MinValue": "0.05", "MaxValue": "1"}
                ]
            },
        },
        "TrainingJobDefinition": {
            "StaticHyperParameters": {
                "epochs": "5",
                "sagemaker_program": '"train.py"',
                "sagemaker_submit_directory": '"s3://sm-bucket/code/sourcedir.tar.gz"',
                "sagemaker_container_log_level": "20",
                "sagemaker_region": '"us-east-1"',
            },
            "AlgorithmSpecification": {
                "TrainingImage": SKLEARN,
                "TrainingInputMode": "File",
                "MetricDefinitions": [
                    {"Name": "validation:accuracy", "Regex": r"validation-accuracy=([0-9.]+);"}
                ],
            },
            "RoleArn": "arn:aws:iam::123456789012:role/SageMakerRole",
            "InputDataConfig": [
                {
                    "ChannelName": "train",
                    "DataSource": {
                        "S3DataSource": {
                            "S3DataType": "S3Prefix",
                            "S3Uri": "s3://sm-bucket/train/",
                            "S3DataDistributionType": "FullyReplicated",
                        }
                    },
                    "ContentType": "text/csv",
                }
            ],
            "OutputDataConfig": {"S3OutputPath": "s3://sm-bucket/output/"},
            "ResourceConfig": {
                "InstanceType": "ml.m5.large",
                "InstanceCount": 1,
                "VolumeSizeInGB": 5,
            },
            "StoppingCondition": {"MaxRuntimeInSeconds": 300},
        },
    }
    job_file = tmp_path / "job.json"
    job_file.write_text(json.dumps(document))
    result = env.run("run", str(job_file), "--quiet", timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    described = env.describe("script-mode")
    assert described["TrainingJobStatusCounters"]["Completed"] == 3
    best = described["BestTrainingJob"]
    assert best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] > 0.8
    name = best["TrainingJobName"]
    listed = env.run("data", "ls", f"s3://sm-bucket/output/{name}/output/")
    assert "model.tar.gz" in listed.stdout and "output.tar.gz" in listed.stdout
    result = env.run(
        "artifacts", "get", f"s3://sm-bucket/output/{name}/output/model.tar.gz", str(tmp_path)
    )
    assert result.returncode == 0, result.stderr
    with tarfile.open(tmp_path / "model.tar.gz") as tar:
        run = json.load(tar.extractfile("run.json"))  # type: ignore[arg-type]
    rate = best["TunedHyperParameters"]["learning-rate"]
    assert run["user_args"] == ["--epochs", "5", "--learning-rate", rate]
    assert run["cwd"].endswith(f"/{name}/code")
