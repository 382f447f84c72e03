"""Text a user or a training program controls never makes a store write fail: NUL
(which PostgreSQL's text columns refuse) and lone surrogates (which no backend can
encode) are stored as U+FFFD, the same on SQLite and PostgreSQL; JSON columns keep them
exactly."""

from __future__ import annotations

from typing import Any

from sqlalchemy import String

from tests.store.conftest import make_document, make_training_job, make_tuning_job
from tunelab.domain.enums import TrainingJobStatus, TuningJobStatus
from tunelab.domain.request import parse_tuning_job
from tunelab.domain.trial import MetricPoint
from tunelab.domain.tuning_job import TuningJob
from tunelab.store.sql import SqlStore
from tunelab.store.sql.schema import metadata
from tunelab.store.sql.storable import storable
from tunelab.store.sql.tags import TRAINING_JOB, TUNING_JOB

PROGRAM_TEXT = "bad \x00 byte, lone \ud800 half, \x1b[31m kept \u00e9\U0001f600"
STORED = "bad \ufffd byte, lone \ufffd half, \x1b[31m kept \u00e9\U0001f600"


def test_storable_replaces_only_nul_and_lone_surrogates() -> None:
    assert storable(PROGRAM_TEXT) == STORED
    assert storable("plain ascii") == "plain ascii"
    assert storable("\ud83d\ude00") == "\ufffd\ufffd"  # a pair split in two halves
    assert storable("") == ""


def test_every_text_column_is_storable() -> None:
    """A new text column must be ``StorableString``/``StorableText`` too, or a NUL in
    it makes writes fail on PostgreSQL again."""
    plain = [
        f"{table.name}.{column.name}"
        for table in metadata.tables.values()
        for column in table.columns
        if isinstance(column.type, String)  # Text is a String; the storable types are not
    ]
    assert plain == []


def test_a_failure_reason_from_a_program(store: SqlStore, tuning_job: TuningJob) -> None:
    """The reason built from a failed program's last log lines or its output/failure
    file (hunt F4: a NUL there crashed ``tunelab run`` on PostgreSQL, and ``serve``
    reran the job forever)."""
    job = make_training_job("job-1-001")
    with store.batch() as batch:
        batch.add_training_job(job)
    failed = job.evolve(status=TrainingJobStatus.FAILED, failure_reason=PROGRAM_TEXT)
    with store.batch() as batch:
        batch.put_training_job(failed)
        batch.put_tuning_job(
            tuning_job.evolve(status=TuningJobStatus.FAILED, failure_reason=PROGRAM_TEXT)
        )
    assert store.get_training_job("job-1-001").failure_reason == STORED
    assert store.get_tuning_job("job-1").failure_reason == STORED


def test_a_metric_name_with_nul(store: SqlStore, tuning_job: TuningJob) -> None:
    with store.batch() as batch:
        batch.add_training_job(make_training_job("job-1-001"))
        batch.add_metric_points("job-1-001", [MetricPoint("m\x00one", 0.5, 10.0, 0)])
    assert store.metric_points("job-1-001") == [MetricPoint("m\ufffdone", 0.5, 10.0, 0)]


def test_tags_with_nul(store: SqlStore, tuning_job: TuningJob) -> None:
    store.tags.add(TUNING_JOB, "job-1", [("k\x00", "v\x00\ud800")])
    with store.batch() as batch:
        batch.add_training_job(make_training_job("job-1-001"))  # inherits the tag
    assert store.tags.list(TUNING_JOB, "job-1") == [("k\ufffd", "v\ufffd\ufffd")]
    assert store.tags.list(TRAINING_JOB, "job-1-001") == [("k\ufffd", "v\ufffd\ufffd")]
    store.tags.delete(TUNING_JOB, "job-1", ["k\x00"])  # the same key, as it was given
    assert store.tags.list(TUNING_JOB, "job-1") == []


def test_json_columns_keep_the_text_exactly(store: SqlStore) -> None:
    """Request documents and hyperparameters are JSON: NUL and lone surrogates are
    ``\\u`` escapes there, stored and returned as given on both backends."""
    document: dict[str, Any] = make_document("job-2")
    document["TrainingJobDefinition"]["StaticHyperParameters"] = {"s": "x\x00y\ud800z"}
    job = make_tuning_job("job-2").evolve(spec=parse_tuning_job(document))
    store.create_tuning_job(job)
    stored = store.get_tuning_job("job-2").spec.document
    assert stored["TrainingJobDefinition"]["StaticHyperParameters"] == {"s": "x\x00y\ud800z"}
    tuned = make_training_job("job-2-001", "job-2").evolve(tuned_hyperparameters={"c": "a\x00b"})
    with store.batch() as batch:
        batch.add_training_job(tuned)
    assert store.get_training_job("job-2-001").tuned_hyperparameters == {"c": "a\x00b"}
