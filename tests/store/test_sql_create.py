"""Creating tuning jobs in ``SqlStore`` (SQLite always, PostgreSQL when configured): the
caller's admission check sees the number of tuning jobs not ended atomically with the
insert, so a quota it enforces holds under concurrent creators."""

from __future__ import annotations

import pytest

from tests.store.conftest import make_tuning_job
from tests.store.test_sql_tags import race
from tunelab.domain.enums import TuningJobStatus
from tunelab.domain.errors import ResourceInUse, ResourceLimitExceeded
from tunelab.store.sql import SqlStore

QUOTA = 3


def at_most(limit: int):
    def admit(running: int) -> None:
        if running >= limit:
            raise ResourceLimitExceeded(f"{running} running; the quota is {limit}")

    return admit


def test_admission_sees_the_jobs_not_ended(store: SqlStore) -> None:
    store.create_tuning_job(make_tuning_job("done", status=TuningJobStatus.COMPLETED))
    store.create_tuning_job(make_tuning_job("stopping", status=TuningJobStatus.STOPPING))
    seen: list[int] = []
    store.create_tuning_job(make_tuning_job("new"), seen.append)
    assert seen == [1]
    with pytest.raises(ResourceLimitExceeded, match="2 running; the quota is 2"):
        store.create_tuning_job(make_tuning_job("refused"), at_most(2))
    with pytest.raises(ResourceInUse):  # a taken name is ResourceInUse, whatever the count
        store.create_tuning_job(make_tuning_job("NEW"), at_most(0))


def test_concurrent_creators_never_pass_the_quota(store_url: str, store: SqlStore) -> None:
    def create(writer: SqlStore, index: int) -> None:
        writer.create_tuning_job(make_tuning_job(f"job-{index}"), at_most(QUOTA))

    outcomes = race(store_url, create, writers=6)
    assert sorted(outcomes) == ["ResourceLimitExceeded"] * 3 + ["ok"] * 3
