"""Two ``tunelab serve`` processes on one TUNELAB_HOME (one database): a standalone
training job runs in one of them only (each server's scheduler used to adopt it, and
the second one ended the first one's process as a crashed runner's leftover);
StopTrainingJob through the server that does not run it stops it (through the store);
after ``kill -9`` of the server running a job, the other takes it over."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from tests.api import jobs
from tests.api.conftest import make_authenticator, response_problems, wait_for, wait_training_job
from tests.api.serve import Serve
from tunelab.store.sql.store import SqlStore

pytestmark = pytest.mark.slow
SECONDS = {"epochs": "12", "seconds_per_epoch": "0.25"}
"""About 3 s: longer than a scan of the store (every 2 s), so both servers see it run."""


def driver(store: SqlStore, servers: list[Serve], name: str) -> Serve | None:
    """The server whose process holds the training job's lease."""
    lease = store.get_training_job_lease(name)
    pid = None if lease is None else int(lease.owner.split(":")[1])
    return next((s for s in servers if s.process.pid == pid), None)


def statuses(job: dict) -> list[str]:
    return [t["Status"] for t in job["SecondaryStatusTransitions"]]


def test_two_servers_on_one_database(tmp_path: Path) -> None:
    home = tmp_path / "home"
    url = f"sqlite:///{home / 'tunelab.db'}"
    with SqlStore(url) as store:
        make_authenticator(store, home)
    servers = [Serve(home), Serve(home)]
    store = SqlStore(url)
    try:
        client = servers[0].client()
        client.create_training_job(**jobs.training_job("shared-1", SECONDS))
        job = wait_training_job(client, "shared-1")
        assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
        assert "Interrupted" not in statuses(job)  # run once, by one server

        client.create_training_job(**jobs.training_job("shared-2", {"epochs": "200"}))
        running = wait_for(lambda: driver(store, servers, "shared-2"), what="a server to run it")
        (other,) = [s for s in servers if s is not running]
        wait_for(
            lambda: (
                "Training" in statuses(client.describe_training_job(TrainingJobName="shared-2"))
            ),
            what="shared-2 to train",
        )
        other.client().stop_training_job(TrainingJobName="shared-2")  # through the store
        described = other.client().describe_training_job(TrainingJobName="shared-2")
        assert described["TrainingJobStatus"] in ("Stopping", "Stopped")
        job = wait_training_job(client, "shared-2", timeout=20)
        assert job["TrainingJobStatus"] == "Stopped"
        assert job["TrainingEndTime"] - job["TrainingStartTime"] < timedelta(seconds=8)

        client.create_training_job(**jobs.training_job("shared-3", SECONDS))
        running = wait_for(lambda: driver(store, servers, "shared-3"), what="a server to run it")
        wait_for(
            lambda: (
                "Training" in statuses(client.describe_training_job(TrainingJobName="shared-3"))
            ),
            what="shared-3 to train",
        )
        (other,) = [s for s in servers if s is not running]
        running.kill()
        job = wait_training_job(other.client(), "shared-3")
        assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
        assert statuses(job).count("Training") == 2  # attempt 2, run by the other server
        assert driver(store, servers, "shared-3") is None  # released when it ended
    finally:
        store.close()
        for server in servers:
            if server.process.poll() is None:
                assert server.stop() == 0
    outputs = "".join(s.output() for s in servers)
    assert "Traceback" not in outputs, outputs
    problems = response_problems([e for s in servers for e in s.exchanges])
    assert problems == [], json.dumps(problems, indent=1)
