"""``tunelab clone NAME``: the job's request under a new name, optionally warm
starting from it, written to a file that ``tunelab validate`` accepts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.console.server import request, two_definition_request
from tunelab.cli.clone_command import clone_request, request_from_description
from tunelab.service.settings import Settings
from tunelab.service.tuning import TuningService
from tunelab.store.sql.store import SqlStore

TUNELAB = str(Path(sys.executable).with_name("tunelab"))


def run(home: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TUNELAB_HOME": str(home)}
    return subprocess.run(
        [TUNELAB, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60
    )


def test_clone_writes_the_request_to_edit_and_run(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    store = SqlStore(f"sqlite:///{home / 'tunelab.db'}")
    service = TuningService(Settings(home=home, database_url=store.url), store)
    original = request(tmp_path / "runs.log", "original")
    original["Tags"] = [{"Key": "team", "Value": "vision"}]
    service.create(original)
    store.close()

    result = run(home, tmp_path, "clone", "original")
    assert result.returncode == 0, result.stderr
    clone = json.loads((tmp_path / "original-clone.json").read_text())
    assert clone == {**original, "HyperParameterTuningJobName": "original-clone"}
    assert run(home, tmp_path, "validate", "original-clone.json").returncode == 0

    result = run(home, tmp_path, "clone", "original", "--new-name", "warm", "--warm-start")
    assert result.returncode == 0, result.stderr
    warm = json.loads((tmp_path / "warm.json").read_text())
    assert warm["WarmStartConfig"] == {
        "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": "original"}],
        "WarmStartType": "IdenticalDataAndAlgorithm",
    }
    again = run(home, tmp_path, "clone", "original")
    assert again.returncode == 2 and "exists" in again.stderr
    assert run(home, tmp_path, "clone", "missing").returncode == 3


def test_warm_start_needs_a_single_definition(tmp_path: Path) -> None:
    import pytest

    from tunelab.domain.enums import WarmStartType
    from tunelab.domain.errors import ValidationError

    document = two_definition_request(tmp_path / "runs.log", "two")
    with pytest.raises(ValidationError, match="single training job definition"):
        clone_request(document, "two-clone", WarmStartType.TRANSFER_LEARNING)


def test_a_describe_response_gives_back_the_request() -> None:
    wire = {
        "HyperParameterTuningJobName": "a",
        "HyperParameterTuningJobArn": "arn:aws:sagemaker:us-east-1:123456789012:x/a",
        "HyperParameterTuningJobStatus": "Completed",
        "HyperParameterTuningJobConfig": {"Strategy": "Random"},
        "TrainingJobDefinition": {"StaticHyperParameters": {"_tuning_objective_metric": "loss"}},
        "BestTrainingJob": {"TrainingJobName": "a-001"},
    }
    assert request_from_description(wire) == {
        "HyperParameterTuningJobName": "a",
        "HyperParameterTuningJobConfig": {"Strategy": "Random"},
        "TrainingJobDefinition": {},
    }
