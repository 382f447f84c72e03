"""A tuning job's training jobs as CSV, with the columns of the SageMaker SDK's
``HyperparameterTuningJobAnalytics.dataframe()`` in its order: what
``tuner.analytics().dataframe().to_csv(index=False)`` gives a SageMaker user, for
``tunelab training-jobs --csv`` and the console's download.

A job's fields: its tuned hyperparameters, ``TrainingJobName``, ``TrainingJobStatus``,
``FinalObjectiveValue``, ``TrainingStartTime``, ``TrainingEndTime`` (ISO 8601, UTC),
``TrainingElapsedTimeSeconds`` (when it has both times) and
``TrainingJobDefinitionName`` (when it has one); the columns are every field in order
of first appearance, as pandas builds a frame from records. A field a job lacks is
empty.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tunelab.domain.trial import TrainingJob

ELAPSED, DEFINITION = "TrainingElapsedTimeSeconds", "TrainingJobDefinitionName"


@dataclass(frozen=True)
class ResultRow:
    """One training job's line; times in seconds since the epoch."""

    name: str
    status: str
    tuned: Mapping[str, str]
    objective: float | None
    start: float | None
    end: float | None
    definition: str | None


def row_of_job(job: TrainingJob) -> ResultRow:
    return ResultRow(
        job.name,
        str(job.status),
        job.tuned_hyperparameters,
        job.final_objective_value,
        job.start_time,
        job.end_time,
        job.definition_name,
    )


def row_of_summary(summary: Mapping[str, Any]) -> ResultRow:
    """From a ``HyperParameterTrainingJobSummary``, its times as seconds (tunelab's
    store) or datetimes (boto3)."""
    final = summary.get("FinalHyperParameterTuningJobObjectiveMetric") or {}
    return ResultRow(
        summary["TrainingJobName"],
        summary["TrainingJobStatus"],
        summary.get("TunedHyperParameters", {}),
        final.get("Value"),
        _seconds(summary.get("TrainingStartTime")),
        _seconds(summary.get("TrainingEndTime")),
        summary.get("TrainingJobDefinitionName"),
    )


def results_csv(rows: Iterable[ResultRow]) -> str:
    """The CSV text (header first, CRLF line ends as RFC 4180), rows in the
    order given."""
    records = [_record(row) for row in rows]
    header = list(dict.fromkeys(key for record in records for key in record))
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(header)
    for record in records:
        writer.writerow([_text(record.get(key)) for key in header])
    return text.getvalue()


def _record(row: ResultRow) -> dict[str, object]:
    """The row's fields in the SDK's order (its ``reshape``)."""
    record: dict[str, object] = dict(row.tuned)
    record.update(
        TrainingJobName=row.name,
        TrainingJobStatus=row.status,
        FinalObjectiveValue=row.objective,
        TrainingStartTime=_iso(row.start),
        TrainingEndTime=_iso(row.end),
    )
    if row.start is not None and row.end is not None:
        record[ELAPSED] = round(row.end - row.start, 6)  # microseconds, as datetimes
    if row.definition is not None:
        record[DEFINITION] = row.definition
    return record


def _text(value: object) -> str:
    if value is None:
        return ""
    return repr(float(value)) if isinstance(value, float | int) else str(value)


def _seconds(value: float | datetime | None) -> float | None:
    return value.timestamp() if isinstance(value, datetime) else value


def _iso(seconds: float | None) -> str | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC).isoformat()
