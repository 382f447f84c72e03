"""The real AWS CLI (``aws`` from the venv, awscli v1) against a real ``tunelab serve``
process, with the access key made by ``tunelab access-keys create`` and given to the
CLI in environment variables, as a user would."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api import jobs
from tests.api.conftest import FULL_KEY, READ_ONLY_KEY, wait_tuning_job
from tests.api.serve import Serve, create_key, tunelab, tunelab_env

AWS = str(Path(sys.executable).with_name("aws"))


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    home = tmp_path_factory.mktemp("cli") / "home"
    home.mkdir()
    create_key(home)
    create_key(home, READ_ONLY_KEY, "read-only")
    listed = tunelab(home, "access-keys", "list")
    assert FULL_KEY[0] in listed.stdout and "read-only" in listed.stdout
    assert FULL_KEY[1] not in listed.stdout + listed.stderr  # secrets are never shown again
    server = Serve(home)
    try:
        yield server
    finally:
        assert server.stop() == 0, server.output()
    assert "SigV4 authentication" in " ".join(server.output().split())
    assert "Traceback" not in server.output()


def aws_env(server: Serve, key: tuple[str, str], **extra: str) -> dict[str, str]:
    """The environment of an ``aws`` command signing with ``key``: no AWS config or
    credentials files of the machine's, no instance metadata, no pager, one attempt."""
    return tunelab_env(
        server.home,
        AWS_ACCESS_KEY_ID=key[0],
        AWS_SECRET_ACCESS_KEY=key[1],
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=str(server.home / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(server.home / "no-aws-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
        AWS_PAGER="",
        AWS_MAX_ATTEMPTS="1",
        **extra,
    )


def aws(server: Serve, *args: str, key: tuple[str, str] = FULL_KEY, check: bool = True) -> Any:
    """Run ``aws sagemaker <args> --endpoint-url <server>``; its JSON output (or the
    finished process when ``check`` is False)."""
    env = aws_env(server, key)
    command = [AWS, "sagemaker", *args, "--endpoint-url", server.url, "--output", "json"]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    if not check:
        return result
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout) if result.stdout.strip() else {}


@pytest.fixture(scope="module")
def created(served: Serve, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A two-definition tuning job created from a job file with the CLI, run to the end
    (followed with boto3: each ``aws`` start costs a second)."""
    document = jobs.two_definition_job("cli-job", max_jobs=4, tags={"made-by": "aws-cli"})
    job_file = tmp_path_factory.mktemp("files") / "job.json"
    job_file.write_text(json.dumps(document, indent=2))
    answer = aws(
        served, "create-hyper-parameter-tuning-job", "--cli-input-json", f"file://{job_file}"
    )
    wait_tuning_job(served.client(), "cli-job")
    return {"answer": answer, "document": document, "file": job_file}


def test_create_from_a_job_file(created: dict[str, Any]) -> None:
    assert created["answer"] == {
        "HyperParameterTuningJobArn": (
            "arn:aws:sagemaker:us-east-1:123456789012:hyper-parameter-tuning-job/cli-job"
        )
    }


def test_describe_and_list_training_jobs(served: Serve, created: dict[str, Any]) -> None:
    described = aws(
        served, "describe-hyper-parameter-tuning-job", "--hyper-parameter-tuning-job-name",
        "cli-job",
    )  # fmt: skip
    assert described["HyperParameterTuningJobName"] == "cli-job"
    assert described["HyperParameterTuningJobStatus"] == "Completed"
    assert described["TrainingJobStatusCounters"]["Completed"] == 4
    assert described["ObjectiveStatusCounters"]["Succeeded"] == 4
    assert [d["DefinitionName"] for d in described["TrainingJobDefinitions"]] == ["fast", "slow"]
    for definition in described["TrainingJobDefinitions"]:
        assert definition["StaticHyperParameters"]["_tuning_objective_metric"] == "loss"
    # awscli v1 prints timestamps as the epoch seconds it received
    assert 0 < described["CreationTime"] <= described["HyperParameterTuningEndTime"]

    best = aws(
        served, "list-training-jobs-for-hyper-parameter-tuning-job",
        "--hyper-parameter-tuning-job-name", "cli-job",
        "--sort-by", "FinalObjectiveMetricValue", "--sort-order", "Ascending",
    )["TrainingJobSummaries"]  # fmt: skip
    assert len(best) == 4
    assert {s["TrainingJobDefinitionName"] for s in best} <= {"fast", "slow"}
    assert all(s["TrainingJobStatus"] == "Completed" for s in best)
    assert all(s["TrainingJobName"].startswith("cli-job-") for s in best)
    values = [s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for s in best]
    assert values == sorted(values)
    assert described["BestTrainingJob"]["TrainingJobName"] == best[0]["TrainingJobName"]


def test_the_cli_follows_page_tokens(served: Serve, created: dict[str, Any]) -> None:
    """The CLI pages on its own (``--page-size``) and hands out its own token wrapping
    ours (``--max-items``, ``--starting-token``)."""
    command = (
        "list-training-jobs-for-hyper-parameter-tuning-job",
        "--hyper-parameter-tuning-job-name",
        "cli-job",
        "--page-size",
        "1",
    )
    everything = sorted(
        s["TrainingJobName"]
        for s in served.client().list_training_jobs_for_hyper_parameter_tuning_job(
            HyperParameterTuningJobName="cli-job"
        )["TrainingJobSummaries"]
    )
    first = aws(served, *command, "--max-items", "3")
    assert [s["TrainingJobName"] for s in first["TrainingJobSummaries"]] == everything[:3]
    rest = aws(served, *command, "--starting-token", first["NextToken"])
    assert [s["TrainingJobName"] for s in rest["TrainingJobSummaries"]] == everything[3:]
    assert "NextToken" not in rest


def test_tags(served: Serve, created: dict[str, Any]) -> None:
    arn = created["answer"]["HyperParameterTuningJobArn"]
    assert aws(served, "list-tags", "--resource-arn", arn)["Tags"] == [
        {"Key": "made-by", "Value": "aws-cli"}
    ]


def test_errors_reach_the_cli(served: Serve, created: dict[str, Any]) -> None:
    taken = aws(
        served, "create-hyper-parameter-tuning-job", "--cli-input-json",
        f"file://{created['file']}", check=False,
    )  # fmt: skip
    assert taken.returncode != 0 and "(ResourceInUse)" in taken.stderr
    denied = aws(
        served, "create-hyper-parameter-tuning-job", "--cli-input-json",
        f"file://{created['file']}", key=READ_ONLY_KEY, check=False,
    )  # fmt: skip
    assert denied.returncode != 0 and "(AccessDeniedException)" in denied.stderr
    wrong = aws(
        served, "describe-hyper-parameter-tuning-job", "--hyper-parameter-tuning-job-name",
        "cli-job", key=(FULL_KEY[0], "wrong"), check=False,
    )  # fmt: skip
    assert wrong.returncode != 0 and "(InvalidSignatureException)" in wrong.stderr


def test_serve_refuses_no_auth_off_loopback(tmp_path: Path) -> None:
    result = tunelab(tmp_path / "home", "serve", "--no-auth", "--host", "0.0.0.0", timeout=30)
    assert result.returncode == 2
    assert "--no-auth is only allowed on a loopback address" in result.stderr
