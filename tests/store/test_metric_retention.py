"""What the store keeps of a long metric series (``tunelab.store.retention``): every
point of the first ``STEPS_KEPT`` steps, an evenly spaced thinned series after them,
always the latest point; and reading the latest point of each metric alone."""

from __future__ import annotations

from alembic import command
from sqlalchemy import insert, select

from tests.store.conftest import make_training_job, make_tuning_job
from tunelab.domain.trial import MetricPoint
from tunelab.domain.tuning_job import TuningJob
from tunelab.store.retention import (
    MAX_POINTS_PER_METRIC,
    STEPS_KEPT,
    THINNED_KEPT,
    retained,
    stride,
)
from tunelab.store.sql import SqlStore
from tunelab.store.sql.engine import alembic_config, make_engine
from tunelab.store.sql.rows import metric_point_values
from tunelab.store.sql.schema import metric_points, training_jobs

JOB = "job-1-001"


def series(metric: str, start: int, stop: int) -> list[MetricPoint]:
    return [
        MetricPoint(metric, 1.0 / (step + 1), 100.0 + step, step) for step in range(start, stop)
    ]


def test_every_point_below_the_cap_is_kept_and_the_stride_doubles_past_it() -> None:
    points = series("loss", 0, STEPS_KEPT)
    assert retained(points) == (points, {})
    assert stride(STEPS_KEPT - 1) == 1 and stride(STEPS_KEPT + THINNED_KEPT - 1) == 1
    assert stride(STEPS_KEPT + THINNED_KEPT) == 2
    assert stride(STEPS_KEPT + 1_000_000) == 1024  # 1_000_000 // 1024 = 976 < 1000


def test_a_long_series_is_bounded_and_keeps_its_head_and_its_latest_point(
    store: SqlStore, tuning_job: TuningJob
) -> None:
    with store.batch() as batch:
        batch.add_training_job(make_training_job(JOB))
        batch.add_metric_points(JOB, series("loss", 0, STEPS_KEPT + 10))
    tail = series("loss", STEPS_KEPT + 10, STEPS_KEPT + 5_003)
    with store.batch() as batch:  # one report per tick, as a job printing slowly sends them
        for point in tail[:1_500]:
            batch.add_metric_points(JOB, [point])
    with store.batch() as batch:  # and a burst
        batch.add_metric_points(JOB, tail[1_500:])
    stored = store.metric_points(JOB)
    latest = tail[-1]
    assert stored[:STEPS_KEPT] == series("loss", 0, STEPS_KEPT)  # every step Hyperband judges
    assert stored[-1] == latest  # the final value, its step and its time
    thinned = [p.step - STEPS_KEPT for p in stored[STEPS_KEPT:-1]]
    assert thinned == list(range(0, 5_002, 8))  # stride 8: 5002 // 8 = 625 < 1000 <= 5002 // 4
    assert len(stored) <= MAX_POINTS_PER_METRIC
    assert store.latest_metric_points(JOB) == [latest]


def test_metrics_are_thinned_each_on_its_own(store: SqlStore, tuning_job: TuningJob) -> None:
    loss, acc = series("loss", 0, STEPS_KEPT + 3_000), series("acc", 0, 50)
    with store.batch() as batch:
        batch.add_training_job(make_training_job(JOB))
        batch.add_metric_points(JOB, [*acc[:25], *loss, *acc[25:]])
    assert store.metric_points(JOB, "acc") == acc
    kept = store.metric_points(JOB, "loss")
    last = STEPS_KEPT + 2_999  # off the stride of 4, kept as the latest
    assert [p.step for p in kept[STEPS_KEPT:]] == [*range(STEPS_KEPT, last, 4), last]
    assert store.latest_metric_points(JOB) == [acc[-1], loss[-1]]  # by metric name


def test_latest_points_are_one_per_metric_read_from_the_highest_step(
    store: SqlStore, tuning_job: TuningJob
) -> None:
    later = MetricPoint("acc", 0.7, 300.0, 2)
    with store.batch() as batch:
        batch.add_training_job(make_training_job(JOB))
        batch.add_training_job(make_training_job("job-1-002", sequence=2))
        batch.add_metric_points(JOB, series("loss", 0, 4) + series("acc", 0, 3))
        batch.add_metric_points(JOB, [later])  # the same step again: the later one wins
        batch.add_metric_points("job-1-002", series("acc", 0, 9))
    assert store.latest_metric_points("JOB-1-001") == [later, series("loss", 3, 4)[0]]
    assert store.latest_metric_points("job-1-002") == series("acc", 8, 9)
    assert store.latest_metric_points("unknown") == []
    with store.batch() as batch:
        batch.add_training_job(make_training_job("job-1-003", sequence=3))
    assert store.latest_metric_points("job-1-003") == []


def test_migration_thins_the_series_stored_before_the_bound(store_url: str) -> None:
    first = SqlStore(store_url)
    first.create_tuning_job(make_tuning_job())
    with first.batch() as batch:
        batch.add_training_job(make_training_job(JOB))
        batch.add_training_job(make_training_job("job-1-002", sequence=2))
    first.close()
    long, short = series("loss", 0, STEPS_KEPT + 5_003), series("acc", 0, STEPS_KEPT + 999)
    engine = make_engine(store_url)
    with engine.connect() as conn, conn.begin():
        command.downgrade(alembic_config(conn), "0006")
        ids = dict(conn.execute(select(training_jobs.c.name, training_jobs.c.id)).all())
        rows = [(ids[JOB], p) for p in long] + [(ids["job-1-002"], p) for p in [*short, *long]]
        conn.execute(insert(metric_points), [metric_point_values(*row) for row in rows])
    engine.dispose()
    again = SqlStore(store_url)
    assert again.migrated
    thinned = [*long[:STEPS_KEPT], *long[STEPS_KEPT:-1:8], long[-1]]  # stride 8, as written
    assert again.metric_points(JOB) == thinned
    assert again.metric_points("job-1-002", "acc") == short  # within the bound: untouched
    assert again.metric_points("job-1-002", "loss") == thinned
    again.close()
