"""The tables of :class:`~tunelab.store.sql.store.SqlStore` (SQLAlchemy Core).

Hybrid layout: what is listed, filtered, sorted or joined is a real column; the
request document, tuned hyperparameters, status transitions and strategy state
are JSON. Times are float epoch seconds (``Double``). Every text column is
``StorableString`` or ``StorableText`` (``storable``: NUL and lone surrogates are
stored as U+FFFD on every backend). This module describes the
schema at the newest migration; ``HEAD_REVISION`` must name that migration
(a test compares it with Alembic's head and the migrated schema with these
tables).

Links between tables:

- ``training_jobs.tuning_job_id`` -> ``tuning_jobs.id`` is ``ON DELETE SET NULL``:
  deleting a tuning job keeps its training jobs (and their metric points), which
  still carry ``tuning_job_name``.
- ``strategy_states`` rows go with their tuning job (``ON DELETE CASCADE``).
- A lease (owner, expires_at) lives on its job's row: the tuning job's, or a
  standalone training job's (``CreateTrainingJob``; NULL for a tuning job's).
- ``training_jobs.stop_requested_time``: a StopTrainingJob request for the process
  that runs the job (written by the API, read by that process's loop or runner).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Table,
    UniqueConstraint,
    literal_column,
)

from tunelab.store.sql.storable import StorableString, StorableText

HEAD_REVISION = "0008"
"""The newest Alembic revision; a database at this revision needs no migration."""

VERSION_TABLE = "tunelab_alembic_version"
"""Alembic's version table, named so as not to clash in a shared PostgreSQL schema."""

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

NAME = StorableString(255)
"""Names are at most 63 characters in SageMaker; leave room."""
ACTOR = StorableString(128)
"""Who created a resource: an access key id."""

tuning_jobs = Table(
    "tuning_jobs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", NAME, nullable=False),
    Column("name_key", NAME, nullable=False, unique=True),
    Column("status", StorableString(32), nullable=False, index=True),
    Column("creation_time", Double, nullable=False, index=True),
    Column("last_modified_time", Double, nullable=False),
    Column("end_time", Double),
    Column("failure_reason", StorableText),
    Column("jobs_not_improving", Integer),
    Column("convergence_detected_time", Double),
    Column("version", Integer, nullable=False),
    Column("document", JSON, nullable=False),
    Column("lease_owner", StorableString(255)),
    Column("lease_expires_at", Double),
    Column("created_by", ACTOR),
    sqlite_autoincrement=True,  # ids are never reused: they key the parsed-spec cache
)

training_jobs = Table(
    "training_jobs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", NAME, nullable=False),
    Column("name_key", NAME, nullable=False, unique=True),
    Column("tuning_job_id", Integer, ForeignKey("tuning_jobs.id", ondelete="SET NULL")),
    Column("tuning_job_name", NAME),
    Column("tuning_job_key", NAME, index=True),
    Column("sequence", Integer, nullable=False),
    Column("definition_name", NAME),
    Column("tuned_hyperparameters", JSON, nullable=False),
    Column("creation_time", Double, nullable=False),
    Column("status", StorableString(32), nullable=False),
    Column("secondary_status", StorableString(32), nullable=False),
    Column("objective_status", StorableString(32), nullable=False),
    Column("final_objective_value", Double),
    Column("failure_reason", StorableText),
    Column("start_time", Double),
    Column("end_time", Double),
    Column("last_modified_time", Double),
    Column("attempt", Integer, nullable=False),
    Column("pid", Integer),
    Column("pid_start_time", BigInteger),
    Column("exit_code", Integer),
    Column("transitions", JSON, nullable=False),
    Column("request", JSON),
    Column("created_by", ACTOR),
    Column("lease_owner", StorableString(255)),
    Column("lease_expires_at", Double),
    Column("stop_requested_time", Double),
    Index(None, "creation_time"),
    Index(None, "tuning_job_id", "name"),
    Index(None, "tuning_job_id", "creation_time"),
    Index(None, "tuning_job_id", "status"),
    Index(None, "tuning_job_id", "final_objective_value"),
)

LOG_STREAM_ORDER = training_jobs.c.name.op("||", return_type=NAME)(literal_column("'/'"))
"""A training job's name followed by ``/``: its log streams' names (``<name>/algo-...``)
sort as this does, which the name alone does not (``a-b/`` sorts before ``a/``)."""
Index("ix_training_jobs_log_stream_order", LOG_STREAM_ORDER)

metric_points = Table(
    "metric_points",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "training_job_id",
        Integer,
        ForeignKey("training_jobs.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("metric_name", NAME, nullable=False),
    Column("step", Integer, nullable=False),
    Column("timestamp", Double, nullable=False),
    Column("value", Double, nullable=False),
    Index(None, "training_job_id", "metric_name", "step"),
)

strategy_states = Table(
    "strategy_states",
    metadata,
    Column(
        "tuning_job_id",
        Integer,
        ForeignKey("tuning_jobs.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("state", JSON, nullable=False),
)

tags = Table(
    "tags",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("resource_type", StorableString(64), nullable=False),
    Column("resource_key", NAME, nullable=False),
    Column("key", StorableString(128), nullable=False),
    Column("value", StorableString(256), nullable=False),
    UniqueConstraint("resource_type", "resource_key", "key"),
)
"""Tags of tuning jobs, training jobs and algorithms, by resource type and the
lower-cased resource name."""

algorithms = Table(
    "algorithms",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", NAME, nullable=False),
    Column("name_key", NAME, nullable=False, unique=True),
    Column("creation_time", Double, nullable=False, index=True),
    Column("document", JSON, nullable=False),
)
"""Algorithms registered with CreateAlgorithm (the request document)."""

access_keys = Table(
    "access_keys",
    metadata,
    Column("access_key_id", StorableString(128), primary_key=True),
    Column("encrypted_secret", StorableText, nullable=False),
    Column("policy", StorableText, nullable=False),
    Column("creation_time", Double, nullable=False),
)
"""API credentials; secrets encrypted with the home's master key."""
