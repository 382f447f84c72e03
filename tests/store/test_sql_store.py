"""SqlStore on real databases: a SQLite file always, PostgreSQL when configured."""

from __future__ import annotations

import dataclasses
import inspect
import multiprocessing
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.store.conftest import make_document, make_training_job, make_tuning_job
from tunelab.domain.enums import (
    ObjectiveStatus,
    ObjectiveType,
    SecondaryStatus,
    TrainingJobStatus,
    TuningJobStatus,
)
from tunelab.domain.errors import ConflictError, ResourceInUse, ResourceNotFound
from tunelab.domain.request import parse_tuning_job
from tunelab.domain.trial import MetricPoint
from tunelab.domain.tuning_job import TuningJob
from tunelab.store.base import (
    Counters,
    DatabaseVersionError,
    Lease,
    Store,
    StoreBatch,
    TrainingJobQuery,
    TuningJobQuery,
    iterate_training_jobs,
)
from tunelab.store.sql import SqlStore, SqlStoreBatch
from tunelab.store.sql.engine import alembic_config, make_engine
from tunelab.store.sql.schema import HEAD_REVISION, VERSION_TABLE, metadata


def test_implements_the_store_protocol() -> None:
    """Every method of ``Store`` and ``StoreBatch``, with the same parameters."""
    for protocol, implementation in ((Store, SqlStore), (StoreBatch, SqlStoreBatch)):
        for name, member in vars(protocol).items():
            if name.startswith("_") or not callable(member):
                continue
            expected = inspect.signature(member).parameters
            actual = inspect.signature(getattr(implementation, name)).parameters
            assert list(actual) == list(expected), f"{implementation.__name__}.{name}"


# -- tuning jobs -------------------------------------------------------------------


def test_create_and_get_round_trip(store: SqlStore) -> None:
    job = make_tuning_job("MyJob", creation_time=1234.5, jobs_not_improving=2)
    assert store.create_tuning_job(job) == job
    got = store.get_tuning_job("MyJob")
    assert got == job
    assert got.spec.document == make_document("MyJob")
    assert got.spec == parse_tuning_job(make_document("MyJob"))


def test_lookup_ignores_case(store: SqlStore) -> None:
    store.create_tuning_job(make_tuning_job("MyJob"))
    assert store.get_tuning_job("myjob").name == "MyJob"
    assert store.get_tuning_job("MYJOB").name == "MyJob"


def test_missing_tuning_job(store: SqlStore) -> None:
    with pytest.raises(ResourceNotFound, match="Tuning job 'nope' does not exist"):
        store.get_tuning_job("nope")
    with pytest.raises(ResourceNotFound):
        store.delete_tuning_job("nope")


def test_duplicate_name_refused_in_any_case(store: SqlStore) -> None:
    store.create_tuning_job(make_tuning_job("myjob"))
    with pytest.raises(ResourceInUse) as caught:
        store.create_tuning_job(make_tuning_job("MyJob"))
    assert str(caught.value) == (
        "Tuning job 'MyJob' already exists (names are not case sensitive: 'myjob' is taken)"
    )
    assert caught.value.code == "ResourceInUse"
    with pytest.raises(ResourceInUse, match=r"^Tuning job 'myjob' already exists$"):
        store.create_tuning_job(make_tuning_job("myjob"))
    assert store.get_tuning_job("MYJOB").name == "myjob"


def test_put_bumps_version(store: SqlStore, tuning_job: TuningJob) -> None:
    changed = dataclasses.replace(tuning_job, status=TuningJobStatus.STOPPING, end_time=9.0)
    with store.batch() as batch:
        stored = batch.put_tuning_job(changed)
    assert stored.version == tuning_job.version + 1
    assert store.get_tuning_job("job-1") == stored


