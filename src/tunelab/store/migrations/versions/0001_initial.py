"""The first schema: tuning jobs (with their lease), training jobs, metric
points, strategy states.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = sa.String(255)
STATUS = sa.String(32)


def upgrade() -> None:
    op.create_table(
        "tuning_jobs",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("name", NAME, nullable=False),
        sa.Column("name_key", NAME, nullable=False),
        sa.Column("status", STATUS, nullable=False),
        sa.Column("creation_time", sa.Double, nullable=False),
        sa.Column("last_modified_time", sa.Double, nullable=False),
        sa.Column("end_time", sa.Double),
        sa.Column("failure_reason", sa.Text),
        sa.Column("jobs_not_improving", sa.Integer),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("document", sa.JSON, nullable=False),
        sa.Column("lease_owner", sa.String(255)),
        sa.Column("lease_expires_at", sa.Double),
        sa.PrimaryKeyConstraint("id", name="pk_tuning_jobs"),
        sa.UniqueConstraint("name_key", name="uq_tuning_jobs_name_key"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_tuning_jobs_status", "tuning_jobs", ["status"])
    op.create_index("ix_tuning_jobs_creation_time", "tuning_jobs", ["creation_time"])

    op.create_table(
        "training_jobs",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("name", NAME, nullable=False),
        sa.Column("name_key", NAME, nullable=False),
        sa.Column("tuning_job_id", sa.Integer),
        sa.Column("tuning_job_name", NAME, nullable=False),
        sa.Column("tuning_job_key", NAME, nullable=False),
        sa.Column("sequence", sa.Integer, nullable=False),
        sa.Column("definition_name", NAME),
        sa.Column("tuned_hyperparameters", sa.JSON, nullable=False),
        sa.Column("creation_time", sa.Double, nullable=False),
        sa.Column("status", STATUS, nullable=False),
        sa.Column("secondary_status", STATUS, nullable=False),
        sa.Column("objective_status", STATUS, nullable=False),
        sa.Column("final_objective_value", sa.Double),
        sa.Column("failure_reason", sa.Text),
        sa.Column("start_time", sa.Double),
        sa.Column("end_time", sa.Double),
        sa.Column("last_modified_time", sa.Double),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("pid", sa.Integer),
        sa.Column("pid_start_time", sa.BigInteger),
        sa.Column("exit_code", sa.Integer),
        sa.Column("transitions", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_training_jobs"),
        sa.UniqueConstraint("name_key", name="uq_training_jobs_name_key"),
        sa.ForeignKeyConstraint(
            ["tuning_job_id"],
            ["tuning_jobs.id"],
            name="fk_training_jobs_tuning_job_id_tuning_jobs",
            ondelete="SET NULL",
        ),
    )
    for columns in (
        ["tuning_job_key"],
        ["tuning_job_id", "name"],
        ["tuning_job_id", "creation_time"],
        ["tuning_job_id", "status"],
        ["tuning_job_id", "final_objective_value"],
    ):
        op.create_index(f"ix_training_jobs_{'_'.join(columns)}", "training_jobs", columns)

    op.create_table(
        "metric_points",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("training_job_id", sa.Integer, nullable=False),
        sa.Column("metric_name", NAME, nullable=False),
        sa.Column("step", sa.Integer, nullable=False),
        sa.Column("timestamp", sa.Double, nullable=False),
        sa.Column("value", sa.Double, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_metric_points"),
        sa.ForeignKeyConstraint(
            ["training_job_id"],
            ["training_jobs.id"],
            name="fk_metric_points_training_job_id_training_jobs",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_metric_points_training_job_id_metric_name_step",
        "metric_points",
        ["training_job_id", "metric_name", "step"],
    )

    op.create_table(
        "strategy_states",
        sa.Column("tuning_job_id", sa.Integer, nullable=False),
        sa.Column("state", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("tuning_job_id", name="pk_strategy_states"),
        sa.ForeignKeyConstraint(
            ["tuning_job_id"],
            ["tuning_jobs.id"],
            name="fk_strategy_states_tuning_job_id_tuning_jobs",
            ondelete="CASCADE",
        ),
    )


def downgrade() -> None:
    op.drop_table("strategy_states")
    op.drop_table("metric_points")
    op.drop_table("training_jobs")
    op.drop_table("tuning_jobs")
