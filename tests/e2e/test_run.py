"""The ``tunelab`` command end to end with real training processes."""

from __future__ import annotations

import csv
import io
import json
import signal
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.e2e.conftest import Env, wait_for
from tunelab.domain.enums import TrainingJobStatus, TuningJobStatus
from tunelab.domain.trial import TrainingJob

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_the_example_two_definition_job_completes(env: Env) -> None:
    subprocess.run(
        [sys.executable, str(EXAMPLES / "prepare_data.py")], check=True, capture_output=True
    )
    result = env.run("run", str(EXAMPLES / "two-algorithms.json"), "--quiet", timeout=300)
    assert result.returncode == 0, result.stderr
    assert "Best training jobs" in result.stdout
    described = env.describe("example-two-algorithms")
    assert described["HyperParameterTuningJobStatus"] == "Completed"
    assert described["TrainingJobStatusCounters"] == {
        "Completed": 12,
        "InProgress": 0,
        "RetryableError": 0,
        "NonRetryableError": 0,
        "Stopped": 0,
    }
    assert described["ObjectiveStatusCounters"] == {"Succeeded": 12, "Pending": 0, "Failed": 0}
    best = described["BestTrainingJob"]
    assert best["TrainingJobDefinitionName"] in ("gradient-boosting", "svm")
    listed = json.loads(env.run("training-jobs", "example-two-algorithms", "--json").stdout)
    summaries = listed["TrainingJobSummaries"]
    assert len(summaries) == 12
    assert {s["TrainingJobDefinitionName"] for s in summaries} == {"gradient-boosting", "svm"}
    values = [s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for s in summaries]
    assert best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == max(values)
    # the best job's model was packed where SageMaker puts it
    artifact = EXAMPLES / "output" / best["TrainingJobName"] / "output" / "model.tar.gz"
    with tarfile.open(artifact) as archive:
        assert "model.pkl" in archive.getnames()


def test_run_shows_progress_and_the_best_jobs(env: Env) -> None:
    result = env.run("run", str(env.job_file(max_jobs=3)))
    assert result.returncode == 0, result.stderr
    assert "e2e-job" in result.stderr and "3/3" in result.stderr  # the progress bar
    assert "Best training jobs" in result.stdout
    assert "Completed" in result.stdout
    jobs = env.training_jobs("e2e-job")
    assert all(j.status is TrainingJobStatus.COMPLETED for j in jobs)
    best = min(jobs, key=lambda j: j.final_objective_value)
    assert best.name in result.stdout
    # the same jobs as CSV (the SageMaker SDK's dataframe columns), best first
    listed = env.run("training-jobs", "e2e-job", "--csv", "--sort-by", "FinalObjectiveMetricValue")
    header, *rows = csv.reader(io.StringIO(listed.stdout))
    assert header[:4] == ["x", "TrainingJobName", "TrainingJobStatus", "FinalObjectiveValue"]
    assert len(header) == 7  # and start, end, seconds (the columns: tests/service)
    assert [r[1] for r in rows] == [j.name for j in sorted(jobs, key=objective)]
    assert [float(r[3]) for r in rows] == sorted(j.final_objective_value for j in jobs)
    assert {r[0] for r in rows} == {j.tuned_hyperparameters["x"] for j in jobs}
    refused = env.run("training-jobs", "e2e-job", "--csv", "--json")
    assert refused.returncode == 2
    assert "--json and --csv cannot be used together" in refused.stderr


def objective(job: TrainingJob) -> float:
    assert job.final_objective_value is not None
    return job.final_objective_value


def test_validate_names_every_problem_and_exits_2(env: Env, tmp_path: Path) -> None:
    path = env.job_file()
    document = json.loads(path.read_text())
    limits = document["HyperParameterTuningJobConfig"]["ResourceLimits"]
    limits["MaxParallelTraningJobs"] = limits.pop("MaxParallelTrainingJobs")
    path.write_text(json.dumps(document))
    result = env.run("validate", str(path))
    assert result.returncode == 2
    assert "error (ValidationException): 2 validation errors:" in result.stderr
    assert (
        "HyperParameterTuningJobConfig.ResourceLimits.MaxParallelTraningJobs: is not a field of "
        "ResourceLimits (likely a typo; did you mean 'MaxParallelTrainingJobs'?)"
    ) in result.stderr.replace("\n", " ").replace("  ", " ")
    assert env.run("list").stderr.strip() == "No tuning jobs."  # nothing was stored


def test_a_quota_is_resource_limit_exceeded(env: Env) -> None:
    result = env.run("validate", str(env.job_file(max_jobs=20, parallel=11)))
    assert result.returncode == 2
    assert "error (ResourceLimitExceeded)" in result.stderr
    assert "exceeds the quota of 10 parallel" in result.stderr


def test_a_taken_name_in_any_case_is_resource_in_use(env: Env) -> None:
    assert env.run("run", str(env.job_file(max_jobs=1)), "--quiet").returncode == 0
    other = env.job_file(name="E2E-JOB", max_jobs=2)
    result = env.run("run", str(other))
    assert result.returncode == 2
    assert "error (ResourceInUse)" in result.stderr
    assert "already exists" in result.stderr
    assert len(env.training_jobs("e2e-job")) == 1  # nothing of the first job was lost


def test_failing_training_jobs_fail_the_tuning_job_with_their_reason(env: Env) -> None:
    result = env.run("run", str(env.job_file(max_jobs=6, fail="yes")), "--quiet")
    assert result.returncode == 1
    described = env.describe("e2e-job")
    assert described["HyperParameterTuningJobStatus"] == "Failed"
    failed = described["TrainingJobStatusCounters"]["NonRetryableError"]
    # it stops launching after 3 failures; the job running by then fails as well
    assert failed in (3, 4)
    assert described["FailureReason"].startswith(f"the first {failed} training jobs failed")
    assert "ValueError: asked to fail" in described["FailureReason"]


