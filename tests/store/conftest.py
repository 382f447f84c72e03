"""Fixtures of the store tests: a fresh ``SqlStore`` on a SQLite file (always) and
on PostgreSQL (when ``TUNELAB_TEST_POSTGRES_URL`` is set), and ``make_*``
factories for the snapshots it stores."""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tunelab.domain.enums import ObjectiveStatus, TrainingJobStatus, TuningJobStatus
from tunelab.domain.request import parse_tuning_job
from tunelab.domain.trial import TrainingJob
from tunelab.domain.tuning_job import TuningJob
from tunelab.store.sql import SqlStore
from tunelab.store.sql.engine import make_engine
from tunelab.store.sql.schema import VERSION_TABLE, metadata

POSTGRES_URL = os.environ.get("TUNELAB_TEST_POSTGRES_URL")

REQUEST: dict[str, Any] = {
    "HyperParameterTuningJobName": "job-1",
    "HyperParameterTuningJobConfig": {
        "Strategy": "Random",
        "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "acc"},
        "ResourceLimits": {"MaxNumberOfTrainingJobs": 4, "MaxParallelTrainingJobs": 2},
        "ParameterRanges": {
            "ContinuousParameterRanges": [
                {
                    "Name": "lr",
                    "MinValue": "0.001",
                    "MaxValue": "0.1",
                    "ScalingType": "Logarithmic",
                }
            ]
        },
    },
    "TrainingJobDefinition": {
        "AlgorithmSpecification": {
            "TrainingImage": "file:///bin/true",
            "TrainingInputMode": "File",
            "MetricDefinitions": [{"Name": "acc", "Regex": "acc=([0-9.]+)"}],
        },
        "RoleArn": "arn:aws:iam::123456789012:role/tunelab",
        "OutputDataConfig": {"S3OutputPath": "file:///tmp/out"},
        "StoppingCondition": {"MaxRuntimeInSeconds": 60},
    },
}


def make_document(name: str = "job-1", **config: Any) -> dict[str, Any]:
    """The minimal request, renamed, with ``HyperParameterTuningJobConfig`` overrides."""
    document = copy.deepcopy(REQUEST)
    document["HyperParameterTuningJobName"] = name
    document["HyperParameterTuningJobConfig"].update(config)
    return document


def make_tuning_job(
    name: str = "job-1",
    creation_time: float = 1000.0,
    status: TuningJobStatus = TuningJobStatus.IN_PROGRESS,
    **changes: Any,
) -> TuningJob:
    return TuningJob(
        spec=parse_tuning_job(make_document(name)),
        status=status,
        creation_time=creation_time,
        last_modified_time=changes.pop("last_modified_time", creation_time),
        **changes,
    )


def make_training_job(
    name: str,
    tuning_job_name: str = "job-1",
    sequence: int = 1,
    creation_time: float = 1000.0,
    status: TrainingJobStatus = TrainingJobStatus.IN_PROGRESS,
    value: float | None = None,
    objective_status: ObjectiveStatus | None = None,
    **changes: Any,
) -> TrainingJob:
    if objective_status is None:
        objective_status = ObjectiveStatus.PENDING if value is None else ObjectiveStatus.SUCCEEDED
    return TrainingJob(
        name=name,
        tuning_job_name=tuning_job_name,
        sequence=sequence,
        definition_name=None,
        tuned_hyperparameters={"lr": f"{0.001 * sequence}"},
        creation_time=creation_time,
        status=status,
        objective_status=objective_status,
        final_objective_value=value,
        **changes,
    )


def _reset_postgres(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        metadata.drop_all(conn)
        conn.execute(text(f"DROP TABLE IF EXISTS {VERSION_TABLE}"))
    engine.dispose()


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param(
            "postgres",
            marks=[
                pytest.mark.postgres,
                pytest.mark.skipif(
                    POSTGRES_URL is None, reason="TUNELAB_TEST_POSTGRES_URL is not set"
                ),
            ],
        ),
    ]
)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty database: a new SQLite file, or a wiped PostgreSQL one."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'data' / 'tunelab.db'}"
    assert POSTGRES_URL is not None
    _reset_postgres(POSTGRES_URL)
    return POSTGRES_URL


@pytest.fixture
def store(store_url: str) -> Iterator[SqlStore]:
    opened = SqlStore(store_url)
    yield opened
    opened.close()


@pytest.fixture
def tuning_job(store: SqlStore) -> TuningJob:
    """``job-1``, created in ``store``."""
    return store.create_tuning_job(make_tuning_job())
