"""How the CLI shows tuning jobs: tables for people, JSON for programs.

JSON output uses SageMaker's response shapes with timestamps written as the AWS
CLI writes them (ISO 8601 with the UTC offset)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.padding import Padding
from rich.table import Column, Table
from rich.text import Text

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


WORD_WIDTH_CAP = 16
"""A column is at least as wide as its longest word up to this many characters (its
header's words always): longer words (image URIs, ``name=value`` pairs) fold."""


class NamedRowsTable(Table):
    """A table whose first column holds names to type into other commands: never
    wrapped or cut short. The other columns wrap between words: each is at least as wide
    as its longest word (see :data:`WORD_WIDTH_CAP`), and what room is left goes to the
    columns that want more. On a terminal too narrow even for that, each row is shown as
    a block instead: its name on a line of its own, then one ``header value`` line per
    other column. Expects the default box and padding (one space each side)."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        first, others = self.columns[0], self.columns[1:]
        frame = len(self.columns) + 1 + 2 * len(self.columns)  # borders and padding
        room = options.max_width - frame - _longest_line(first)
        minimums = [_longest_word(column) for column in others]
        if room < sum(minimums):
            yield from console.render(self._as_blocks(), options)
            return
        wanted = [max(m, _longest_line(c)) for m, c in zip(minimums, others, strict=True)]
        for column, width in zip(others, _share(room, minimums, wanted), strict=True):
            column.width = width
        yield from super().__rich_console__(console, options)

    def _as_blocks(self) -> Group:
        blocks: list[RenderableType] = []
        if self.title:
            blocks.append(Text(str(self.title), style="table.title"))
        headers = [_plain(column.header) for column in self.columns[1:]]
        for row in zip(*(list(column.cells) for column in self.columns), strict=True):
            fields = Table.grid(padding=(0, 2))
            fields.add_column(style="bold", no_wrap=True)
            fields.add_column(overflow="fold")
            for header, cell in zip(headers, row[1:], strict=True):
                fields.add_row(header, cell)
            blocks.append(Text(_plain(row[0]), no_wrap=True, overflow="ignore"))
            blocks.append(Padding(fields, (0, 0, 0, 2), expand=False))
        return Group(*blocks)


def _plain(cell: object) -> str:
    return cell.plain if isinstance(cell, Text) else str(cell)


def _longest_line(column: Column) -> int:
    texts = [column.header, *column.cells]
    return max(cell_len(line) for text in texts for line in _plain(text).splitlines() or [""])


def _longest_word(column: Column) -> int:
    """The width that keeps the column's words whole (cell words up to the cap)."""
    header = max((cell_len(w) for w in _plain(column.header).split()), default=1)
    words = [cell_len(w) for cell in column.cells for w in _plain(cell).split()]
    return max(header, min(max(words, default=1), WORD_WIDTH_CAP))


def _share(room: int, minimums: list[int], wanted: list[int]) -> list[int]:
    """Widths from ``minimums`` up: the ``room`` beyond them goes first to the columns
    closest to what they ``wanted`` (so that as many as can fit on one line)."""
    widths = list(minimums)
    spare = room - sum(minimums)
    for index in sorted(range(len(widths)), key=lambda i: wanted[i] - widths[i]):
        extra = min(max(wanted[index] - widths[index], 0), spare)
        widths[index] += extra
        spare -= extra
    return widths


def named_rows_table(*headers: str, title: str | None = None) -> Table:
    """A :class:`NamedRowsTable` with these column headers; the first column's cells
    are names, the others' cells fold rather than lose text to an ellipsis."""
    table = NamedRowsTable(title=title, title_justify="left", header_style="bold")
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
