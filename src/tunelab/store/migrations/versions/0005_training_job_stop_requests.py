"""``training_jobs.stop_requested_time``: a StopTrainingJob request for the process
that runs the job, whichever process received it.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("training_jobs") as table:
        table.add_column(sa.Column("stop_requested_time", sa.Double))


def downgrade() -> None:
    with op.batch_alter_table("training_jobs") as table:
        table.drop_column("stop_requested_time")