def test_put_of_stale_snapshot_conflicts(store: SqlStore, tuning_job: TuningJob) -> None:
    with store.batch() as batch:
        batch.put_tuning_job(dataclasses.replace(tuning_job, jobs_not_improving=1))
    with pytest.raises(ConflictError, match="expected version 1, found 2"), store.batch() as b:
        b.put_tuning_job(dataclasses.replace(tuning_job, status=TuningJobStatus.FAILED))
    assert store.get_tuning_job("job-1").status is TuningJobStatus.IN_PROGRESS


def test_put_losing_race_at_commit_writes_nothing(store_url: str, tuning_job: TuningJob) -> None:
    other = SqlStore(store_url)
    with pytest.raises(ConflictError), other.batch() as batch:
        batch.save_strategy_state("job-1", {"v": 1})
        batch.put_tuning_job(dataclasses.replace(tuning_job, jobs_not_improving=5))
        with SqlStore(store_url) as third, third.batch() as winner:  # between check and commit
            winner.put_tuning_job(dataclasses.replace(tuning_job, jobs_not_improving=7))
    assert other.get_tuning_job("job-1").jobs_not_improving == 7
    assert other.strategy_state("job-1") is None
    other.close()


def test_put_with_new_request_rewrites_document(store_url: str, tuning_job: TuningJob) -> None:
    reader = SqlStore(store_url)
    assert reader.get_tuning_job("job-1").spec.tags == ()
    document = {**make_document(), "Tags": [{"Key": "team", "Value": "ml"}]}
    tagged = dataclasses.replace(tuning_job, spec=parse_tuning_job(document))
    with SqlStore(store_url) as writer, writer.batch() as batch:
        batch.put_tuning_job(tagged)
    got = reader.get_tuning_job("job-1")  # a cached spec of version 1 must not be used
    assert got.spec.tags == (("team", "ml"),)
    assert got.spec.document == document
    reader.close()


def test_delete_keeps_training_jobs(store: SqlStore, tuning_job: TuningJob) -> None:
    with store.batch() as batch:
        batch.add_training_job(make_training_job("job-1-001", value=0.5))
        batch.add_metric_points("job-1-001", [MetricPoint("acc", 0.5, 10.0, 0)])
        batch.save_strategy_state("job-1", {"seed": 1})
    store.swap_lease("job-1", None, Lease("me", 99.0))
    store.delete_tuning_job("JOB-1")
    with pytest.raises(ResourceNotFound):
        store.get_tuning_job("job-1")
    assert store.strategy_state("job-1") is None
    with pytest.raises(ResourceNotFound):
        store.get_lease("job-1")
    assert store.get_training_job("job-1-001").tuning_job_name == "job-1"
    assert store.metric_points("job-1-001") == [MetricPoint("acc", 0.5, 10.0, 0)]
    orphans = store.list_training_jobs(TrainingJobQuery("job-1")).items
    assert [j.name for j in orphans] == ["job-1-001"]
    # a new tuning job of the same name starts with no training jobs of its own
    store.create_tuning_job(make_tuning_job("job-1"))
    assert store.list_training_jobs(TrainingJobQuery("job-1")).items == []
    assert store.counters("job-1") == Counters()


# -- leases ------------------------------------------------------------------------


def test_lease_compare_and_set(store: SqlStore, tuning_job: TuningJob) -> None:
    mine, theirs = Lease("me", 100.0), Lease("them", 200.0)
    assert store.get_lease("job-1") is None
    assert store.swap_lease("job-1", None, mine)
    assert not store.swap_lease("job-1", None, theirs)
    assert store.get_lease("job-1") == mine
    assert not store.swap_lease("job-1", Lease("me", 100.5), theirs)  # stale expiry
    renewed = Lease("me", 100.0 + 1 / 3)
    assert store.swap_lease("job-1", mine, renewed)
    assert store.swap_lease("job-1", renewed, theirs)
    assert store.get_lease("job-1") == theirs
    assert store.swap_lease("job-1", theirs, None)
    assert store.get_lease("job-1") is None
    assert store.get_tuning_job("job-1").version == tuning_job.version
    with pytest.raises(ResourceNotFound):
        store.swap_lease("nope", None, mine)


