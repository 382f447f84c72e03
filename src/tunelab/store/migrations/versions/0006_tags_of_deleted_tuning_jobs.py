"""Forget the tags of deleted tuning jobs: DeleteHyperParameterTuningJob left them
behind, and a new tuning job of the same name found them as its own. No schema change.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        sa.text(
            "DELETE FROM tags WHERE resource_type = 'hyper-parameter-tuning-job' "
            "AND resource_key NOT IN (SELECT name_key FROM tuning_jobs)"
        )
    )


def downgrade() -> None:
    """Nothing to undo: the tags removed belonged to no resource."""