def start_slow_job(env: Env, name: str = "e2e-job"):
    process = env.start(
        "run", str(env.job_file(name, max_jobs=8, seconds_per_epoch="2")), "--quiet"
    )
    wait_for(lambda: sum(j.pid is not None for j in _jobs(env, name)) == 2, what="2 running jobs")
    return process


def _jobs(env: Env, name: str) -> list:
    try:
        return env.training_jobs(name)
    except Exception:  # the database may not exist yet
        return []


def test_stop_from_another_terminal_stops_the_job(env: Env) -> None:
    process = start_slow_job(env)
    result = env.run("stop", "e2e-job")
    assert result.returncode == 0, result.stderr
    assert "e2e-job: Stopping" in result.stdout
    assert process.wait(timeout=30) == 1
    assert env.store.get_tuning_job("e2e-job").status is TuningJobStatus.STOPPED
    jobs = env.training_jobs("e2e-job")
    assert len(jobs) == 2
    assert all(j.status is TrainingJobStatus.STOPPED for j in jobs)


def test_ctrl_c_stops_the_tuning_job(env: Env) -> None:
    process = start_slow_job(env)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 130
    stderr = process.stderr.read()
    assert "Stopping the tuning job" in stderr
    assert "without reporting" not in stderr  # jobs stopped before their first report
    assert env.store.get_tuning_job("e2e-job").status is TuningJobStatus.STOPPED
    assert all(j.status is TrainingJobStatus.STOPPED for j in env.training_jobs("e2e-job"))


@pytest.mark.slow
def test_sigterm_leaves_the_tuning_job_to_resume(env: Env) -> None:
    process = start_slow_job(env)
    process.send_signal(signal.SIGTERM)  # a service manager, a shutdown
    assert process.wait(timeout=30) == 143
    assert "`tunelab resume e2e-job` continues it" in process.stderr.read()
    assert env.store.get_tuning_job("e2e-job").status is TuningJobStatus.IN_PROGRESS
    resumed = env.run("resume", "e2e-job", "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    assert env.store.get_tuning_job("e2e-job").status is TuningJobStatus.COMPLETED


def test_stopping_a_finished_job_is_refused(env: Env) -> None:
    assert env.run("run", str(env.job_file(max_jobs=1)), "--quiet").returncode == 0
    result = env.run("stop", "e2e-job")
    assert result.returncode == 2
    assert "is Completed; only a job in progress can be stopped" in result.stderr


def test_unknown_job_is_resource_not_found(env: Env) -> None:
    result = env.run("describe", "nope")
    assert result.returncode == 3
    assert "error (ResourceNotFound): Tuning job 'nope' does not exist" in result.stderr


@pytest.mark.parametrize("command", ["list", "describe"])
def test_json_output_is_sagemaker_shaped(env: Env, command: str) -> None:
    assert env.run("run", str(env.job_file(max_jobs=2)), "--quiet").returncode == 0
    args = ["list", "--json"] if command == "list" else ["describe", "e2e-job", "--json"]
    wire = json.loads(env.run(*args).stdout)
    if command == "list":
        [summary] = wire["HyperParameterTuningJobSummaries"]
        assert summary["HyperParameterTuningJobStatus"] == "Completed"
        assert summary["Strategy"] == "Random"
    else:
        assert wire["HyperParameterTuningJobArn"].endswith(":hyper-parameter-tuning-job/e2e-job")
        assert (
            wire["TrainingJobDefinition"]["StaticHyperParameters"]["_tuning_objective_metric"]
            == "loss"
        )


def test_a_regex_that_never_matches_is_reported_loudly(env: Env) -> None:
    path = env.job_file(max_jobs=4, parallel=1)
    document = json.loads(path.read_text())
    algorithm = document["TrainingJobDefinition"]["AlgorithmSpecification"]
    algorithm["MetricDefinitions"] = [{"Name": "loss", "Regex": r"val_loss=([0-9.]+)"}]
    path.write_text(json.dumps(document))
    result = env.run("run", str(path), "--quiet")
    assert result.returncode == 1
    stderr = " ".join(result.stderr.split())
    assert "warning: 3 training job(s) finished without reporting the objective metric" in stderr
    assert "no line of its log matched the regex 'val_loss=([0-9.]+)'" in stderr
    assert "/logs/attempt-1.log" in stderr
    described = env.describe("e2e-job")
    assert described["HyperParameterTuningJobStatus"] == "Failed"
    assert described["ObjectiveStatusCounters"]["Failed"] == 3
    assert described["TrainingJobStatusCounters"]["Completed"] == 3


def test_every_example_job_file_is_valid(env: Env) -> None:
    subprocess.run(
        [sys.executable, str(EXAMPLES / "prepare_data.py")], check=True, capture_output=True
    )
    for name in ("two-algorithms.json", "random-svm.yaml"):
        result = env.run("validate", str(EXAMPLES / name))
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("valid: example-")


def test_validate_refuses_a_taken_name(env: Env) -> None:
    assert env.run("run", str(env.job_file(max_jobs=1)), "--quiet").returncode == 0
    result = env.run("validate", str(env.job_file(name="E2E-job", max_jobs=1)))
    assert result.returncode == 2
    assert (
        "error (ResourceInUse): Tuning job 'E2E-job' already exists (names are not case "
        "sensitive: 'e2e-job' is taken)"
    ) in " ".join(result.stderr.split())
