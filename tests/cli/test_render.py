"""What the CLI shows people."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from tunelab.cli.app import app
from tunelab.cli.render import (
    TIMESTAMP_KEYS,
    iso,
    print_json,
    short_value,
    training_jobs_table,
    tuning_jobs_table,
)


def test_hyperparameter_values_are_shortened_for_display_only() -> None:
    assert short_value("0.36161008626529356") == "0.36161"
    assert short_value("1e-05") == "1e-05"
    assert short_value("123456789") == "123456789"  # integers stay whole
    assert short_value("rbf") == "rbf"


def test_training_jobs_table_marks_jobs_without_objective() -> None:
    summary = {
        "TrainingJobName": "job-1-001-abcdef01",
        "TrainingJobStatus": "Completed",
        "ObjectiveStatus": "Failed",
        "TunedHyperParameters": {"lr": "0.0123456789"},
    }
    console = Console(file=io.StringIO(), width=200)
    console.print(training_jobs_table([summary]))
    text = console.file.getvalue()
    assert "Completed (no objective)" in text
    assert "lr=0.0123457" in text


def test_json_times_are_written_as_the_aws_cli_writes_them() -> None:
    console = Console(file=io.StringIO(), width=200)
    print_json(console, {"CreationTime": 0, "Nested": [{"TrainingEndTime": 1.5}], "Value": 2})
    text = console.file.getvalue()
    assert '"CreationTime": "1970-01-01T00:00:00+00:00"' in text
    assert '"TrainingEndTime": "1970-01-01T00:00:01.500000+00:00"' in text
    assert '"Value": 2' in text
    assert iso(0) == "1970-01-01T00:00:00+00:00"


def test_every_timestamp_the_cli_prints_is_written_as_a_time() -> None:
    import botocore.session

    model = botocore.session.get_session().get_service_model("sagemaker")
    found: set[str] = set()

    def walk(shape: Any, seen: set[str]) -> None:
        if shape.name in seen:
            return
        seen.add(shape.name)
        if shape.type_name == "structure":
            for name, member in shape.members.items():
                if member.type_name == "timestamp":
                    found.add(name)
                walk(member, seen)
        elif shape.type_name == "list":
            walk(shape.member, seen)

    for operation in (
        "DescribeHyperParameterTuningJob",
        "ListHyperParameterTuningJobs",
        "ListTrainingJobsForHyperParameterTuningJob",
    ):
        walk(model.operation_model(operation).output_shape, set())
    assert found <= TIMESTAMP_KEYS


NAME = "a-thirty-two-char-tuning-job-nam"  # as long as SageMaker allows
COUNTERS = {"Completed": 2, "InProgress": 0, "Stopped": 0, "NonRetryableError": 0}


def shown(table: Any, width: int = 80) -> list[str]:
    """The lines of ``table`` on a terminal ``width`` columns wide."""
    console = Console(file=io.StringIO(), width=width)
    console.print(table)
    return console.file.getvalue().splitlines()


def test_names_in_tables_are_never_cut_or_folded_on_an_80_column_terminal() -> None:
    """A name is what the next command is typed with: it stays whole on one line (for
    the eye, copy and paste, and grep); the other columns wrap to make room."""
    tuning = {
        "HyperParameterTuningJobName": NAME,
        "HyperParameterTuningJobStatus": "InProgress",
        "Strategy": "Hyperband",
        "TrainingJobStatusCounters": COUNTERS,
        "ResourceLimits": {"MaxNumberOfTrainingJobs": 500},
        "CreationTime": 0,
    }
    assert any(NAME in line for line in shown(tuning_jobs_table([tuning])))
    training = {
        "TrainingJobName": f"{NAME}-001-3f437936",
        "TrainingJobDefinitionName": "gradient-boosting",
        "TrainingJobStatus": "Completed",
        "ObjectiveStatus": "Failed",
        "TunedHyperParameters": {"learning_rate": "0.1", "max_depth": "5", "subsample": "0.8"},
    }
    assert any(f"{NAME}-001-3f437936" in line for line in shown(training_jobs_table([training])))


def whole_cell(text: str, line: str) -> bool:
    """Whether ``line`` shows ``text`` as a whole table cell or a line of its own."""
    return line.strip() == text or f"│ {text} " in line


TRAINING = {
    "TrainingJobName": f"{NAME}-001-3f437936",
    "TrainingJobDefinitionName": "gradient-boosting",
    "TrainingJobStatus": "Completed",
    "FinalHyperParameterTuningJobObjectiveMetric": {"Value": 0.123456},
    "TunedHyperParameters": {"learning_rate": "0.1", "max_depth": "5"},
}
TUNING = {
    "HyperParameterTuningJobName": NAME,
    "HyperParameterTuningJobStatus": "Completed",
    "Strategy": "Hyperband",
    "TrainingJobStatusCounters": COUNTERS,
    "ResourceLimits": {"MaxNumberOfTrainingJobs": 500},
    "CreationTime": 0,
}


@pytest.mark.parametrize("width", [60, 80, 100, 200])
@pytest.mark.parametrize("which", ["training jobs", "tuning jobs", "short names"])
def test_narrow_terminals_show_every_column_with_words_whole(width: int, which: str) -> None:
    """A 32-character tuning job name leaves little room at 60 or 80 columns: no column
    may vanish and no word be split (a table when the words fit, else a block per row)."""
    if which == "training jobs":
        table = training_jobs_table([TRAINING], title="Best training jobs")
        words = ["Definition", "gradient-boosting", "Completed", "0.123456", "Hyperparameters"]
        words += ["learning_rate=0.1,", "max_depth=5", "Best training jobs"]
    else:
        short = {**TUNING, "HyperParameterTuningJobName": "short"}
        table = tuning_jobs_table([short] if which == "short names" else [TUNING, short])
        words = ["Status", "Completed", "Strategy", "Hyperband", "Training", "jobs", "2/500"]
        words += ["done,", "running", "Created", "1970-01-01"]
    lines = shown(table, width)
    assert all(len(line) <= width for line in lines), lines
    for word in words:
        assert any(word in line for line in lines), (word, lines)
    names = {"training jobs": [TRAINING["TrainingJobName"]], "tuning jobs": [NAME, "short"]}
    for name in names.get(which, ["short"]):
        assert any(whole_cell(name, line) for line in lines), (name, lines)
    table_from = {"training jobs": 200, "tuning jobs": 100, "short names": 80}[which]
    assert lines[-1].startswith("└") == (width >= table_from), lines


def test_algorithm_and_hyperparameter_names_are_never_cut_on_an_80_column_terminal(
    tmp_path: Path,
) -> None:
    env = {"TUNELAB_HOME": str(tmp_path / "home"), "COLUMNS": "80"}
    listed = CliRunner().invoke(app, ["algorithms", "list"], env=env)
    assert listed.exit_code == 0, listed.stderr
    assert any(whole_cell("linear-learner", line) for line in listed.stdout.splitlines())
    described = CliRunner().invoke(app, ["algorithms", "describe", "linear-learner"], env=env)
    assert described.exit_code == 0, described.stderr
    lines = described.stdout.splitlines()
    assert any("binary_classifier_model_selection_criteria" in line for line in lines)


def test_describe_and_run_say_why_a_tuning_job_completed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DescribeHyperParameterTuningJob has no field for it: the CLI derives the reason
    (here the target objective value, reached by the first training job)."""
    from tests.service.test_tuning import document

    monkeypatch.setenv("RUNS_LOG", str(tmp_path / "runs.log"))
    request = document(name="reached", max_jobs=4, parallel=1)
    request["TrainingJobDefinition"]["StaticHyperParameters"] = {
        "epochs": "1",
        "seconds_per_epoch": "0",
    }
    config = request["HyperParameterTuningJobConfig"]
    config["TuningJobCompletionCriteria"] = {"TargetObjectiveMetricValue": 2.0}
    job_file = tmp_path / "job.json"
    job_file.write_text(json.dumps(request))
    env = {"TUNELAB_HOME": str(tmp_path / "home"), "COLUMNS": "200"}
    expected = "Completion reason  TargetObjectiveMetricValue (2) reached: the best training job's"
    ran = CliRunner().invoke(app, ["run", str(job_file), "--quiet"], env=env)
    assert ran.exit_code == 0, ran.stderr
    assert any(line.startswith(expected) for line in ran.stdout.splitlines()), ran.stdout
    described = CliRunner().invoke(app, ["describe", "reached"], env=env)
    assert described.exit_code == 0, described.stderr
    assert any(line.startswith(expected) for line in described.stdout.splitlines())
    as_json = CliRunner().invoke(app, ["describe", "reached", "--json"], env=env)
    assert "the best training job's" not in as_json.stdout  # the response stays SageMaker's
