"""Registered algorithms (``CreateAlgorithm``) and API access keys."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.exc import IntegrityError

from tunelab.domain.errors import ResourceInUse, ResourceNotFound
from tunelab.store.sql.changes import ALGORITHMS, Changes
from tunelab.store.sql.changes import tags as tag_scope
from tunelab.store.sql.schema import access_keys, algorithms
from tunelab.store.sql.tags import ALGORITHM, insert_tags

AL, AK = algorithms.c, access_keys.c


@dataclass(frozen=True)
class StoredAlgorithm:
    name: str
    creation_time: float
    document: Mapping[str, Any]


@dataclass(frozen=True)
class StoredAccessKey:
    access_key_id: str
    encrypted_secret: str
    policy: str
    creation_time: float


class SqlAlgorithms:
    def __init__(self, engine: Engine, writer: Engine, changed: Changes | None = None) -> None:
        self._engine, self._writer = engine, writer
        self._changes = changed or Changes()

    def create(self, name: str, document: Mapping[str, Any], now: float) -> StoredAlgorithm:
        """``ResourceInUse`` when the name (any case) is taken. Its ``Tags`` are stored."""
        values = {
            "name": name,
            "name_key": name.lower(),
            "creation_time": now,
            "document": dict(document),
        }
        try:
            with self._writer.connect() as conn, conn.begin():
                conn.execute(insert(algorithms), values)
                pairs = [(t["Key"], t.get("Value", "")) for t in document.get("Tags", ())]
                insert_tags(conn, ALGORITHM, name.lower(), pairs)
        except IntegrityError:
            raise ResourceInUse(f"Algorithm '{name}' already exists") from None
        self._changes.bump([ALGORITHMS, tag_scope(ALGORITHM, name.lower())])
        return StoredAlgorithm(name, now, dict(document))

    def get(self, name: str) -> StoredAlgorithm:
        stmt = select(algorithms).where(AL.name_key == name.lower())
        with self._engine.connect() as conn:
            row = conn.execute(stmt).mappings().first()
        if row is None:
            raise ResourceNotFound(f"Algorithm '{name}' does not exist")
        return StoredAlgorithm(row["name"], row["creation_time"], row["document"])

    def list(self) -> list[StoredAlgorithm]:
        """Every registered algorithm, oldest first (the service filters and pages:
        there are few of them)."""
        stmt = select(algorithms).order_by(AL.creation_time, AL.name)
        with self._engine.connect() as conn:
            found = conn.execute(stmt).mappings().all()
        return [StoredAlgorithm(r["name"], r["creation_time"], r["document"]) for r in found]


class SqlAccessKeys:
    def __init__(self, engine: Engine, writer: Engine) -> None:
        self._engine, self._writer = engine, writer

    def create(self, key: StoredAccessKey) -> None:
        """``ResourceInUse`` when the access key id exists."""
        try:
            with self._writer.connect() as conn, conn.begin():
                conn.execute(insert(access_keys), key.__dict__)
        except IntegrityError:
            raise ResourceInUse(f"Access key '{key.access_key_id}' already exists") from None

    def get(self, access_key_id: str) -> StoredAccessKey | None:
        stmt = select(access_keys).where(AK.access_key_id == access_key_id)
        with self._engine.connect() as conn:
            row = conn.execute(stmt).mappings().first()
        return None if row is None else StoredAccessKey(**row)

    def list(self) -> list[StoredAccessKey]:
        stmt = select(access_keys).order_by(AK.creation_time, AK.access_key_id)
        with self._engine.connect() as conn:
            return [StoredAccessKey(**row) for row in conn.execute(stmt).mappings()]

    def delete(self, access_key_id: str) -> None:
        """``ResourceNotFound`` when there is no such key."""
        stmt = delete(access_keys).where(AK.access_key_id == access_key_id)
        with self._writer.connect() as conn, conn.begin():
            if conn.execute(stmt).rowcount == 0:
                raise ResourceNotFound(f"Access key '{access_key_id}' does not exist")
