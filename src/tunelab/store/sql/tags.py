"""Tags per resource: tuning jobs, training jobs and algorithms, keyed by the
resource type and its lower-cased name."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Connection, Engine, bindparam, delete, insert, literal, select, update

from tunelab.store.sql import changes
from tunelab.store.sql.changes import Changes
from tunelab.store.sql.schema import tags

TG = tags.c
TUNING_JOB = "hyper-parameter-tuning-job"
TRAINING_JOB = "training-job"
ALGORITHM = "algorithm"
RESOURCE_TYPES = (TUNING_JOB, TRAINING_JOB, ALGORITHM)

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


class SqlTags:
    """Tag reads and writes. Resource existence is the caller's business."""

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
        """Add tags; a key already present gets the new value."""
        with self._writer.connect() as conn, conn.begin():
            insert_tags(conn, resource_type, name.lower(), pairs)
        self._changes.bump([changes.tags(resource_type, name.lower())])

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
