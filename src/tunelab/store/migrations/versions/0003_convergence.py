"""When a tuning job's strategy detected convergence (``CompleteOnConvergence``;
``TuningJobCompletionDetails.ConvergenceDetectedTime``).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tuning_jobs") as table:
        table.add_column(sa.Column("convergence_detected_time", sa.Double))


def downgrade() -> None:
    with op.batch_alter_table("tuning_jobs") as table:
        table.drop_column("convergence_detected_time")
