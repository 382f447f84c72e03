"""Built-in algorithms end to end with the real ``tunelab`` command: a tuning job whose
definition names ``tunelab/xgboost`` and gives no MetricDefinitions (predefined, as in
SageMaker) and takes its ranges from ``tunelab algorithms describe``; and the
``algorithms list|describe|register`` commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.e2e.conftest import PROGRAM, Env
from tests.factories import ROLE

pytestmark = pytest.mark.slow  # several `tunelab` processes and training jobs each


def write_channels(root: Path) -> None:
    from sklearn.datasets import load_breast_cancer

    x, y = load_breast_cancer(return_X_y=True)
    order = np.random.default_rng(1).permutation(len(y))
    for name, rows in (("train", order[:400]), ("validation", order[400:])):
        (root / "data" / name).mkdir(parents=True)
        np.savetxt(
            root / "data" / name / f"{name}.csv",
            np.column_stack([y[rows], x[rows]]),
            delimiter=",",
            fmt="%.8g",
        )


def xgboost_job(root: Path, ranges: dict[str, Any]) -> Path:
    channels = [
        {
            "ChannelName": name,
            "ContentType": "text/csv",
            "DataSource": {
                "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"file:data/{name}/"}
            },
        }
        for name in ("train", "validation")
    ]
    document = {
        "HyperParameterTuningJobName": "builtin-xgboost",
        "HyperParameterTuningJobConfig": {
            "Strategy": "Random",
            "RandomSeed": 7,
            "HyperParameterTuningJobObjective": {
                "Type": "Maximize",
                "MetricName": "validation:auc",
            },
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 3, "MaxParallelTrainingJobs": 2},
            "ParameterRanges": ranges,
        },
        "TrainingJobDefinition": {
            "StaticHyperParameters": {
                "num_round": "8",
                "objective": "binary:logistic",
                "nthread": "1",
            },
            "AlgorithmSpecification": {
                "TrainingImage": "tunelab/xgboost",
                "TrainingInputMode": "File",
            },
            "RoleArn": ROLE,
            "InputDataConfig": channels,
            "OutputDataConfig": {"S3OutputPath": "file:output/"},
            "ResourceConfig": {
                "InstanceType": "ml.m5.large",
                "InstanceCount": 1,
                "VolumeSizeInGB": 1,
            },
            "StoppingCondition": {"MaxRuntimeInSeconds": 120},
        },
    }
    path = root / "builtin-xgboost.json"
    path.write_text(json.dumps(document, indent=1))
    return path


def test_a_tuning_job_of_the_builtin_xgboost_completes(env: Env) -> None:
    described = env.run("algorithms", "describe", "xgboost", "--json")
    assert described.returncode == 0, described.stderr
    recommended = json.loads(described.stdout)["RecommendedParameterRanges"]
    wanted = {"eta", "subsample", "colsample_bytree"}
    ranges = {
        "ContinuousParameterRanges": [
            r for r in recommended["ContinuousParameterRanges"] if r["Name"] in wanted
        ]
    }
    assert {r["Name"] for r in ranges["ContinuousParameterRanges"]} == wanted
    write_channels(env.root)
    job = xgboost_job(env.root, ranges)
    result = env.run("run", str(job), "--quiet", timeout=300)
    assert result.returncode == 0, result.stderr
    described = env.describe("builtin-xgboost")
    assert described["HyperParameterTuningJobStatus"] == "Completed"
    assert described["TrainingJobStatusCounters"]["Completed"] == 3
    assert described["ObjectiveStatusCounters"]["Succeeded"] == 3
    best = described["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]
    assert best["MetricName"] == "validation:auc" and best["Value"] > 0.95
    metrics = described["TrainingJobDefinition"]["AlgorithmSpecification"]["MetricDefinitions"]
    assert metrics[0]["Name"] == "validation:auc" and len(metrics) == 20
    # every round reported the objective: 8 points per training job
    for job in env.training_jobs("builtin-xgboost"):
        points = [
            p for p in env.store.metric_points(job.name) if p.metric_name == "validation:auc"
        ]
        assert len(points) == 8


def test_algorithms_list_describe_and_register(env: Env) -> None:
    described = env.run("algorithms", "describe", "knn")
    assert described.returncode == 0, described.stderr
    text = " ".join(described.stdout.split())
    assert "sample_size" in text and "test:accuracy" in text and "Maximize" in text
    algorithm = {
        "AlgorithmName": "epochs-algo",
        "TrainingSpecification": {
            "TrainingImage": f"file:{PROGRAM.name}",
            "SupportedTrainingInstanceTypes": ["ml.m5.large"],
            "TrainingChannels": [
                {
                    "Name": "train",
                    "SupportedContentTypes": ["text/csv"],
                    "SupportedInputModes": ["File"],
                }
            ],
            "MetricDefinitions": [{"Name": "loss", "Regex": r"loss=([0-9.]+);"}],
        },
    }
    # file:epochs.py is relative to the algorithm file's folder
    (env.root / "programs").mkdir()
    (env.root / "programs" / PROGRAM.name).write_text(PROGRAM.read_text())
    path = env.root / "programs" / "epochs-algo.yaml"
    path.write_text(json.dumps(algorithm))
    registered = env.run("algorithms", "register", str(path))
    assert registered.returncode == 0, registered.stderr
    assert json.loads(registered.stdout) == {"AlgorithmName": "epochs-algo"}
    listed = env.run("algorithms", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    kinds = {a["AlgorithmName"]: a["Kind"] for a in json.loads(listed.stdout)["Algorithms"]}
    assert kinds == {
        "xgboost": "built-in",
        "linear-learner": "built-in",
        "knn": "built-in",
        "lightgbm": "built-in",
        "epochs-algo": "registered",
    }
    shown = json.loads(env.run("algorithms", "describe", "epochs-algo").stdout)
    image = (env.root / "programs" / PROGRAM.name).resolve().as_uri()
    assert shown["TrainingSpecification"]["TrainingImage"] == image
    again = env.run("algorithms", "register", str(path))
    assert again.returncode == 2 and "Algorithm 'epochs-algo' already exists" in again.stderr
    missing = env.run("algorithms", "describe", "nothing")
    assert missing.returncode == 3 and "Algorithm 'nothing' does not exist" in missing.stderr
