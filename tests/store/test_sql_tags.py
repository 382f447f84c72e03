"""Tags in ``SqlStore`` (SQLite always, PostgreSQL when configured): they go with a
deleted tuning job, and the limit of 50 per resource holds under concurrent writers."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from alembic import command
from sqlalchemy import insert

from tests.store.conftest import make_training_job, make_tuning_job
from tunelab.domain.errors import ResourceNotFound, ValidationError
from tunelab.domain.tuning_job import TuningJob
from tunelab.store.sql import SqlStore
from tunelab.store.sql.engine import alembic_config, make_engine
from tunelab.store.sql.schema import tags
from tunelab.store.sql.tags import MAX_TAGS, TRAINING_JOB, TUNING_JOB


def test_deleting_a_tuning_job_deletes_its_tags(store: SqlStore) -> None:
    store.create_tuning_job(make_tuning_job())
    store.tags.add(TUNING_JOB, "job-1", [("owner", "alice")])
    with store.batch() as batch:
        batch.add_training_job(make_training_job("job-1-001"))  # inherits owner=alice
    store.delete_tuning_job("JOB-1")
    assert store.tags.list(TUNING_JOB, "job-1") == []
    # a new tuning job of the same name starts without tags; so do its training jobs
    store.create_tuning_job(make_tuning_job())
    assert store.tags.list(TUNING_JOB, "job-1") == []
    with store.batch() as batch:
        batch.add_training_job(make_training_job("job-1-002", sequence=2))
    assert store.tags.list(TRAINING_JOB, "job-1-002") == []
    # the old training job keeps the tags it was launched with
    assert store.tags.list(TRAINING_JOB, "job-1-001") == [("owner", "alice")]


def test_adding_tags_to_nothing(store: SqlStore) -> None:
    with pytest.raises(ResourceNotFound, match="Tuning job 'absent' does not exist"):
        store.tags.add(TUNING_JOB, "absent", [("a", "b")])
    assert store.tags.list(TUNING_JOB, "absent") == []


def test_the_limit_counts_the_keys_present(store: SqlStore, tuning_job: TuningJob) -> None:
    store.tags.add(TUNING_JOB, "job-1", [(f"k{i}", "") for i in range(MAX_TAGS - 1)])
    store.tags.add(TUNING_JOB, "job-1", [("k0", "new"), ("last", "")])  # 50 keys
    with pytest.raises(ValidationError) as refused:
        store.tags.add(TUNING_JOB, "job-1", [("k1", "x"), ("one-too-many", "")])
    assert str(refused.value) == "Tags: a resource has at most 50 tags; this would make 51"
    found = dict(store.tags.list(TUNING_JOB, "job-1"))
    assert len(found) == MAX_TAGS and found["k0"] == "new" and found["k1"] == ""


def race(store_url: str, add: Callable[[SqlStore, int], None], writers: int) -> list[str]:
    """Run ``add(store, index)`` in ``writers`` threads, each with its own store, all
    released at once; the outcome of each ("ok" or the error's class name)."""
    stores = [SqlStore(store_url) for _ in range(writers)]
    barrier = threading.Barrier(writers)
    outcomes = [""] * writers

    def run(index: int) -> None:
        barrier.wait()
        try:
            add(stores[index], index)
            outcomes[index] = "ok"
        except Exception as error:  # recorded, asserted on
            outcomes[index] = type(error).__name__

    threads = [threading.Thread(target=run, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for opened in stores:
        opened.close()
    return outcomes


@pytest.mark.parametrize("resource_type", [TUNING_JOB, TRAINING_JOB])
def test_concurrent_adds_never_pass_the_limit(
    store_url: str, store: SqlStore, tuning_job: TuningJob, resource_type: str
) -> None:
    with store.batch() as batch:
        batch.add_training_job(make_training_job("job-1-001"))
    name = "job-1" if resource_type == TUNING_JOB else "job-1-001"

    def add(writer: SqlStore, index: int) -> None:
        writer.tags.add(resource_type, name, [(f"w{index}-{i:02d}", "") for i in range(30)])

    for _ in range(3):
        present = [key for key, _ in store.tags.list(resource_type, name)]
        store.tags.delete(resource_type, name, present)
        outcomes = race(store_url, add, writers=4)
        assert sorted(outcomes) == ["ValidationError"] * 3 + ["ok"]
        assert len(store.tags.list(resource_type, name)) == 30


def test_migration_forgets_tags_of_deleted_tuning_jobs(store_url: str) -> None:
    """Databases written before DeleteHyperParameterTuningJob removed tags keep them
    until migration 0006 removes those whose tuning job is gone."""
    first = SqlStore(store_url)
    first.create_tuning_job(make_tuning_job("kept"))
    first.tags.add(TUNING_JOB, "kept", [("a", "1")])
    first.close()
    engine = make_engine(store_url)
    with engine.connect() as conn, conn.begin():
        command.downgrade(alembic_config(conn), "0005")
        left = {"resource_type": TUNING_JOB, "resource_key": "deleted", "key": "a", "value": "2"}
        conn.execute(insert(tags), [left, {**left, "resource_type": TRAINING_JOB}])
    engine.dispose()
    again = SqlStore(store_url)
    assert again.migrated
    assert again.tags.list(TUNING_JOB, "kept") == [("a", "1")]
    assert again.tags.list(TUNING_JOB, "deleted") == []
    assert again.tags.list(TRAINING_JOB, "deleted") == [("a", "2")]  # training jobs stay
    again.close()
