"""Fenced batches: a batch that requires a lease commits only while its owner holds it,
checked in the commit's own transaction, so a driver that lost its job to another
process cannot write over what the new holder stores (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading

import pytest

from tests.store.conftest import make_training_job, make_tuning_job
from tunelab.domain.enums import TrainingJobStatus
from tunelab.domain.errors import ConflictError
from tunelab.domain.trial import MetricPoint
from tunelab.domain.tuning_job import TuningJob
from tunelab.store.base import Lease, LeaseLost, TrainingJobQuery
from tunelab.store.sql import SqlStore

MINE, THEIRS = Lease("me", 100.0), Lease("them", 200.0)


def test_a_fenced_batch_commits_while_its_owner_holds_the_lease(
    store: SqlStore, tuning_job: TuningJob
) -> None:
    assert store.swap_lease("job-1", None, MINE)
    with store.batch() as batch:
        batch.require_lease("job-1", "me")
        batch.add_training_job(make_training_job("job-1-001"))
        stored = batch.put_tuning_job(tuning_job.evolve(jobs_not_improving=1))
    assert store.get_training_job("job-1-001").status is TrainingJobStatus.IN_PROGRESS
    assert store.get_tuning_job("job-1") == stored
    # expired but taken by nobody: still its owner's
    assert store.swap_lease("job-1", MINE, Lease("me", 1.0))
    with store.batch() as batch:
        batch.require_lease("JOB-1", "me")
        batch.save_strategy_state("job-1", {"n": 1})
    assert store.strategy_state("job-1") == {"n": 1}


def test_a_fenced_batch_writes_nothing_once_another_owner_took_the_lease(
    store: SqlStore, tuning_job: TuningJob
) -> None:
    with store.batch() as batch:
        batch.add_training_job(make_training_job("job-1-001"))
    assert store.swap_lease("job-1", None, MINE)
    refused = pytest.raises(LeaseLost, match="lease is held by them, not by me")
    with refused as raised, store.batch() as batch:  # the stale driver's tick...
        batch.require_lease("job-1", "me")
        batch.put_training_job(make_training_job("job-1-001", status=TrainingJobStatus.FAILED))
        batch.add_training_job(make_training_job("job-1-002", sequence=2))
        batch.add_metric_points("job-1-001", [MetricPoint("acc", 0.1, 5.0, 0)])
        batch.save_strategy_state("job-1", {"stale": True})
        batch.put_tuning_job(tuning_job.evolve(jobs_not_improving=3))
        assert store.swap_lease("job-1", MINE, THEIRS)  # ...taken over before it commits
    assert isinstance(raised.value, ConflictError)
    assert store.get_training_job("job-1-001").status is TrainingJobStatus.IN_PROGRESS
    names = [j.name for j in store.list_training_jobs(TrainingJobQuery("job-1")).items]
    assert names == ["job-1-001"]
    assert store.metric_points("job-1-001") == []
    assert store.strategy_state("job-1") is None
    assert store.get_tuning_job("job-1") == tuning_job
    # a released lease is not the writer's either
    assert store.swap_lease("job-1", THEIRS, None)
    with pytest.raises(LeaseLost, match="held by nobody"), store.batch() as batch:
        batch.require_lease("job-1", "me")
        batch.save_strategy_state("job-1", {"stale": True})
    assert store.strategy_state("job-1") is None


def test_a_fenced_batch_without_writes_checks_nothing(
    store: SqlStore, tuning_job: TuningJob
) -> None:
    """A tick with nothing to write costs no write transaction, fenced or not."""
    assert store.swap_lease("job-1", None, THEIRS)
    with store.batch() as batch:
        batch.require_lease("job-1", "me")


def test_a_standalone_training_job_lease_fences_as_well(store: SqlStore) -> None:
    job = make_training_job("solo", tuning_job_name=None)  # type: ignore[arg-type]
    store.create_training_job(job, {"TrainingJobName": "solo"})
    assert store.swap_training_job_lease("solo", None, MINE)
    with store.batch() as batch:
        batch.require_training_job_lease("SOLO", "me")
        batch.put_training_job(job.evolve(status=TrainingJobStatus.STOPPING))
    assert store.get_training_job("solo").status is TrainingJobStatus.STOPPING
    assert store.swap_training_job_lease("solo", MINE, THEIRS)
    refused = pytest.raises(LeaseLost, match="Training job 'solo': its lease is held by them")
    with refused, store.batch() as batch:
        batch.require_training_job_lease("solo", "me")
        batch.put_training_job(job.evolve(status=TrainingJobStatus.FAILED))
    assert store.get_training_job("solo").status is TrainingJobStatus.STOPPING


def test_a_takeover_racing_a_fenced_commit_never_sees_a_later_write(store_url: str) -> None:
    """The old holder commits while the new one takes the lease and reads what is
    stored: whichever comes first, nothing the old holder wrote appears after the
    takeover's read (the check and the writes are one transaction)."""
    old, new = SqlStore(store_url), SqlStore(store_url)
    old.create_tuning_job(make_tuning_job())
    for round_ in range(12):
        name = f"job-1-{round_:03d}"
        with old.batch() as batch:
            batch.add_training_job(make_training_job(name, sequence=round_ + 1))
        assert old.swap_lease("job-1", old.get_lease("job-1"), MINE)
        seen_at_takeover = _race(old, new, name)
        assert seen_at_takeover == len(new.metric_points(name)), f"round {round_}"
    old.close()
    new.close()


def _race(old: SqlStore, new: SqlStore, name: str) -> int:
    """``old`` commits 300 points of ``name`` fenced on ``me`` while ``new`` takes the
    lease; how many points ``new`` read right after its takeover."""
    points = [MetricPoint("acc", 0.5, float(i), i) for i in range(300)]
    seen: list[int] = []
    start = threading.Barrier(2)

    def write() -> None:
        start.wait()
        try:
            with old.batch() as batch:
                batch.require_lease("job-1", "me")
                batch.add_metric_points(name, points)
        except LeaseLost:
            pass

    def take_over() -> None:
        start.wait()
        assert new.swap_lease("job-1", MINE, THEIRS)
        seen.append(len(new.metric_points(name)))

    threads = [threading.Thread(target=write), threading.Thread(target=take_over)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(seen) == 1
    return seen[0]
