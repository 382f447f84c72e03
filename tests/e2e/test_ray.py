"""Tuning jobs whose training jobs run on a Ray cluster (``TUNELAB_RAY_ADDRESS``), with
the real ``tunelab`` command: a job to its end, Hyperband's early stops, a crash of the
process that drove it, a spot drill, and a cluster that does not answer."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.e2e.conftest import Env, alive, wait_for
from tests.e2e.test_spot import finish, running_job, spot_job_file, values
from tunelab.domain.enums import TrainingJobStatus, TuningJobStatus
from tunelab.orchestrator.attempts import interruptions
from tunelab.orchestrator.stoppers import stop_reason


@pytest.fixture
def ray_env(env: Env, ray_cluster: str) -> Env:
    env.vars["TUNELAB_RAY_ADDRESS"] = ray_cluster
    return env


def raylet_pid() -> str:
    """The test cluster's raylet, as its workers see it."""
    import ray

    return ray.get(ray.remote(lambda: os.environ["RAY_RAYLET_PID"]).remote())


def log_of(env: Env, job: str) -> str:
    return Path(env.home, "jobs", "e2e-job", job, "logs", "attempt-1.log").read_text()


@pytest.mark.slow
def test_a_tuning_job_runs_its_training_jobs_on_the_cluster(ray_env: Env) -> None:
    result = ray_env.run("run", str(ray_env.job_file(max_jobs=4, parallel=2)), "--quiet")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # Ray's own messages stay out of the user's terminal
    described = ray_env.describe("e2e-job")
    assert described["HyperParameterTuningJobStatus"] == "Completed"
    assert described["TrainingJobStatusCounters"]["Completed"] == 4
    raylet = raylet_pid()
    for job in ray_env.training_jobs("e2e-job"):
        assert job.status is TrainingJobStatus.COMPLETED
        assert log_of(ray_env, job.name).startswith(f"raylet={raylet}\n")
        assert job.final_objective_value == ray_env.store.metric_points(job.name)[-1].value
    best = described["BestTrainingJob"]["TrainingJobName"]
    [artifact] = (ray_env.root / "output").glob(f"{best}*/output/model.tar.gz")
    with tarfile.open(artifact) as archive:
        model = archive.extractfile("model.txt")
        assert model is not None and model.read().decode().startswith("x=")


@pytest.mark.slow
def test_hyperband_stops_jobs_running_on_the_cluster(ray_env: Env) -> None:
    path = ray_env.job_file(max_jobs=8, parallel=2, epochs="9", seconds_per_epoch="0.3")
    document = json.loads(path.read_text())
    document["HyperParameterTuningJobConfig"]["Strategy"] = "Hyperband"
    path.write_text(json.dumps(document))
    result = ray_env.run("run", str(path), "--quiet")
    assert result.returncode == 0, result.stderr
    jobs = ray_env.training_jobs("e2e-job")
    early = [j for j in jobs if (stop_reason(j) or "").startswith("Hyperband: stopped at rung")]
    assert early, [stop_reason(j) for j in jobs]
    for job in early:
        assert job.status is TrainingJobStatus.STOPPED
        assert "epoch=9 " not in log_of(ray_env, job.name)


@pytest.mark.slow
def test_a_crash_of_the_driver_ends_its_jobs_and_resume_runs_them_again(ray_env: Env) -> None:
    job_file = ray_env.job_file(max_jobs=6, parallel=2, seconds_per_epoch="0.5")
    first = ray_env.start("run", str(job_file), "--quiet")

    def running() -> bool:  # two programs started (they log it first thing)
        jobs = ray_env.training_jobs("e2e-job") if (ray_env.home / "tunelab.db").exists() else []
        started = [j for j in jobs if not j.status.is_terminal and j.pid is not None]
        return len(started) == 2 and all(j.name in ray_env.runs() for j in started)

    wait_for(running, what="2 running training jobs")
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    interrupted = [j for j in ray_env.training_jobs("e2e-job") if not j.status.is_terminal]
    pids = [j.pid for j in interrupted if j.pid is not None]
    assert len(pids) == 2
    # Ray ends the dead driver's actors and the processes they started
    wait_for(lambda: not any(alive(pid) for pid in pids), what="the jobs' processes to end")
    second = ray_env.run("resume", "e2e-job", "--quiet", timeout=120)
    assert second.returncode == 0, second.stderr
    assert ray_env.store.get_tuning_job("e2e-job").status is TuningJobStatus.COMPLETED
    jobs = ray_env.training_jobs("e2e-job")
    assert len(jobs) == 6
    assert all(j.status is TrainingJobStatus.COMPLETED for j in jobs)
    runs = ray_env.runs()
    for job in interrupted:
        assert runs.count(job.name) == 2  # killed with the driver, run once more


