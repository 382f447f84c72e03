"""``--endpoint``: a server out of reach is exit code 5 with a message (not a traceback),
requests go unsigned when there are no credentials (a ``--no-auth`` server takes them),
and ``tunelab run`` follows its job through a restart of the server."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from tests.api import jobs
from tests.api.serve import TUNELAB, Serve, tunelab_env
from tests.serving import free_port
from tests.store.conftest import make_training_job, make_tuning_job
from tunelab.domain.enums import TrainingJobStatus, TuningJobStatus
from tunelab.store.sql import SqlStore

DUMMY_KEYS = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret"}


def tunelab(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TUNELAB, *args],
        env=tunelab_env(home, **env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_server_out_of_reach_is_exit_code_5(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = tunelab(tmp_path / "home", "list", "--endpoint", url, **DUMMY_KEYS)
    assert result.returncode == 5, result.stderr
    assert result.stderr.startswith(
        f"error (EndpointConnectionError): could not reach the tunelab server at {url}: "
    )
    assert "Traceback" not in result.stderr


def test_without_credentials_requests_go_unsigned(tmp_path: Path) -> None:
    open_server, signing_server = Serve(tmp_path / "open", "--no-auth"), Serve(tmp_path / "keys")
    try:
        listed = tunelab(tmp_path / "cli", "list", "--endpoint", open_server.url)
        assert listed.returncode == 0, listed.stderr
        assert listed.stderr.strip() == "No tuning jobs."
        refused = tunelab(tmp_path / "cli", "list", "--endpoint", signing_server.url)
        assert refused.returncode == 4, refused.stderr
        assert refused.stderr.startswith("error (MissingAuthenticationToken)")
    finally:
        open_server.stop()
        signing_server.stop()


@pytest.mark.slow
def test_run_follows_its_job_through_a_restart_of_the_server(tmp_path: Path) -> None:
    home = tmp_path / "home"
    server = Serve(home, "--no-auth")
    document = jobs.tuning_job(
        "restarted", max_jobs=4, parallel=2, static={"epochs": "4", "seconds_per_epoch": "0.5"}
    )
    job_file = tmp_path / "job.json"
    job_file.write_text(json.dumps(document))
    follower = subprocess.Popen(
        [TUNELAB, "run", str(job_file), "--endpoint", server.url, "-q"],
        env=tunelab_env(tmp_path / "cli"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(3)  # the job runs its first training jobs
        assert follower.poll() is None, follower.communicate()
        server.kill()
        time.sleep(2)  # the follower finds no server
        server = Serve(home, "--no-auth", port=server.port)
        stdout, stderr = follower.communicate(timeout=120)
        assert follower.returncode == 0, stderr
        assert "Completed" in stdout
    finally:
        follower.kill()
        server.stop()


def test_lists_through_a_server_page_past_its_100_items(tmp_path: Path) -> None:
    """SageMaker answers at most 100 items a request: ``list`` and ``training-jobs``
    follow NextToken (the second page of ``training-jobs`` asked for 0 items, a botocore
    error; ``list`` stopped at the first page)."""
    home = tmp_path / "home"
    home.mkdir()
    store = SqlStore(f"sqlite:///{home / 'tunelab.db'}")
    try:
        for k in range(105):
            store.create_tuning_job(
                make_tuning_job(f"job-{k}", 1000.0 + k, status=TuningJobStatus.COMPLETED)
            )
        with store.batch() as batch:
            for k in range(1, 131):
                batch.add_training_job(
                    make_training_job(
                        f"job-0-{k:03d}-0000000{k % 10}",
                        "job-0",
                        sequence=k,
                        creation_time=1000.0 + k,
                        status=TrainingJobStatus.COMPLETED,
                        value=k / 1000,
                    )
                )
    finally:
        store.close()
    server = Serve(home, "--no-auth")
    try:
        listed = tunelab(
            tmp_path / "cli", "list", "--max-results", "500", "--endpoint", server.url, "--json"
        )
        assert listed.returncode == 0, listed.stderr
        assert len(json.loads(listed.stdout)["HyperParameterTuningJobSummaries"]) == 105
        trained = tunelab(
            tmp_path / "cli", "training-jobs", "job-0", "--endpoint", server.url, "--json"
        )
        assert trained.returncode == 0, trained.stderr
        assert len(json.loads(trained.stdout)["TrainingJobSummaries"]) == 130
    finally:
        server.stop()
