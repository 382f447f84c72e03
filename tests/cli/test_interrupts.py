"""Ctrl-C on ``tunelab run``: the first one stops the tuning job from the moment the
job exists, and a second one says truthfully where the job was left (with
``--endpoint``, the server carries on with it).

The real command runs in a process of its own and gets real SIGINTs; the test watches
the store (read-only) to send the first one just after the job's row appears."""

from __future__ import annotations

import json
import select
import signal
import sqlite3
import subprocess
from pathlib import Path

from tests.api import jobs
from tests.api.serve import TUNELAB, Serve, tunelab_env
from tests.serving import wait_for


def tuning_job_row_exists(home: Path, name: str) -> bool:
    """Whether the store of ``home`` holds the tuning job ``name`` (read-only: the
    command under test owns the database)."""
    database = home / "tunelab.db"
    if not database.exists():
        return False
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
            query = "SELECT count(*) FROM tuning_jobs WHERE name = ?"
            return connection.execute(query, (name,)).fetchone()[0] > 0
    except sqlite3.Error:  # the schema is being created
        return False


def start_run(tmp_path: Path, name: str, *args: str, home: Path) -> subprocess.Popen[str]:
    document = jobs.tuning_job(
        name, max_jobs=2, parallel=2, static={"epochs": "3", "seconds_per_epoch": "1"}
    )
    job_file = tmp_path / f"{name}.json"
    job_file.write_text(json.dumps(document))
    return subprocess.Popen(
        [TUNELAB, "run", str(job_file), "-q", *args],
        env=tunelab_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def stderr_line(process: subprocess.Popen[str], timeout: float = 30) -> str:
    assert process.stderr is not None
    ready, _, _ = select.select([process.stderr], [], [], timeout)
    assert ready, f"no line on stderr within {timeout} s"
    return process.stderr.readline()


def test_a_ctrl_c_just_after_the_job_is_created_stops_it(tmp_path: Path) -> None:
    home = tmp_path / "home"
    process = start_run(tmp_path, "early-stop", home=home)
    try:
        wait_for(lambda: tuning_job_row_exists(home, "early-stop"), every=0.005, what="the row")
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, stderr
    assert stderr.startswith("Stopping the tuning job... (Ctrl-C again"), stderr
    assert "Status         Stopped" in stdout, stdout
    described = subprocess.run(
        [TUNELAB, "describe", "early-stop", "--json"],
        env=tunelab_env(home),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert json.loads(described.stdout)["HyperParameterTuningJobStatus"] == "Stopped"


def test_a_second_ctrl_c_with_endpoint_says_the_server_carries_on(tmp_path: Path) -> None:
    server = Serve(tmp_path / "server", "--no-auth")
    try:
        process = start_run(
            tmp_path, "left-to-server", "--endpoint", server.url, home=tmp_path / "cli"
        )
        try:
            wait_for(lambda: tuning_job_row_exists(server.home, "left-to-server"), every=0.005)
            process.send_signal(signal.SIGINT)
            assert stderr_line(process).startswith("Stopping the tuning job...")
            process.send_signal(signal.SIGINT)
            _, stderr = process.communicate(timeout=60)
        finally:
            process.kill()
        assert process.returncode == 130, stderr
        assert "tunelab resume" not in stderr
        client = server.client()

        def ended() -> str | None:
            described = client.describe_hyper_parameter_tuning_job(
                HyperParameterTuningJobName="left-to-server"
            )
            status = described["HyperParameterTuningJobStatus"]
            return status if status in ("Completed", "Stopped", "Failed") else None

        status = wait_for(ended, timeout=60, every=0.5, what="the server to end the job")
        last = stderr.splitlines()[-1]  # the progress display may repeat the Stopping line
        if last.startswith("Left tuning job left-to-server to the server, which is stopping"):
            assert status == "Stopped"
        else:  # the stop had not reached the server
            assert last == (
                "Left tuning job left-to-server to the server, which carries on running it; "
                "`tunelab stop left-to-server` stops it."
            )
            assert status == "Completed"
    finally:
        server.stop()
