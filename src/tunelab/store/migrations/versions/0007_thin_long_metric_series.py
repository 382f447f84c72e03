"""Thin the metric series stored before the store bounded them: a program that printed
its metric millions of times left millions of rows, which every read of the job's
series loaded. Keeps what ``tunelab.store.retention`` keeps now: every point of a
metric's first 20,000 steps, the steps ``20,000 + i * stride`` (the smallest power of
two stride with at most 1,000 of them up to the latest step) and the latest point. No
schema change.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STEPS_KEPT = 20_000
"""``tunelab.store.retention.STEPS_KEPT`` at this revision (frozen here on purpose)."""
THINNED_KEPT = 1_000
"""``tunelab.store.retention.THINNED_KEPT`` at this revision."""

points = sa.table(
    "metric_points",
    sa.column("id", sa.Integer),
    sa.column("training_job_id", sa.Integer),
    sa.column("metric_name", sa.String),
    sa.column("step", sa.Integer),
)
c = points.c
same_series = sa.and_(
    c.training_job_id == sa.bindparam("job", type_=sa.Integer),
    c.metric_name == sa.bindparam("metric", type_=sa.String),
)


def stride(latest_step: int) -> int:
    spacing = 1
    while (latest_step - STEPS_KEPT) // spacing >= THINNED_KEPT:
        spacing *= 2
    return spacing


def upgrade() -> None:
    conn = op.get_bind()
    long_series = conn.execute(
        sa.select(c.training_job_id, c.metric_name, sa.func.max(c.step))
        .where(c.step >= STEPS_KEPT + THINNED_KEPT)
        .group_by(c.training_job_id, c.metric_name)
    ).all()
    latest_id = sa.select(c.id).where(same_series).order_by(c.step.desc(), c.id.desc()).limit(1)
    off_stride = sa.delete(points).where(
        same_series,
        c.step >= STEPS_KEPT,
        (c.step - STEPS_KEPT) % sa.bindparam("stride", type_=sa.Integer) != 0,
        c.id != sa.bindparam("latest", type_=sa.Integer),
    )
    for job, metric, latest_step in long_series:
        series = {"job": job, "metric": metric}
        latest = conn.execute(latest_id, series).scalar_one()
        conn.execute(off_stride, {**series, "stride": stride(latest_step), "latest": latest})


def downgrade() -> None:
    """Nothing to undo: the points removed cannot be brought back, and every version
    reads a thinned series."""