def test_training_job_lease_compare_and_set(store: SqlStore) -> None:
    """A standalone training job's lease: compare-and-set as a tuning job's, kept by
    ``put_training_job`` (which rewrites the row's other columns)."""
    job = make_training_job("solo", tuning_job_name=None)  # type: ignore[arg-type]
    store.create_training_job(job, {"TrainingJobName": "solo"})
    mine, theirs = Lease("me", 100.0), Lease("them", 200.0)
    assert store.get_training_job_lease("SOLO") is None
    assert store.swap_training_job_lease("solo", None, mine)
    assert not store.swap_training_job_lease("solo", None, theirs)
    with store.batch() as batch:
        batch.put_training_job(job.evolve(status=TrainingJobStatus.STOPPING))
    assert store.get_training_job_lease("solo") == mine
    assert store.get_training_job("solo").status is TrainingJobStatus.STOPPING
    assert not store.swap_training_job_lease("solo", Lease("me", 100.5), theirs)
    assert store.swap_training_job_lease("solo", mine, theirs)
    assert store.swap_training_job_lease("solo", theirs, None)
    assert store.get_training_job_lease("solo") is None
    with pytest.raises(ResourceNotFound, match="Training job 'nope' does not exist"):
        store.get_training_job_lease("nope")
    with pytest.raises(ResourceNotFound, match="Training job 'nope' does not exist"):
        store.swap_training_job_lease("nope", None, mine)


def test_stop_requests_for_the_process_that_runs_the_job(
    store: SqlStore, tuning_job: TuningJob
) -> None:
    with store.batch() as batch:
        batch.add_training_job(make_training_job("job-1-001"))
        batch.add_training_job(make_training_job("job-1-002", sequence=2))
    before = store.get_training_job("job-1-001")
    assert store.stop_requested(["job-1-001", "job-1-002"]) == set()
    store.request_training_job_stop("JOB-1-001", 5.0)
    store.request_training_job_stop("job-1-001", 6.0)  # asked twice
    assert store.stop_requested(["job-1-001", "job-1-002", "nope"]) == {"job-1-001"}
    assert store.stop_requested([]) == set()
    assert store.get_training_job("job-1-001") == before  # the job itself is unchanged
    with store.batch() as batch:  # the driver's writes keep the request
        batch.put_training_job(before.evolve(status=TrainingJobStatus.STOPPING))
    assert store.stop_requested(["job-1-001"]) == {"job-1-001"}
    with pytest.raises(ResourceNotFound, match="Training job 'nope' does not exist"):
        store.request_training_job_stop("nope", 5.0)


# -- batches -----------------------------------------------------------------------


def test_exception_in_batch_writes_nothing(store: SqlStore, tuning_job: TuningJob) -> None:
    with pytest.raises(RuntimeError, match="boom"), store.batch() as batch:
        batch.add_training_job(make_training_job("job-1-001"))
        batch.add_metric_points("job-1-001", [MetricPoint("acc", 0.1, 1.0, 0)])
        batch.save_strategy_state("job-1", {"x": 1})
        batch.put_tuning_job(dataclasses.replace(tuning_job, jobs_not_improving=3))
        raise RuntimeError("boom")
    assert store.list_training_jobs(TrainingJobQuery("job-1")).items == []
    assert store.metric_points("job-1-001") == []
    assert store.strategy_state("job-1") is None
    assert store.get_tuning_job("job-1") == tuning_job


