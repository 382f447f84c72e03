"""The CSV of a tuning job's training jobs: the SageMaker SDK's dataframe columns,
in its order, from stored jobs and from API summaries alike."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from tunelab.domain.enums import TrainingJobStatus
from tunelab.domain.trial import TrainingJob
from tunelab.service.results_csv import ResultRow, results_csv, row_of_job, row_of_summary

START = datetime(2026, 12, 1, 0, 0, 0, tzinfo=UTC).timestamp()
START_ISO, END_ISO = "2026-12-01T00:00:00+00:00", "2026-12-01T00:00:02+00:00"


def parsed(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_columns_values_and_empty_fields() -> None:
    done = ResultRow(
        "j-001", "Completed", {"lr": "0.01", "kernel": "rbf"}, 0.25, START, START + 12.5, None
    )
    running = ResultRow(
        "j-002", "InProgress", {"lr": "0.2", "kernel": "a,b"}, None, START + 1, None, None
    )
    header, *rows = parsed(results_csv([done, running]))
    assert header == [
        "lr",
        "kernel",
        "TrainingJobName",
        "TrainingJobStatus",
        "FinalObjectiveValue",
        "TrainingStartTime",
        "TrainingEndTime",
        "TrainingElapsedTimeSeconds",
    ]
    assert rows[0] == [
        "0.01",
        "rbf",
        "j-001",
        "Completed",
        "0.25",
        "2026-12-01T00:00:00+00:00",
        "2026-12-01T00:00:12.500000+00:00",
        "12.5",
    ]
    assert rows[1] == [
        "0.2",
        "a,b",
        "j-002",
        "InProgress",
        "",
        "2026-12-01T00:00:01+00:00",
        "",
        "",
    ]


def test_columns_in_order_of_first_appearance_as_pandas_builds_them() -> None:
    """Two definitions with their own hyperparameters: the second one's come after
    the first job's fields, and the definition column only with a definition."""
    alpha = ResultRow("m-001", "Failed", {"lr": "0.1"}, None, None, None, "alpha")
    beta = ResultRow("m-002", "Completed", {"C": "3"}, 0.5, START, START + 2, "beta")
    header, first, second = parsed(results_csv([alpha, beta]))
    assert header == [
        "lr",
        "TrainingJobName",
        "TrainingJobStatus",
        "FinalObjectiveValue",
        "TrainingStartTime",
        "TrainingEndTime",
        "TrainingJobDefinitionName",
        "C",
        "TrainingElapsedTimeSeconds",
    ]
    assert first == ["0.1", "m-001", "Failed", "", "", "", "alpha", "", ""]
    assert second == ["", "m-002", "Completed", "0.5", START_ISO, END_ISO, "beta", "3", "2.0"]


def test_no_jobs_is_an_empty_header() -> None:
    assert results_csv([]) == "\r\n"


def test_a_stored_job_and_its_summary_give_the_same_line() -> None:
    job = TrainingJob(
        "j-003",
        "j",
        3,
        "alpha",
        {"lr": "0.001"},
        START - 5,
        status=TrainingJobStatus.STOPPED,
        final_objective_value=0.125,
        start_time=START,
        end_time=START + 60.25,
    )
    summary = {  # as boto3 returns it: datetimes
        "TrainingJobDefinitionName": "alpha",
        "TrainingJobName": "j-003",
        "TrainingJobStatus": "Stopped",
        "TunedHyperParameters": {"lr": "0.001"},
        "TrainingStartTime": datetime.fromtimestamp(START, UTC),
        "TrainingEndTime": datetime.fromtimestamp(START + 60.25, UTC),
        "FinalHyperParameterTuningJobObjectiveMetric": {"MetricName": "loss", "Value": 0.125},
    }
    assert results_csv([row_of_job(job)]) == results_csv([row_of_summary(summary)])
    assert parsed(results_csv([row_of_job(job)]))[1][-2:] == ["60.25", "alpha"]
