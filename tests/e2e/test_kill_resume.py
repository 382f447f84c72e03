"""``kill -9`` of the process running a tuning job, then a new process: the job
resumes, finished training jobs are kept and never run again, the interrupted
ones run again under their names, and the budget is spent exactly once."""

from __future__ import annotations

import os
import signal

import pytest

from tests.e2e.conftest import Env, alive, wait_for
from tunelab.domain.enums import SecondaryStatus, TrainingJobStatus, TuningJobStatus


@pytest.mark.parametrize("how", ["run again", "resume"])
def test_kill_9_then_resume(env: Env, how: str) -> None:
    job_file = env.job_file(max_jobs=8, parallel=2, seconds_per_epoch="0.4")
    first = env.start("run", str(job_file), "--quiet")

    def crash_point() -> bool:
        jobs = env.training_jobs("e2e-job") if (env.home / "tunelab.db").exists() else []
        done = [j for j in jobs if j.status.is_terminal]
        running = [j for j in jobs if not j.status.is_terminal and j.pid is not None]
        return len(done) >= 2 and len(running) == 2

    wait_for(crash_point, what="2 finished and 2 running training jobs")
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    before = {j.name: j for j in env.training_jobs("e2e-job")}
    finished = {n for n, j in before.items() if j.status.is_terminal}
    interrupted = {n: j for n, j in before.items() if not j.status.is_terminal}
    # the killed process left its training processes running
    orphans = [j.pid for j in interrupted.values() if j.pid is not None and alive(j.pid)]
    assert orphans
    assert env.store.get_tuning_job("e2e-job").status is TuningJobStatus.IN_PROGRESS

    args = ["run", str(job_file)] if how == "run again" else ["resume", "e2e-job"]
    second = env.run(*args, "--quiet", timeout=120)
    assert second.returncode == 0, second.stderr
    if how == "run again":
        assert "Resuming tuning job e2e-job" in second.stderr

    after = {j.name: j for j in env.training_jobs("e2e-job")}
    assert env.store.get_tuning_job("e2e-job").status is TuningJobStatus.COMPLETED
    assert sorted(j.sequence for j in after.values()) == list(range(1, 9))
    assert all(j.status is TrainingJobStatus.COMPLETED for j in after.values())
    # finished jobs are kept as they were and were never started again
    for name in finished:
        assert after[name] == before[name]
    runs = env.runs()
    assert all(runs.count(name) == 1 for name in finished)
    # interrupted jobs ran again under their names; their orphans were terminated
    for name in interrupted:
        if before[name].pid is not None:
            assert after[name].attempt == 2
        # a job launched after the last commit ran again as attempt 2 if it had started
        assert runs.count(name) == after[name].attempt
        statuses = [t.status for t in after[name].transitions]
        if before[name].pid is not None:
            assert SecondaryStatus.INTERRUPTED in statuses
            assert SecondaryStatus.RESTARTING in statuses
    assert not any(alive(pid) for pid in orphans)
    # every other job ran exactly once: the budget was spent once
    assert len(runs) == sum(j.attempt for j in after.values())
    described = env.describe("e2e-job")
    assert described["TrainingJobStatusCounters"]["Completed"] == 8
    assert described["BestTrainingJob"]["TrainingJobName"] in after


def test_a_second_process_cannot_run_a_job_that_is_running(env: Env) -> None:
    job_file = env.job_file(max_jobs=4, seconds_per_epoch="1")
    first = env.start("run", str(job_file), "--quiet")
    wait_for(
        lambda: (env.home / "tunelab.db").exists() and len(env.training_jobs("e2e-job")) > 0,
        what="the first process to start",
    )
    second = env.run("resume", "e2e-job", "--quiet")
    assert second.returncode == 3
    assert "is being run by another process" in second.stderr
    first.send_signal(signal.SIGINT)
    first.wait(timeout=30)