def test_failing_write_rolls_back_the_whole_batch(store: SqlStore, tuning_job: TuningJob) -> None:
    with store.batch() as batch:
        batch.add_training_job(make_training_job("job-1-001"))
    taken = pytest.raises(ResourceInUse, match="Training job 'JOB-1-001' already exists")
    with taken, store.batch() as batch:
        batch.add_training_job(make_training_job("job-1-002", sequence=2))
        batch.save_strategy_state("job-1", {"x": 1})
        batch.add_training_job(make_training_job("JOB-1-001"))
    assert [j.name for j in iterate_training_jobs(store, TrainingJobQuery("job-1"))] == [
        "job-1-001"
    ]
    assert store.strategy_state("job-1") is None
    unknown = pytest.raises(ResourceNotFound, match="Tuning job 'nope' does not exist")
    with unknown, store.batch() as batch:
        batch.add_training_job(make_training_job("x", tuning_job_name="nope"))
    ghost = pytest.raises(ResourceNotFound, match="Training job 'ghost' does not exist")
    with ghost, store.batch() as batch:
        batch.add_metric_points("ghost", [MetricPoint("acc", 0.1, 1.0, 0)])


def test_training_job_round_trip(store: SqlStore, tuning_job: TuningJob) -> None:
    job = make_training_job("job-1-001", creation_time=5.0)
    with store.batch() as batch:
        batch.add_training_job(job)
    assert store.get_training_job("JOB-1-001") == job
    done = (
        job.transition(SecondaryStatus.TRAINING, 6.0, "Training image download completed.")
        .transition(SecondaryStatus.COMPLETED, 9.5)
        .evolve(
            status=TrainingJobStatus.COMPLETED,
            objective_status=ObjectiveStatus.SUCCEEDED,
            final_objective_value=0.93,
            start_time=5.5,
            end_time=9.5,
            attempt=2,
            pid=4242,
            pid_start_time=2**40,
            exit_code=0,
            failure_reason="none",
        )
    )
    with store.batch() as batch:
        batch.put_training_job(done)
    assert store.get_training_job("job-1-001") == done
    with pytest.raises(ResourceNotFound, match="Training job 'other' does not exist"):
        store.get_training_job("other")
    with pytest.raises(ResourceNotFound), store.batch() as batch:
        batch.put_training_job(dataclasses.replace(done, name="other"))


def test_metric_points_round_trip(store: SqlStore, tuning_job: TuningJob) -> None:
    points = [MetricPoint("acc", 0.1 * i, 100.0 + i, i) for i in range(5)]
    losses = [MetricPoint("loss", 1.0 / (i + 1), 100.0 + i, i) for i in range(3)]
    with store.batch() as batch:
        batch.add_training_job(make_training_job("job-1-001"))
        batch.add_metric_points("job-1-001", points[:2])
        batch.add_metric_points("job-1-001", [])
    with store.batch() as batch:
        batch.add_metric_points("JOB-1-001", points[2:])
        batch.add_metric_points("job-1-001", losses)
    assert store.metric_points("job-1-001") == points + losses
    assert store.metric_points("unknown") == []


def test_delete_metric_points_for_a_retry(store: SqlStore, tuning_job: TuningJob) -> None:
    first = [MetricPoint("acc", 0.1 * i, 100.0 + i, i) for i in range(3)]
    with store.batch() as batch:
        batch.add_training_job(make_training_job("job-1-001"))
        batch.add_training_job(make_training_job("job-1-002", sequence=2))
        batch.add_metric_points("job-1-001", first)
        batch.add_metric_points("job-1-002", first)
    retry = [MetricPoint("acc", 0.9, 200.0, 0)]
    with store.batch() as batch:
        batch.delete_metric_points("JOB-1-001")
        batch.put_training_job(make_training_job("job-1-001", attempt=2))
        batch.add_metric_points("job-1-001", retry)
    assert store.metric_points("job-1-001") == retry
    assert store.metric_points("job-1-002") == first
    assert store.get_training_job("job-1-001").attempt == 2
    with pytest.raises(ResourceNotFound), store.batch() as batch:
        batch.delete_metric_points("ghost")


def test_strategy_state_round_trip(store: SqlStore, tuning_job: TuningJob) -> None:
    assert store.strategy_state("job-1") is None
    state = {"version": 1, "rng": [1, 2, 3], "observed": {"a": 0.5, "b": None}}
    with store.batch() as batch:
        batch.save_strategy_state("job-1", state)
    assert store.strategy_state("JOB-1") == state
    with store.batch() as batch:
        batch.save_strategy_state("job-1", {"version": 2})
    assert store.strategy_state("job-1") == {"version": 2}