@pytest.mark.parametrize("command", ["run", "validate"])
def test_a_cluster_that_does_not_answer_is_one_clear_error_and_no_job(
    env: Env, command: str
) -> None:
    env.vars["TUNELAB_RAY_ADDRESS"] = "127.0.0.1:1"
    result = env.run(command, str(env.job_file()), timeout=60)
    assert result.returncode == 2
    assert result.stderr == (
        "error (ValidationException): TUNELAB_RAY_ADDRESS=127.0.0.1:1: could not join the Ray "
        "cluster: nothing answers at 127.0.0.1:1 ([Errno 111] Connection refused)\n"
    )
    listed = env.run("list")
    assert listed.returncode == 0 and listed.stderr == "No tuning jobs.\n"


@pytest.mark.slow
def test_a_spot_drill_reaches_a_job_on_a_ray_node(ray_env: Env) -> None:
    job_file = spot_job_file(
        ray_env,
        "spot-e2e",
        {"MaxRuntimeInSeconds": 60, "MaxWaitTimeInSeconds": 120},
        steps="40",
        interval="0.1",
    )
    run = ray_env.start("run", str(job_file), "--quiet")
    try:
        name = running_job(ray_env, "spot-e2e", steps=2).name
        interrupted = ray_env.run("spot", "interrupt", name, "--for", "2")
        assert interrupted.returncode == 0, interrupted.stderr
    finally:
        finish(run)
    [job] = ray_env.training_jobs("spot-e2e")
    assert job.status is TrainingJobStatus.COMPLETED, job.failure_reason
    assert (job.attempt, interruptions(job)) == (2, 1)
    first, resumed = values(ray_env, name, "resumed_from")
    assert first == 0 and resumed >= 2  # the second attempt went on from a checkpoint
    assert job.final_objective_value == 40


@pytest.mark.slow
def test_sigterm_of_run_leaves_the_job_for_resume_as_without_ray(ray_env: Env) -> None:
    """Ray installs signal handlers of its own when it starts and runs Python's inside
    its waits: tunelab's must still end the command with 143 and its line."""
    job_file = ray_env.job_file(max_jobs=4, parallel=2, seconds_per_epoch="0.5")
    run = ray_env.start("run", str(job_file), "--quiet")
    wait_for(lambda: ray_env.runs(), what="a training program to start")
    run.send_signal(signal.SIGTERM)
    _, stderr = run.communicate(timeout=30)
    assert run.returncode == 143, stderr
    assert stderr.endswith(
        "Left tuning job e2e-job unfinished; `tunelab resume e2e-job` continues it.\n"
    )


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        (":6390", "expected auto, local or host:port; got ':6390'"),
        ("127.0.0.1:notaport", "expected auto, local or host:port; got '127.0.0.1:notaport'"),
        (
            "ray://127.0.0.1:10001",
            "Ray Client addresses (ray://) are not supported: give the head node's host:port "
            "(6379 unless ray start --port said otherwise), or auto",
        ),
    ],
)
@pytest.mark.parametrize("command", ["run", "validate"])
def test_a_malformed_address_is_one_line_naming_the_forms(
    env: Env, address: str, problem: str, command: str
) -> None:
    env.vars["TUNELAB_RAY_ADDRESS"] = address
    result = env.run(command, str(env.job_file()), timeout=60)
    assert (result.returncode, result.stderr) == (
        2,
        f"error (ValidationException): TUNELAB_RAY_ADDRESS={address}: could not join the Ray "
        f"cluster: {problem}\n",
    )


@pytest.mark.parametrize("command", ["run", "validate"])
def test_without_ray_installed_the_address_is_one_line_saying_so(env: Env, command: str) -> None:
    env.vars["TUNELAB_RAY_ADDRESS"] = "auto"
    hide_ray = (
        "import sys; sys.modules['ray'] = None; from tunelab.cli.launch import main; "
        f"sys.argv = ['tunelab', {command!r}, {str(env.job_file())!r}]; main()"
    )
    result = subprocess.run(
        [sys.executable, "-c", hide_ray], env=env.vars, capture_output=True, text=True
    )
    assert (result.returncode, result.stderr) == (
        2,
        "error (ValidationException): TUNELAB_RAY_ADDRESS is set but Ray is not installed "
        "here: pip install 'tunelab[ray]' (import of ray halted; None in sys.modules)\n",
    )


@pytest.mark.slow
def test_ray_messages_stay_out_of_the_json_on_stdout(ray_env: Env) -> None:
    """A dead agent makes Ray's driver print "(raylet) A worker died ..."; Ray prints it
    on stdout, where ``--json`` writes the document."""
    job_file = ray_env.job_file(max_jobs=1, parallel=1, epochs="60")
    run = ray_env.start("run", str(job_file), "--json")
    wait_for(lambda: ray_env.runs(), what="the training program to start")
    program = int(ray_env.runs_log.read_text().split()[1])
    agent = int(Path(f"/proc/{program}/stat").read_text().rsplit(") ", 1)[1].split()[1])
    os.kill(agent, signal.SIGKILL)
    stdout, stderr = run.communicate(timeout=60)
    assert json.loads(stdout)["HyperParameterTuningJobName"] == "e2e-job", stdout[:500]
    assert "(raylet)" in stderr
