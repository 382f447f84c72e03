"""A lease on each training job row: who drives a standalone training job
(``CreateTrainingJob``), so that two servers on one database never both run it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("training_jobs") as table:
        table.add_column(sa.Column("lease_owner", sa.String(255)))
        table.add_column(sa.Column("lease_expires_at", sa.Double))


def downgrade() -> None:
    with op.batch_alter_table("training_jobs") as table:
        table.drop_column("lease_expires_at")
        table.drop_column("lease_owner")
