"""What the API needs: standalone training jobs (CreateTrainingJob: no tuning
job, their own request), who created a job, tags per resource, registered
algorithms and access keys.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = sa.String(255)
ACTOR = sa.String(128)


def upgrade() -> None:
    with op.batch_alter_table("tuning_jobs") as table:
        table.add_column(sa.Column("created_by", ACTOR))
    with op.batch_alter_table("training_jobs") as table:
        table.alter_column("tuning_job_name", existing_type=NAME, nullable=True)
        table.alter_column("tuning_job_key", existing_type=NAME, nullable=True)
        table.add_column(sa.Column("request", sa.JSON))
        table.add_column(sa.Column("created_by", ACTOR))
    op.create_index("ix_training_jobs_creation_time", "training_jobs", ["creation_time"])

    op.create_table(
        "tags",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("resource_type", sa.String(64), nullable=False),
        sa.Column("resource_key", NAME, nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("value", sa.String(256), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tags"),
        sa.UniqueConstraint(
            "resource_type", "resource_key", "key", name="uq_tags_resource_type_resource_key_key"
        ),
    )

    op.create_table(
        "algorithms",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("name", NAME, nullable=False),
        sa.Column("name_key", NAME, nullable=False),
        sa.Column("creation_time", sa.Double, nullable=False),
        sa.Column("document", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_algorithms"),
        sa.UniqueConstraint("name_key", name="uq_algorithms_name_key"),
    )
    op.create_index("ix_algorithms_creation_time", "algorithms", ["creation_time"])

    op.create_table(
        "access_keys",
        sa.Column("access_key_id", sa.String(128), nullable=False),
        sa.Column("encrypted_secret", sa.Text, nullable=False),
        sa.Column("policy", sa.Text, nullable=False),
        sa.Column("creation_time", sa.Double, nullable=False),
        sa.PrimaryKeyConstraint("access_key_id", name="pk_access_keys"),
    )


def downgrade() -> None:
    op.drop_table("access_keys")
    op.drop_index("ix_algorithms_creation_time", "algorithms")
    op.drop_table("algorithms")
    op.drop_table("tags")
    op.drop_index("ix_training_jobs_creation_time", "training_jobs")
    with op.batch_alter_table("training_jobs") as table:
        table.drop_column("created_by")
        table.drop_column("request")
        table.alter_column("tuning_job_key", existing_type=NAME, nullable=False)
        table.alter_column("tuning_job_name", existing_type=NAME, nullable=False)
    with op.batch_alter_table("tuning_jobs") as table:
        table.drop_column("created_by")
