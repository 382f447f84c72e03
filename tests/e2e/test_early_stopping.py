"""Hyperband and early stopping with the real ``tunelab`` command and real
training processes; refusals through the whole validation path."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from tests.e2e.conftest import PROGRAM, Env
from tunelab.domain.enums import ObjectiveStatus, TrainingJobStatus
from tunelab.orchestrator.stoppers import stop_reason

CONFIG = "HyperParameterTuningJobConfig"


def hyperband_file(env: Env, **config) -> Path:
    path = env.job_file(max_jobs=10, parallel=2, epochs="9", seconds_per_epoch="0.4")
    document = json.loads(path.read_text())
    document[CONFIG].update(Strategy="Hyperband", **config)
    path.write_text(json.dumps(document))
    return path


def test_a_hyperband_job_stops_jobs_early(env: Env) -> None:
    result = env.run("run", str(hyperband_file(env)), "--quiet")
    assert result.returncode == 0, result.stderr
    described = env.describe("e2e-job")
    assert described["HyperParameterTuningJobStatus"] == "Completed"
    counters = described["TrainingJobStatusCounters"]
    jobs = env.training_jobs("e2e-job")
    assert len(jobs) == 10 == sum(counters.values())
    early = [j for j in jobs if (stop_reason(j) or "").startswith("Hyperband: stopped at rung")]
    assert early, [stop_reason(j) for j in jobs]
    assert counters["Stopped"] >= len(early)
    for job in early:
        # SIGTERM at the rung: the process printed fewer epochs than the 9 it would have
        points = env.store.metric_points(job.name)
        assert 1 <= len(points) < 9
        assert job.status is TrainingJobStatus.STOPPED
        assert job.objective_status is ObjectiveStatus.SUCCEEDED
        assert job.final_objective_value == points[-1].value
        log = Path(env.home, "jobs", "e2e-job", job.name, "logs", "attempt-1.log").read_text()
        assert "epoch=9 " not in log
    assert described["ObjectiveStatusCounters"]["Succeeded"] == 10


def test_hyperband_leaves_a_job_at_max_resource_to_save_its_model(env: Env) -> None:
    """MaxResource is inferred from the static ``epochs``: a job reaching it ends by
    itself right after, so it is not stopped there, and saves its model (the program
    saves after its training loop and does not handle SIGTERM)."""
    path = hyperband_file(env)
    document = json.loads(path.read_text())
    document[CONFIG]["ResourceLimits"] = {
        "MaxNumberOfTrainingJobs": 4,
        "MaxParallelTrainingJobs": 2,
    }
    definition = document["TrainingJobDefinition"]
    definition["StaticHyperParameters"].update(epochs="3", seconds_per_epoch="0.2")
    program = PROGRAM.with_name("save_after_training.py")
    definition["AlgorithmSpecification"]["TrainingImage"] = f"file://{program}"
    path.write_text(json.dumps(document))
    result = env.run("run", str(path), "--quiet")
    assert result.returncode == 0, result.stderr
    best = env.describe("e2e-job")["BestTrainingJob"]["TrainingJobName"]
    [job] = [j for j in env.training_jobs("e2e-job") if j.name == best]
    assert len(env.store.metric_points(best)) == 3
    assert job.status is TrainingJobStatus.COMPLETED and stop_reason(job) is None
    [artifact] = (env.root / "output").glob(f"{best}*/output/model.tar.gz")
    with tarfile.open(artifact) as archive:
        assert archive.getnames() == ["model.txt"]
        model = archive.extractfile("model.txt")
        assert model is not None and model.read().decode().startswith("x=")


def test_median_stopping_is_accepted(env: Env) -> None:
    path = env.job_file(max_jobs=2)
    document = json.loads(path.read_text())
    document[CONFIG]["TrainingJobEarlyStoppingType"] = "Auto"
    path.write_text(json.dumps(document))
    result = env.run("validate", str(path))
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"TrainingJobEarlyStoppingType": "Auto"},
            f"{CONFIG}.TrainingJobEarlyStoppingType: must be 'Off' with the Hyperband "
            "strategy (Hyperband stops jobs early itself); got 'Auto'",
        ),
        (
            {"static": {}},
            f"{CONFIG}.StrategyConfig.HyperbandStrategyConfig.MaxResource: is required for "
            "Hyperband unless a static hyperparameter named epochs, numepochs, n-epochs, "
            "n_epochs, num_epochs gives the number of epochs",
        ),
    ],
)
def test_hyperband_refusals(env: Env, change: dict, message: str) -> None:
    path = hyperband_file(env)
    document = json.loads(path.read_text())
    if "static" in change:
        document["TrainingJobDefinition"]["StaticHyperParameters"].pop("epochs")
    else:
        document[CONFIG].update(change)
    path.write_text(json.dumps(document))
    result = env.run("validate", str(path))
    assert result.returncode == 2
    assert message in " ".join(result.stderr.split())


def test_early_stopping_with_two_definitions_is_refused(env: Env) -> None:
    path = env.job_file()
    document = json.loads(path.read_text())
    definition = document.pop("TrainingJobDefinition")
    config = document[CONFIG]
    ranges, objective = (
        config.pop("ParameterRanges"),
        config.pop("HyperParameterTuningJobObjective"),
    )
    document["TrainingJobDefinitions"] = [
        dict(
            definition, DefinitionName=name, HyperParameterRanges=ranges, TuningObjective=objective
        )
        for name in ("one", "two")
    ]
    config["TrainingJobEarlyStoppingType"] = "Auto"
    path.write_text(json.dumps(document))
    result = env.run("validate", str(path))
    assert result.returncode == 2
    assert (
        f"{CONFIG}.TrainingJobEarlyStoppingType: early stopping ('Auto') is only available for "
        "a job with a single training job definition; this job has 2"
    ) in " ".join(result.stderr.split())
