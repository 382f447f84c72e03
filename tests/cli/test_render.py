"""What the CLI shows people."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console

from tunelab.cli.render import TIMESTAMP_KEYS, iso, print_json, short_value, training_jobs_table


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