# -- counters and best job ---------------------------------------------------------


def _add(store: SqlStore, *jobs: object) -> None:
    with store.batch() as batch:
        for job in jobs:
            batch.add_training_job(job)  # type: ignore[arg-type]


def test_counters(store: SqlStore, tuning_job: TuningJob) -> None:
    S, Obj = TrainingJobStatus, ObjectiveStatus
    _add(
        store,
        make_training_job("a", status=S.COMPLETED, value=1.0),
        make_training_job("b", status=S.COMPLETED, value=2.0),
        make_training_job("c", status=S.IN_PROGRESS),
        make_training_job("d", status=S.STOPPING),
        make_training_job("e", status=S.FAILED, objective_status=Obj.FAILED),
        make_training_job("f", status=S.STOPPED, value=0.5),
    )
    counters = store.counters("JOB-1")
    assert counters == Counters(
        completed=2,
        in_progress=2,
        non_retryable_error=1,
        stopped=1,
        objective_succeeded=3,
        objective_pending=2,
        objective_failed=1,
    )
    assert counters.total == 6
    assert store.counters("nope") == Counters()


def test_best_training_job_both_directions_and_ties(
    store: SqlStore, tuning_job: TuningJob
) -> None:
    assert store.best_training_job("job-1", ObjectiveType.MAXIMIZE) is None
    _add(
        store,
        make_training_job("b-late-high", creation_time=20.0, value=0.9),
        make_training_job("z-early-high", creation_time=10.0, value=0.9),
        make_training_job("a-early-high", creation_time=10.0, value=0.9),
        make_training_job("low", creation_time=1.0, value=0.1),
        make_training_job("low-late", creation_time=2.0, value=0.1),
        make_training_job("failed", value=5.0, objective_status=ObjectiveStatus.FAILED),
        make_training_job("pending", value=-5.0, objective_status=ObjectiveStatus.PENDING),
        make_training_job("no-value", objective_status=ObjectiveStatus.SUCCEEDED),
    )
    best = store.best_training_job("job-1", ObjectiveType.MAXIMIZE)
    assert best is not None and best.name == "a-early-high"
    best = store.best_training_job("job-1", ObjectiveType.MINIMIZE)
    assert best is not None and best.name == "low"


# -- listing -----------------------------------------------------------------------


def _pages(fetch, query):  # type: ignore[no-untyped-def]
    """Every page of ``query``, following the cursors."""
    pages = []
    while True:
        page = fetch(query)
        pages.append([item.name for item in page.items])
        if page.next_cursor is None:
            return pages
        query = dataclasses.replace(query, after=page.next_cursor)


def _flat(pages: list[list[str]]) -> list[str]:
    return [name for page in pages for name in page]


