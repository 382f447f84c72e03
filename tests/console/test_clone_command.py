"""``tunelab clone NAME``: the job's request under a new name, optionally warm
starting from it, written to a file that ``tunelab validate`` accepts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.console.jobs import finished_grid_job
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


def test_output_dash_writes_the_request_to_standard_output(tmp_path: Path) -> None:
    """``-o -`` is standard output, as for curl and ``aws s3 cp``: the JSON alone, ready
    to pipe on; no file named "-" appears."""
    home = tmp_path / "home"
    home.mkdir()
    store = SqlStore(f"sqlite:///{home / 'tunelab.db'}")
    service = TuningService(Settings(home=home, database_url=store.url), store)
    original = request(tmp_path / "runs.log", "original")
    service.create(original)
    store.close()

    result = run(home, tmp_path, "clone", "original", "-o", "-", "--new-name", "piped")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {**original, "HyperParameterTuningJobName": "piped"}
    assert result.stderr == ""
    assert not (tmp_path / "-").exists() and not (tmp_path / "piped.json").exists()


NAME_RULE = "must match the pattern [a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}"


def test_a_new_name_that_breaks_the_name_rule_is_refused_at_clone_time(tmp_path: Path) -> None:
    """The rule ``tunelab validate`` and ``run`` apply, with their message and exit code,
    before anything is written (not only when the written file is run)."""
    home = tmp_path / "home"
    home.mkdir()
    store = SqlStore(f"sqlite:///{home / 'tunelab.db'}")
    TuningService(Settings(home=home, database_url=store.url), store).create(
        request(tmp_path / "runs.log", "original")
    )
    store.close()
    error = "error (ValidationException): HyperParameterTuningJobName: "
    refused = {  # the new name and a line of the message
        "bad_name!": f"{error}{NAME_RULE}; got 'bad_name!'",
        "-dash-first": f"{error}{NAME_RULE}; got '-dash-first'",
        "x" * 33: "- HyperParameterTuningJobName: must be at most 32 characters long; got 33",
    }
    for name, line in refused.items():
        result = run(home, tmp_path, "clone", "original", "--new-name", name)
        assert result.returncode == 2, result.stderr
        assert line in result.stderr.splitlines()
        assert list(tmp_path.glob("*.json")) == []
    assert run(home, tmp_path, "clone", "original", "--new-name", "x" * 32).returncode == 0


def test_output_may_name_a_folder_and_bad_options_are_errors_not_tracebacks(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    store = SqlStore(f"sqlite:///{home / 'tunelab.db'}")
    TuningService(Settings(home=home, database_url=store.url), store).create(
        request(tmp_path / "runs.log", "original")
    )
    store.close()
    (tmp_path / "drafts").mkdir()
    for folder in ("drafts", "new-folder/"):  # an existing folder, or one ending in /
        result = run(home, tmp_path, "clone", "original", "-o", folder)
        assert result.returncode == 0, result.stderr
        written = json.loads((tmp_path / folder / "original-clone.json").read_text())
        assert written["HyperParameterTuningJobName"] == "original-clone"

    result = run(home, tmp_path, "clone", "original", "-o", "missing/x.json")
    assert result.returncode == 2
    assert result.stderr.startswith("error: --output: cannot write missing/x.json: ")
    assert "Traceback" not in result.stderr

    result = run(home, tmp_path, "clone", "original", "--warm-start-type", "TransferLearning")
    assert result.returncode == 2
    assert result.stderr == "error: --warm-start-type: only with --warm-start\n"
    assert not (tmp_path / "original-clone.json").exists()


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


def test_a_warm_start_clone_that_create_would_refuse_is_written_with_a_warning(
    tmp_path: Path,
) -> None:
    """A finished Grid job's parents evaluated every grid point: a warm start from it is
    refused at create time, and clone says so as it writes the file to edit."""
    home = tmp_path / "home"
    home.mkdir()
    store = SqlStore(f"sqlite:///{home / 'tunelab.db'}")
    service = TuningService(Settings(home=home, database_url=store.url), store)
    finished_grid_job(service, tmp_path / "runs.log", "grid")
    store.close()

    result = run(home, tmp_path, "clone", "grid", "--warm-start")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("wrote grid-clone.json (grid-clone, warm starting from grid)")
    assert result.stderr == (
        "warning: tunelab run would refuse grid-clone.json as it is (ValidationException): "
        "HyperParameterTuningJobConfig.ParameterRanges.CategoricalParameterRanges: the parent "
        "jobs already evaluated 3 of the 3 combinations of the hyperparameter ranges, and the "
        "Grid strategy never runs one twice: no grid point is left to run; add values to the "
        "ranges, or leave out WarmStartConfig to run the whole grid again\n"
    )
    written = json.loads((tmp_path / "grid-clone.json").read_text())
    assert written["WarmStartConfig"]["ParentHyperParameterTuningJobs"] == [
        {"HyperParameterTuningJobName": "grid"}
    ]
    # the same edited as the warning says is accepted; a clone without warm start too
    ranges = written["HyperParameterTuningJobConfig"]["ParameterRanges"]
    ranges["CategoricalParameterRanges"][0]["Values"].append("0.4")
    (tmp_path / "grid-clone.json").write_text(json.dumps(written))
    assert run(home, tmp_path, "validate", "grid-clone.json").returncode == 0
    cold = run(home, tmp_path, "clone", "grid", "--new-name", "cold")
    assert cold.returncode == 0 and cold.stderr == ""
