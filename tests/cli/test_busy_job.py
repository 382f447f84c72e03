"""A second ``tunelab run`` (or ``resume``) of a tuning job another process is running
prints the error alone and exits 3: no progress line, no "Resuming" line, as it
neither runs nor resumes anything."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import Env, wait_for

BUSY = "error (ConflictException): Tuning job 'e2e-job' is being run by another process"


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    environment = Env(tmp_path)
    yield environment
    environment.close()


def test_a_busy_job_gets_the_error_alone(env: Env) -> None:
    # long enough to outlast both commands on a loaded machine (Ctrl-C ends it below)
    job_file = env.job_file(max_jobs=4, parallel=1, seconds_per_epoch="20")
    first = env.start("run", str(job_file), "--quiet")
    try:
        wait_for(
            lambda: (env.home / "tunelab.db").exists() and len(env.training_jobs("e2e-job")) > 0,
            what="the first process to start",
        )
        for args in (["run", str(job_file)], ["resume", "e2e-job"]):
            second = env.run(*args)
            assert second.returncode == 3, second.stderr
            assert second.stdout == ""
            lines = second.stderr.splitlines()
            assert len(lines) == 1 and lines[0].startswith(BUSY), second.stderr
    finally:
        first.send_signal(signal.SIGINT)
        first.wait(timeout=30)