def test_list_tuning_jobs_pages_filters_and_sorts(store: SqlStore) -> None:
    statuses = [TuningJobStatus.COMPLETED, TuningJobStatus.IN_PROGRESS, TuningJobStatus.FAILED]
    for i in range(25):  # creation times tie in threes, statuses repeat
        store.create_tuning_job(
            make_tuning_job(
                f"Tune-{i:02d}",
                creation_time=100.0 + i // 3,
                status=statuses[i % 3],
                last_modified_time=500.0 + i,
            )
        )
    names = [f"Tune-{i:02d}" for i in range(25)]
    pages = _pages(
        store.list_tuning_jobs, TuningJobQuery(sort_by="Name", sort_order="Ascending", limit=10)
    )
    assert [len(p) for p in pages] == [10, 10, 5]
    assert _flat(pages) == names
    pages = _pages(store.list_tuning_jobs, TuningJobQuery(sort_order="Descending", limit=10))
    expected = sorted(names, key=lambda n: (100 + int(n[-2:]) // 3, n), reverse=True)
    assert _flat(pages) == expected
    query = TuningJobQuery(sort_by="Status", sort_order="Ascending", limit=4)
    expected = sorted(names, key=lambda n: (statuses[int(n[-2:]) % 3].value, n))
    assert _flat(_pages(store.list_tuning_jobs, query)) == expected
    everything = store.list_tuning_jobs(TuningJobQuery())
    assert len(everything.items) == 25 and everything.next_cursor is None
    exact = store.list_tuning_jobs(TuningJobQuery(limit=25))
    assert len(exact.items) == 25 and exact.next_cursor is None

    def names_of(**filters: object) -> list[str]:
        query = TuningJobQuery(sort_by="Name", sort_order="Ascending", **filters)  # type: ignore[arg-type]
        return [j.name for j in store.list_tuning_jobs(query).items]

    assert names_of(name_contains="NE-1") == [f"Tune-1{i}" for i in range(10)]
    assert names_of(name_contains="%") == []
    assert names_of(status=TuningJobStatus.FAILED) == names[2::3]
    assert names_of(created_after=106.0, created_before=108.0) == ["Tune-21", "Tune-22", "Tune-23"]
    assert names_of(modified_after=522.0) == ["Tune-23", "Tune-24"]
    assert names_of(modified_before=501.0) == ["Tune-00"]


def test_list_training_jobs_pages_and_sorts(store: SqlStore, tuning_job: TuningJob) -> None:
    store.create_tuning_job(make_tuning_job("other"))
    jobs = [
        make_training_job(
            f"job-1-{i:03d}",
            sequence=i,
            creation_time=float(i % 5),
            status=TrainingJobStatus.COMPLETED if i % 2 else TrainingJobStatus.FAILED,
            value=None if i % 4 == 0 else float(i % 7),
        )
        for i in range(25)
    ]
    _add(store, *jobs, make_training_job("other-001", tuning_job_name="other"))
    list_ = store.list_training_jobs
    pages = _pages(list_, TrainingJobQuery("job-1", limit=10))
    assert [len(p) for p in pages] == [10, 10, 5]
    assert _flat(pages) == [j.name for j in jobs]
    query = TrainingJobQuery("JOB-1", sort_by="FinalObjectiveMetricValue", limit=10)
    valued = [j for j in jobs if j.final_objective_value is not None]
    expected = [j.name for j in sorted(valued, key=lambda j: (j.final_objective_value, j.name))]
    assert len(valued) == 18
    assert _flat(_pages(list_, query)) == expected
    query = dataclasses.replace(query, sort_order="Descending", limit=7)
    assert _flat(_pages(list_, query)) == expected[::-1]
    query = TrainingJobQuery("job-1", sort_by="CreationTime", sort_order="Descending", limit=3)
    expected = [j.name for j in sorted(jobs, key=lambda j: (j.creation_time, j.name))][::-1]
    assert _flat(_pages(list_, query)) == expected
    query = TrainingJobQuery("job-1", status=TrainingJobStatus.COMPLETED, sort_by="Status")
    assert [j.name for j in list_(query).items] == [j.name for j in jobs[1::2]]
    assert len(list(iterate_training_jobs(store, TrainingJobQuery("job-1", limit=4)))) == 25


# -- files, processes, migrations --------------------------------------------------


def test_two_stores_on_one_file(store_url: str) -> None:
    first, second = SqlStore(store_url), SqlStore(store_url)
    first.create_tuning_job(make_tuning_job())
    assert second.get_tuning_job("job-1").name == "job-1"
    with second.batch() as batch:
        batch.add_training_job(make_training_job("job-1-001", value=0.7))
    best = first.best_training_job("job-1", ObjectiveType.MAXIMIZE)
    assert best is not None and best.name == "job-1-001"
    first.close()
    second.close()


def _writer_process(url: str, worker: int, count: int) -> None:
    store = SqlStore(url)
    for i in range(count):
        with store.batch() as batch:
            batch.add_training_job(make_training_job(f"w{worker}-{i}", sequence=i))
            batch.add_metric_points(f"w{worker}-{i}", [MetricPoint("acc", 0.5, 1.0, 0)])
            batch.save_strategy_state("job-1", {"worker": worker, "i": i})
        store.swap_lease("job-1", store.get_lease("job-1"), Lease(f"w{worker}", float(i)))
    store.close()


def test_several_processes_write_one_file(store_url: str) -> None:
    with SqlStore(store_url) as store:
        store.create_tuning_job(make_tuning_job())
        context = multiprocessing.get_context("fork")
        workers = [
            context.Process(target=_writer_process, args=(store_url, w, 40)) for w in range(4)
        ]
        for process in workers:
            process.start()
        for _ in range(40):  # a reader meanwhile (describe)
            store.counters("job-1")
            store.get_tuning_job("job-1")
        for process in workers:
            process.join(60)
        assert [p.exitcode for p in workers] == [0] * 4
        assert store.counters("job-1").in_progress == 160
        assert len(store.metric_points("w3-39")) == 1


def _try_to_take_lease(url: str, owner: str) -> bool:
    with SqlStore(url) as store:
        return store.swap_lease("job-1", None, Lease(owner, 60.0))


def test_one_process_wins_the_lease(store_url: str) -> None:
    with SqlStore(store_url) as store:
        store.create_tuning_job(make_tuning_job())
    with multiprocessing.get_context("fork").Pool(4) as pool:
        won = pool.starmap(_try_to_take_lease, [(store_url, f"p{i}") for i in range(8)])
    assert won.count(True) == 1
    with SqlStore(store_url) as store:
        assert store.get_lease("job-1") == Lease(f"p{won.index(True)}", 60.0)


def test_sqlite_file_settings(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "t.db"
    SqlStore(f"sqlite:///{path}").close()
    engine = make_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        pragma = {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "busy_timeout", "synchronous", "foreign_keys")
        }
    engine.dispose()
    assert pragma == {
        "journal_mode": "wal",
        "busy_timeout": 30000,
        "synchronous": 1,
        "foreign_keys": 1,
    }


@pytest.mark.filterwarnings(  # SQLite cannot reflect the log-order expression index
    "ignore:.*expression-based index ix_training_jobs_log_stream_order",
    "ignore:.*expression-based index 'ix_training_jobs_log_stream_order'",
)
def test_reopen_runs_no_migration_and_schema_matches(store_url: str) -> None:
    first = SqlStore(store_url)
    first.create_tuning_job(make_tuning_job())
    first.close()
    again = SqlStore(store_url)
    assert not again.migrated
    assert again.get_tuning_job("job-1").name == "job-1"
    again.close()
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head == HEAD_REVISION
    engine = make_engine(store_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
        assert context.get_current_revision() == HEAD_REVISION
        assert compare_metadata(context, metadata) == []
    engine.dispose()


def test_old_database_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:  # a file from before tunelab had tables in it
        db.execute("CREATE TABLE unrelated (x)")
    store = SqlStore(f"sqlite:///{path}")
    assert store.migrated
    store.create_tuning_job(make_tuning_job())
    store.close()
    engine = make_engine(f"sqlite:///{path}")  # back to an empty schema, then reopen
    with engine.connect() as conn, conn.begin():
        command.downgrade(alembic_config(conn), "base")
    engine.dispose()
    store = SqlStore(f"sqlite:///{path}")
    assert store.migrated
    assert store.list_tuning_jobs(TuningJobQuery()).items == []
    store.close()


def test_in_memory_store() -> None:
    with SqlStore("sqlite://") as store:
        store.create_tuning_job(make_tuning_job())
        with store.batch() as batch:
            batch.add_training_job(make_training_job("job-1-001"))
        assert store.counters("job-1").in_progress == 1


def test_batch_and_get_are_fast(tmp_path: Path) -> None:
    """The orchestrator's tick: a loose bound here; measured figures are in the report."""
    with SqlStore(f"sqlite:///{tmp_path / 't.db'}") as store:
        job = store.create_tuning_job(make_tuning_job())
        durations = []
        for i in range(50):
            started = time.perf_counter()
            with store.batch() as batch:
                batch.add_training_job(make_training_job(f"t-{i}", sequence=i))
                if i:
                    batch.put_training_job(make_training_job(f"t-{i - 1}", value=0.5))
                batch.add_metric_points(
                    f"t-{i}", [MetricPoint("acc", 0.1, 1.0, s) for s in range(3)]
                )
                batch.save_strategy_state("job-1", {"i": i})
            durations.append(time.perf_counter() - started)
        assert sorted(durations)[25] < 0.02
        started = time.perf_counter()
        for _ in range(50):
            assert store.get_tuning_job("job-1") == job
        assert (time.perf_counter() - started) / 50 < 0.005


# -- pagination, as a property -------------------------------------------------------

NAMES = [f"p-{i:02d}" for i in range(30)]


@pytest.fixture(scope="module")
def paged_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqlStore]:
    """30 training jobs whose sort keys tie a lot (3 creation times, 3 values)."""
    with SqlStore(f"sqlite:///{tmp_path_factory.mktemp('paged') / 't.db'}") as store:
        store.create_tuning_job(make_tuning_job())
        _add(
            store,
            *(
                make_training_job(
                    name,
                    sequence=i,
                    creation_time=float(i * 7 % 3),
                    status=list(TrainingJobStatus)[i * 5 % 5],
                    value=[None, 0.5, 1.0][i * 11 % 3],
                )
                for i, name in enumerate(NAMES)
            ),
        )
        yield store


@settings(max_examples=60, deadline=None)
@given(
    sort_by=st.sampled_from(["Name", "CreationTime", "Status", "FinalObjectiveMetricValue"]),
    descending=st.booleans(),
    limit=st.integers(1, 12),
    status=st.none() | st.sampled_from(list(TrainingJobStatus)),
)
def test_pages_concatenate_to_the_sorted_list(
    paged_store: SqlStore, sort_by: str, descending: bool, limit: int, status: object
) -> None:
    everything = paged_store.list_training_jobs(TrainingJobQuery("job-1")).items
    field = {
        "Name": "name",
        "CreationTime": "creation_time",
        "Status": "status",
        "FinalObjectiveMetricValue": "final_objective_value",
    }[sort_by]
    expected = [
        j
        for j in everything
        if (status is None or j.status == status) and getattr(j, field) is not None
    ]
    expected.sort(key=lambda j: (getattr(j, field), j.name), reverse=descending)
    query = TrainingJobQuery(
        "job-1",
        status=status,  # type: ignore[arg-type]
        sort_by=sort_by,  # type: ignore[arg-type]
        sort_order="Descending" if descending else "Ascending",
        limit=limit,
    )
    pages = _pages(paged_store.list_training_jobs, query)
    assert _flat(pages) == [j.name for j in expected]
    assert all(len(page) == limit for page in pages[:-1])


def test_a_database_a_newer_tunelab_wrote_is_refused_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "newer.db"
    with SqlStore(f"sqlite:///{path}") as store:
        store.create_tuning_job(make_tuning_job())
    newer = f"{int(HEAD_REVISION) + 1:04d}"
    with sqlite3.connect(path) as db:
        db.execute(f"UPDATE {VERSION_TABLE} SET version_num = ?", (newer,))
    with pytest.raises(DatabaseVersionError, match=f"has schema revision {newer}, newer"):
        SqlStore(f"sqlite:///{path}")
    with sqlite3.connect(path) as db:
        assert db.execute(f"SELECT version_num FROM {VERSION_TABLE}").fetchall() == [(newer,)]
        assert db.execute("SELECT count(*) FROM tuning_jobs").fetchone() == (1,)
