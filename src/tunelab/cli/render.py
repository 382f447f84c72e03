"""How the CLI shows tuning jobs: tables for people, JSON for programs.

JSON output uses SageMaker's response shapes with timestamps written as the AWS
CLI writes them (ISO 8601 with the UTC offset)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.table import Table

from tunelab.service.completion_reason import CompletionFacts, completion_reason

TIMESTAMP_KEYS = {  # every timestamp member of the responses the CLI prints
    "ConvergenceDetectedTime",
    "CreationTime",
    "EndTime",
    "HyperParameterTuningEndTime",
    "LastModifiedTime",
    "StartTime",
    "Timestamp",
    "TrainingEndTime",
    "TrainingStartTime",
}


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat()


def _with_iso_times(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {
            k: iso(v) if k in TIMESTAMP_KEYS and isinstance(v, int | float) else _with_iso_times(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_with_iso_times(v) for v in value]
    return value


def print_json(console: Console, wire: Any) -> None:
    console.print_json(json.dumps(_with_iso_times(wire)), highlight=False)


def short_time(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return datetime.fromtimestamp(seconds).strftime("%Y-%m-%d %H:%M:%S")


def objective_text(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def short_value(text: str) -> str:
    """A hyperparameter value for display: numbers with at most 6 significant
    digits (jobs receive the full value)."""
    try:
        number = float(text)
    except ValueError:
        return text
    if text.lstrip("-").isdigit():
        return text
    return f"{number:.6g}"


def best_first_order(wire: Mapping[str, Any]) -> str:
    """The sort order (``Descending`` or ``Ascending``) that puts the training jobs
    with the best objective value first, for the job described by ``wire``."""
    best = wire.get("BestTrainingJob", {}).get("FinalHyperParameterTuningJobObjectiveMetric", {})
    objective = wire["HyperParameterTuningJobConfig"].get("HyperParameterTuningJobObjective")
    if objective is None:
        objective = (wire.get("TrainingJobDefinitions") or [{}])[0].get("TuningObjective", {})
    maximize = best.get("Type", objective.get("Type")) == "Maximize"
    return "Descending" if maximize else "Ascending"


def named_rows_table(*headers: str, title: str | None = None) -> Table:
    """A table whose first column holds names to type into other commands: never
    wrapped or cut short (the other columns wrap to make room); the other cells fold
    rather than lose text to an ellipsis."""
    table = Table(title=title, title_justify="left", header_style="bold")
    table.add_column(headers[0], no_wrap=True)
    for header in headers[1:]:
        table.add_column(header, overflow="fold")
    return table


def training_jobs_table(summaries: Iterable[Mapping[str, Any]], title: str | None = None) -> Table:
    """A table of ``HyperParameterTrainingJobSummary`` dicts."""
    table = named_rows_table(
        "Training job", "Definition", "Status", "Objective", "Hyperparameters", title=title
    )
    for summary in summaries:
        final = summary.get("FinalHyperParameterTuningJobObjectiveMetric") or {}
        hyperparameters = ", ".join(
            f"{k}={short_value(v)}" for k, v in summary.get("TunedHyperParameters", {}).items()
        )
        status = summary["TrainingJobStatus"]
        if summary.get("ObjectiveStatus") == "Failed" and status != "Failed":
            status += " (no objective)"
        table.add_row(
            summary["TrainingJobName"],
            summary.get("TrainingJobDefinitionName", "-"),
            status,
            objective_text(final.get("Value")),
            hyperparameters,
        )
    return table


def tuning_jobs_table(summaries: Iterable[Mapping[str, Any]]) -> Table:
    """A table of ``HyperParameterTuningJobSummary`` dicts."""
    table = named_rows_table("Tuning job", "Status", "Strategy", "Training jobs", "Created")
    for summary in summaries:
        counters = summary["TrainingJobStatusCounters"]
        done = counters["Completed"] + counters["Stopped"] + counters["NonRetryableError"]
        total = summary.get("ResourceLimits", {}).get("MaxNumberOfTrainingJobs", "?")
        table.add_row(
            summary["HyperParameterTuningJobName"],
            summary["HyperParameterTuningJobStatus"],
            summary["Strategy"],
            f"{done}/{total} done, {counters['InProgress']} running",
            short_time(summary["CreationTime"]),
        )
    return table


def description_table(wire: Mapping[str, Any]) -> Table:
    """The main facts of a ``DescribeHyperParameterTuningJobResponse``."""
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    config = wire["HyperParameterTuningJobConfig"]
    counters = wire["TrainingJobStatusCounters"]
    objectives = wire["ObjectiveStatusCounters"]
    rows: list[tuple[str, object]] = [
        ("Name", wire["HyperParameterTuningJobName"]),
        ("Status", wire["HyperParameterTuningJobStatus"]),
        ("Strategy", config["Strategy"]),
        ("Created", short_time(wire["CreationTime"])),
        ("Ended", short_time(wire.get("HyperParameterTuningEndTime"))),
        ("Completion reason", completion_reason(CompletionFacts.of_response(wire))),
        ("Training jobs", ", ".join(f"{k} {v}" for k, v in counters.items())),
        ("Objectives", ", ".join(f"{k} {v}" for k, v in objectives.items())),
    ]
    best = wire.get("BestTrainingJob")
    if best is not None:
        final = best.get("FinalHyperParameterTuningJobObjectiveMetric", {})
        definition = best.get("TrainingJobDefinitionName")
        rows.append(
            (
                "Best training job",
                best["TrainingJobName"] + (f" ({definition})" if definition else ""),
            )
        )
        rows.append(
            (f"Best {final.get('MetricName', 'objective')}", objective_text(final.get("Value")))
        )
    if wire.get("FailureReason"):
        rows.append(("Failure reason", wire["FailureReason"]))
    for key, value in rows:
        if value is not None:
            table.add_row(key, str(value))
    return table
