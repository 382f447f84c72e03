"""Managed spot training end to end: ``tunelab run`` runs a spot training job of a
checkpointing program; ``tunelab spot interrupt`` (another process, through the
machine's ledger) reclaims its capacity; the job waits for it, resumes from its
checkpoints as attempt 2 and completes, or runs out of MaxWaitTimeInSeconds while it
waits. ``tunelab spot status`` reports its training and billable time."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Env, wait_for
from tunelab.domain.billing import billable_seconds, spot_savings, training_seconds
from tunelab.domain.enums import SecondaryStatus, TrainingJobStatus, TuningJobStatus
from tunelab.domain.trial import TrainingJob
from tunelab.orchestrator.attempts import RESUMING, interruptions

pytestmark = pytest.mark.slow  # several `tunelab` processes (about 1-2 s each to start)

RESUMABLE = Path(__file__).parent / "programs" / "resumable.py"
S = SecondaryStatus


def spot_job_file(env: Env, name: str, stopping: dict[str, int], **static: str) -> Path:
    document: dict[str, Any] = {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": {
            "Strategy": "Random",
            "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "step"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 1, "MaxParallelTrainingJobs": 1},
            "ParameterRanges": {
                "ContinuousParameterRanges": [{"Name": "x", "MinValue": "0", "MaxValue": "1"}]
            },
        },
        "TrainingJobDefinition": {
            "StaticHyperParameters": static,
            "AlgorithmSpecification": {
                "TrainingImage": f"file://{RESUMABLE}",
                "TrainingInputMode": "File",
                "MetricDefinitions": [
                    {"Name": "step", "Regex": r"step=([0-9]+);"},
                    {"Name": "resumed_from", "Regex": r"resumed_from=([0-9]+);"},
                ],
            },
            "RoleArn": "arn:aws:iam::123456789012:role/e2e",
            "OutputDataConfig": {"S3OutputPath": f"file://{env.root / 'output'}"},
            "ResourceConfig": {
                "InstanceType": "ml.m5.large",
                "InstanceCount": 1,
                "VolumeSizeInGB": 1,
            },
            "EnableManagedSpotTraining": True,
            "CheckpointConfig": {"S3Uri": f"s3://checkpoints/{name}"},
            "StoppingCondition": stopping,
            "Environment": {"RUNS_LOG": str(env.runs_log)},
        },
    }
    path = env.root / f"{name}.json"
    path.write_text(json.dumps(document, indent=2))
    return path


def running_job(env: Env, tuning_job: str, steps: int) -> TrainingJob:
    """The tuning job's training job once its program has reported ``steps`` steps."""
    found: list[TrainingJob] = []

    def reached() -> bool:
        if not (env.home / "tunelab.db").exists():
            return False
        jobs = env.training_jobs(tuning_job)
        if not jobs or jobs[0].pid is None:
            return False
        points = env.store.metric_points(jobs[0].name)
        found[:] = jobs
        return sum(p.metric_name == "step" for p in points) >= steps

    wait_for(reached, timeout=30, what=f"the training job to report {steps} steps")
    return found[0]


def values(env: Env, job: str, metric: str) -> list[int]:
    return [int(p.value) for p in env.store.metric_points(job) if p.metric_name == metric]


def finish(process: subprocess.Popen[str]) -> None:
    try:
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, stderr


