"""``SqlStore.training_jobs_in_log_order``: training jobs in their log streams' order
(``<name>/``, or creation time then name), a batch after a keyset cursor, read through an
index (SQLite's query plan searches it: no scan of every job, no sort of them all)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from tests.store.conftest import make_training_job, make_tuning_job
from tunelab.store.base import LogOrderQuery
from tunelab.store.sql.store import SqlStore

NAMES = ["a", "a-b", "a0", "B", "ab", "a-b-c"]


@pytest.fixture
def store(tmp_path: Path) -> Any:
    opened = SqlStore(f"sqlite:///{tmp_path / 'tunelab.db'}")
    opened.create_tuning_job(make_tuning_job())
    with opened.batch() as batch:
        for k, name in enumerate(NAMES):
            batch.add_training_job(make_training_job(name, creation_time=100.0 - k % 3))
    yield opened
    opened.close()


def names(store: SqlStore, **query: Any) -> list[str]:
    return [job.name for job in store.training_jobs_in_log_order(LogOrderQuery(**query))]


def test_jobs_come_in_their_streams_order_after_the_cursor(store: SqlStore) -> None:
    assert names(store) == ["B", "a-b-c", "a-b", "a", "a0", "ab"]  # as "<name>/" sorts
    assert names(store, after=("a-b",), limit=2) == ["a", "a0"]
    assert names(store, descending=True, after=("a",)) == ["a-b", "a-b-c", "B"]
    assert names(store, name_prefix="a-") == ["a-b-c", "a-b"]
    assert names(store, name_prefix="a-b", descending=True) == ["a-b", "a-b-c"]
    by_time = names(store, by_creation=True)
    assert by_time == ["a-b-c", "a0", "a-b", "ab", "B", "a"]  # (creation, name)
    assert names(store, by_creation=True, after=(99.0, "a-b")) == ["ab", "B", "a"]
    assert names(store, by_creation=True, descending=True, after=(99.0, "a-b")) == [
        "a0",
        "a-b-c",
    ]


@pytest.mark.parametrize("by_creation", [False, True])
def test_a_batch_is_read_through_an_index(store: SqlStore, by_creation: bool) -> None:
    statements: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "FROM training_jobs" in statement and "LIMIT" in statement:
            statements.append((statement, parameters))

    event.listen(store._engine, "before_cursor_execute", record)
    after = (99.0, "a-b") if by_creation else ("a-b",)
    store.training_jobs_in_log_order(LogOrderQuery(by_creation, after=after, limit=2))
    event.remove(store._engine, "before_cursor_execute", record)
    [(statement, parameters)] = statements
    with store._engine.connect() as conn:
        plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
    steps = " | ".join(row[-1] for row in plan)
    index = (
        "ix_training_jobs_creation_time" if by_creation else "ix_training_jobs_log_stream_order"
    )
    assert f"SEARCH training_jobs USING INDEX {index}" in steps, steps
    assert "USE TEMP B-TREE FOR ORDER BY" not in steps, steps
