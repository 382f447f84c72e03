"""Tags per resource: tuning jobs, training jobs and algorithms, keyed by the
resource type and its lower-cased name."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    bindparam,
    delete,
    insert,
    literal,
    select,
    update,
)

from tunelab.domain.errors import ResourceNotFound, ValidationError, Violation
from tunelab.store.sql import changes
from tunelab.store.sql.changes import Changes
from tunelab.store.sql.schema import algorithms, tags, training_jobs, tuning_jobs

TG = tags.c
TUNING_JOB = "hyper-parameter-tuning-job"
TRAINING_JOB = "training-job"
ALGORITHM = "algorithm"
RESOURCE_TYPES = (TUNING_JOB, TRAINING_JOB, ALGORITHM)
MAX_TAGS = 50
"""SageMaker's limit of tags per resource."""
OWNERS: dict[str, tuple[Table, str]] = {
    TUNING_JOB: (tuning_jobs, "Tuning job"),
    TRAINING_JOB: (training_jobs, "Training job"),
    ALGORITHM: (algorithms, "Algorithm"),
}
"""The table of each resource type (with a ``name_key`` column) and its label."""

INHERIT_TAGS = insert(tags).from_select(
    ["resource_type", "resource_key", "key", "value"],
    select(literal(TRAINING_JOB), bindparam("b_training"), TG.key, TG.value).where(
        TG.resource_type == TUNING_JOB, TG.resource_key == bindparam("b_tuning")
    ),
)
"""Copy a tuning job's tags (``:b_tuning``) to its new training job (``:b_training``)."""


def insert_tags(
    conn: Connection, resource_type: str, name_key: str, pairs: Iterable[tuple[str, str]]
) -> None:
    """Add or replace tags of one resource inside ``conn``'s transaction."""
    for key, value in pairs:
        where = (TG.resource_type == resource_type, TG.resource_key == name_key, TG.key == key)
        if conn.execute(update(tags).where(*where).values(value=value)).rowcount == 0:
            conn.execute(
                insert(tags),
                {
                    "resource_type": resource_type,
                    "resource_key": name_key,
                    "key": key,
                    "value": value,
                },
            )


def delete_all_tags(conn: Connection, resource_type: str, name_key: str) -> None:
    """Remove every tag of one resource inside ``conn``'s transaction (the resource
    is being deleted: a new one of the same name must not find them)."""
    conn.execute(
        delete(tags).where(TG.resource_type == resource_type, TG.resource_key == name_key)
    )


def too_many_tags(count: int) -> ValidationError:
    """The error for a resource that would have ``count`` (> ``MAX_TAGS``) tags."""
    return ValidationError(
        [Violation("Tags", f"a resource has at most {MAX_TAGS} tags; this would make {count}")]
    )


class SqlTags:
    """Tag reads and writes."""

    def __init__(self, engine: Engine, writer: Engine, changed: Changes | None = None) -> None:
        self._engine, self._writer = engine, writer
        self._changes = changed or Changes()

    def list(self, resource_type: str, name: str) -> list[tuple[str, str]]:
        """(key, value) pairs in the order they were first added."""
        stmt = (
            select(TG.key, TG.value)
            .where(TG.resource_type == resource_type, TG.resource_key == name.lower())
            .order_by(TG.id)
        )
        with self._engine.connect() as conn:
            return [(row.key, row.value) for row in conn.execute(stmt)]

    def add(self, resource_type: str, name: str, pairs: Sequence[tuple[str, str]]) -> None:
        """Add tags; a key already present gets the new value. One transaction that
        holds the resource's row: ``ResourceNotFound`` if the resource does not exist,
        ``ValidationError`` on ``Tags`` if it would have more than ``MAX_TAGS`` tags
        (nothing is written then), even with other writers adding tags at once."""
        table, label = OWNERS[resource_type]
        key = name.lower()
        owner = select(table.c.id).where(table.c.name_key == key).with_for_update()
        present = select(TG.key).where(TG.resource_type == resource_type, TG.resource_key == key)
        with self._writer.connect() as conn, conn.begin():
            # PostgreSQL: the row lock serializes writers of this resource's tags (and
            # its deletion); SQLite: the writer's BEGIN IMMEDIATE serializes all writers
            if conn.execute(owner).first() is None:
                raise ResourceNotFound(f"{label} '{name}' does not exist")
            count = len(set(conn.execute(present).scalars()) | {k for k, _ in pairs})
            if count > MAX_TAGS:
                raise too_many_tags(count)
            insert_tags(conn, resource_type, key, pairs)
        self._changes.bump([changes.tags(resource_type, key)])

    def delete(self, resource_type: str, name: str, keys: Sequence[str]) -> None:
        """Remove the tags with these keys (absent keys are ignored)."""
        stmt = delete(tags).where(
            TG.resource_type == resource_type,
            TG.resource_key == name.lower(),
            TG.key.in_(list(keys)),
        )
        with self._writer.connect() as conn, conn.begin():
            conn.execute(stmt)
        self._changes.bump([changes.tags(resource_type, name.lower())])
