"""``tunelab run`` drives a tuning job while ``tunelab serve`` runs on the same
TUNELAB_HOME: the server leaves the job to the process that holds its lease, and a
StopTrainingJob the server receives for one of its training jobs reaches that process
through the store; the tuning job goes on and completes."""

from __future__ import annotations

import pytest

from tests.api.conftest import make_authenticator
from tests.api.serve import Serve
from tests.e2e.conftest import Env, wait_for
from tunelab.domain.enums import TrainingJobStatus, TuningJobStatus
from tunelab.orchestrator.stoppers import stop_reason

pytestmark = pytest.mark.slow


def test_stop_training_job_through_the_server_while_tunelab_run_drives_it(env: Env) -> None:
    make_authenticator(env.store, env.home)
    job_file = env.job_file(max_jobs=3, parallel=2, epochs="40", seconds_per_epoch="0.1")
    run = env.start("run", str(job_file), "--quiet")
    server = Serve(env.home)
    try:
        client = server.client()
        victim = wait_for(
            lambda: next((j.name for j in env.training_jobs("e2e-job") if j.pid), None),
            what="a training job to run",
        )
        client.stop_training_job(TrainingJobName=victim)
        described = client.describe_training_job(TrainingJobName=victim)
        assert described["TrainingJobStatus"] in ("Stopping", "Stopped")
        assert run.wait(timeout=60) == 0, run.stderr.read() if run.stderr else ""
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
        assert server.stop() == 0
    jobs = {j.name: j for j in env.training_jobs("e2e-job")}
    assert jobs[victim].status is TrainingJobStatus.STOPPED
    assert stop_reason(jobs[victim]) == "Stopped by a StopTrainingJob request"
    assert len(jobs) == 3
    assert all(j.status is TrainingJobStatus.COMPLETED for n, j in jobs.items() if n != victim)
    assert env.store.get_tuning_job("e2e-job").status is TuningJobStatus.COMPLETED
    assert "Traceback" not in server.output()
