"""An index on ``training_jobs.name || '/'``: the order of the training jobs' log stream
names (``<name>/algo-<k>-<epoch>``), which CloudWatch Logs' DescribeLogStreams pages
through a page at a time (the name alone sorts ``a`` before ``a-b``, their streams the
other way round). No data change.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_training_jobs_log_stream_order"


def upgrade() -> None:
    op.create_index(INDEX, "training_jobs", [sa.text("(name || '/')")])


def downgrade() -> None:
    op.drop_index(INDEX, table_name="training_jobs")