def test_an_interrupted_spot_job_resumes_from_its_checkpoints(env: Env) -> None:
    job_file = spot_job_file(
        env,
        "spot-e2e",
        {"MaxRuntimeInSeconds": 60, "MaxWaitTimeInSeconds": 120},
        steps="60",
        interval="0.1",
    )
    run = env.start("run", str(job_file), "--quiet")
    try:  # interrupted after 2 steps or more (the command takes a while to start)
        name = running_job(env, "spot-e2e", steps=2).name
        interrupted = env.run("spot", "interrupt", name, "--for", "2")
        assert interrupted.returncode == 0, interrupted.stderr
        assert f"{name}: spot capacity reclaimed" in interrupted.stdout
    finally:
        finish(run)

    assert env.store.get_tuning_job("spot-e2e").status is TuningJobStatus.COMPLETED
    [job] = env.training_jobs("spot-e2e")
    assert job.status is TrainingJobStatus.COMPLETED, job.failure_reason
    assert (job.attempt, interruptions(job)) == (2, 1)
    assert env.runs() == [name, name]  # the program started twice, under the job's name
    # the second attempt resumed from the first one's last checkpoint and went on from it
    first, resumed = values(env, name, "resumed_from")
    assert first == 0 and resumed >= 2
    # no step ran twice (a step checkpointed but not yet printed may be missing)
    steps = values(env, name, "step")
    assert steps == sorted(set(steps)) and set(range(1, 61)) - set(steps) <= {resumed}
    assert job.final_objective_value == 60
    # synced to CheckpointConfig.S3Uri (a tuning job's: under the training job's name)
    synced = env.home / "s3" / "checkpoints" / "spot-e2e" / name / "step.txt"
    assert synced.read_text() == "60"
    # Interrupted, then Starting: resuming, waiting for the capacity; then Training
    statuses = [t.status for t in job.transitions]
    history = job.transitions[statuses.index(S.INTERRUPTED) :]
    assert [t.status for t in history] == [
        *(S.INTERRUPTED, S.STARTING, S.STARTING),
        *(S.TRAINING, S.UPLOADING, S.COMPLETED),
    ]
    assert "tunelab spot interrupt" in history[0].message
    assert history[1].message == f"{RESUMING} 2 when spot capacity is available"
    assert history[2].message.startswith("Spot capacity was reclaimed; it is back in")
    waited = history[3].start_time - history[0].start_time
    assert 1.0 <= waited < 10

    status = env.run("spot", "status", name, "--json")
    assert status.returncode == 0, status.stderr
    figures = json.loads(status.stdout)
    savings = spot_savings(job, spot=True)
    assert savings is not None and savings > 0
    assert figures == {
        "TrainingJobName": name,
        "TrainingJobStatus": "Completed",
        "SecondaryStatus": "Completed",
        "EnableManagedSpotTraining": True,
        "Attempts": 2,
        "Interruptions": 1,
        "TrainingTimeInSeconds": training_seconds(job),
        "BillableTimeInSeconds": billable_seconds(job, spot=True),
        "ManagedSpotTrainingSavings": round(100 * savings, 1),
    }
    assert figures["BillableTimeInSeconds"] < figures["TrainingTimeInSeconds"]
    shown = env.run("spot", "status", name)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert f"TrainingJobName              {name}" in lines
    assert f"ManagedSpotTrainingSavings   {figures['ManagedSpotTrainingSavings']:.1f}%" in lines
    assert "Interruptions                1" in lines

    # the job holds no capacity any more
    again = env.run("spot", "interrupt", name)
    assert again.returncode == 3
    assert "is Completed; it holds no capacity" in " ".join(again.stderr.split())


def test_max_wait_time_runs_out_while_the_job_waits_for_its_capacity(env: Env) -> None:
    job_file = spot_job_file(
        env,
        "spot-wait",
        {"MaxRuntimeInSeconds": 10, "MaxWaitTimeInSeconds": 10},
        steps="400",
        interval="0.05",
    )
    run = env.start("run", str(job_file), "--quiet")
    try:
        name = running_job(env, "spot-wait", steps=3).name
        interrupted = env.run("spot", "interrupt", name, "--for", "60")
        assert interrupted.returncode == 0, interrupted.stderr

        def waiting() -> bool:
            [job] = env.training_jobs("spot-wait")
            return job.transitions[-1].message.startswith("Spot capacity was reclaimed")

        wait_for(waiting, timeout=20, what="the job to wait for its spot capacity")
        # while it waits it holds no capacity to reclaim
        again = env.run("spot", "interrupt", name)
        assert again.returncode == 3
        assert "is not running on this machine's spot capacity now" in " ".join(
            again.stderr.split()
        )
    finally:
        finish(run)

    [job] = env.training_jobs("spot-wait")
    assert job.status is TrainingJobStatus.STOPPED
    assert job.secondary_status is S.MAX_WAIT_TIME_EXCEEDED
    assert job.failure_reason == (
        "MaxWaitTimeExceeded: the managed spot training job did not complete within "
        "MaxWaitTimeInSeconds (10 s)"
    )
    assert job.end_time is not None and 10 <= job.end_time - job.creation_time < 13
    assert env.runs() == [name]  # the second attempt never started
    history = [t.status for t in job.transitions]
    assert history[-4:] == [S.INTERRUPTED, S.STARTING, S.STARTING, S.MAX_WAIT_TIME_EXCEEDED]
    assert history.count(S.TRAINING) == 1
    assert job.attempt == 2
    # the wait was free: billed for the first attempt's capacity only
    billable = billable_seconds(job, spot=True)
    training = training_seconds(job)
    assert billable is not None and training is not None and billable < training


def test_spot_commands_refuse_on_demand_and_unknown_jobs(env: Env) -> None:
    job_file = env.job_file("on-demand", max_jobs=1, parallel=1, epochs="1")
    assert env.run("run", str(job_file), "--quiet").returncode == 0
    [job] = env.training_jobs("on-demand")

    refused = env.run("spot", "interrupt", job.name)
    assert refused.returncode == 2
    assert f"{job.name} is not a managed spot training job" in " ".join(refused.stderr.split())

    status = env.run("spot", "status", job.name, "--json")
    assert status.returncode == 0, status.stderr
    figures = json.loads(status.stdout)
    assert figures["EnableManagedSpotTraining"] is False
    assert (figures["Attempts"], figures["Interruptions"]) == (1, 0)
    assert figures["BillableTimeInSeconds"] == figures["TrainingTimeInSeconds"] >= 1
    assert figures["ManagedSpotTrainingSavings"] == 0.0

    for command in ("interrupt", "status"):
        missing = env.run("spot", command, "no-such-job")
        assert missing.returncode == 3, missing.stderr
        assert "Training job 'no-such-job' does not exist" in missing.stderr
