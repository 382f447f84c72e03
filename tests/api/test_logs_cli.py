"""``aws logs`` (the real AWS CLI, awscli v1) reading a training job's log from a real
``tunelab serve`` process, pointed at it by ``AWS_ENDPOINT_URL`` as a user would (one call
with ``--endpoint-url``), with an access key made by ``tunelab access-keys create``."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from tests.api import jobs
from tests.api.conftest import FULL_KEY, READ_ONLY_KEY, wait_training_job
from tests.api.serve import Serve, create_key
from tests.api.test_aws_cli import AWS, aws_env

GROUP = "/aws/sagemaker/TrainingJobs"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    home = tmp_path_factory.mktemp("logs-cli") / "home"
    home.mkdir()
    create_key(home)
    create_key(home, READ_ONLY_KEY, "read-only")
    server = Serve(home)
    try:
        server.client().create_training_job(**jobs.training_job("cli-logs", {"epochs": "4"}))
        assert wait_training_job(server.client(), "cli-logs")["TrainingJobStatus"] == "Completed"
        yield server
    finally:
        assert server.stop() == 0, server.output()
    assert "Traceback" not in server.output()


def aws_logs(
    server: Serve, *args: str, key: tuple[str, str] = READ_ONLY_KEY, flag: bool = False
) -> Any:
    """``aws logs <args>``'s JSON output; the endpoint from ``AWS_ENDPOINT_URL``, or
    ``--endpoint-url`` when ``flag``."""
    env = aws_env(server, key, **({} if flag else {"AWS_ENDPOINT_URL": server.url}))
    endpoint = ["--endpoint-url", server.url] if flag else []
    command = [AWS, "logs", *args, *endpoint, "--output", "json"]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_aws_logs_reads_the_training_jobs_log(served: Serve) -> None:
    path = served.home / "jobs" / "_standalone" / "cli-logs" / "logs" / "attempt-1.log"
    lines = path.read_text().splitlines()
    assert [line.split()[0] for line in lines] == [f"epoch={k}" for k in range(1, 5)]
    streams = aws_logs(
        served, "describe-log-streams", "--log-group-name", GROUP,
        "--log-stream-name-prefix", "cli-logs/",
    )["logStreams"]  # fmt: skip
    [stream] = [s["logStreamName"] for s in streams]
    started = served.client().describe_training_job(TrainingJobName="cli-logs")
    assert stream == f"cli-logs/algo-1-{int(started['TrainingStartTime'].timestamp())}"
    events = aws_logs(
        served, "get-log-events", "--log-group-name", GROUP, "--log-stream-name", stream,
        "--start-from-head", flag=True,
    )  # fmt: skip
    assert [e["message"] for e in events["events"]] == lines
    # the CLI pages FilterLogEvents itself, one event per request here
    found = aws_logs(
        served, "filter-log-events", "--log-group-name", GROUP,
        "--log-stream-name-prefix", "cli-logs/", "--filter-pattern", "loss -epoch=2",
        "--page-size", "1",
    )  # fmt: skip
    assert [e["message"] for e in found["events"]] == [lines[0], lines[2], lines[3]]
    assert {e["logStreamName"] for e in found["events"]} == {stream}
    groups = aws_logs(served, "describe-log-groups", key=FULL_KEY)["logGroups"]
    assert [g["logGroupName"] for g in groups] == [GROUP]
