"""``SqlStore``'s leases: who drives a tuning job, and who drives a training job
created on its own (``CreateTrainingJob``). Each lives on its job's row
(``lease_owner``, ``lease_expires_at``) and changes only by compare-and-set, without
touching the row's other columns or the tuning job's version."""

from __future__ import annotations

from sqlalchemy import Engine, Table, and_, select, update

from tunelab.domain.errors import ResourceNotFound
from tunelab.store.base import Lease
from tunelab.store.sql import rows
from tunelab.store.sql.schema import training_jobs, tuning_jobs


class LeasesMixin:
    """The lease methods of :class:`~tunelab.store.sql.store.SqlStore`, which sets the
    attributes declared here."""

    _engine: Engine
    _writer: Engine
    """``_engine`` beginning its transactions with ``BEGIN IMMEDIATE`` on SQLite."""

    def get_lease(self, tuning_job_name: str) -> Lease | None:
        """The current lease, expired or not (None if nobody holds one).
        ``ResourceNotFound`` if there is no such tuning job."""
        return self._get(tuning_jobs, "Tuning job", tuning_job_name)

    def swap_lease(self, tuning_job_name: str, expected: Lease | None, new: Lease | None) -> bool:
        """Compare-and-set: replace the lease only if it is still ``expected``
        (owner and expiry, exactly). ``ResourceNotFound`` if there is no such
        tuning job. Does not change the tuning job's version."""
        return self._swap(tuning_jobs, "Tuning job", tuning_job_name, expected, new)

    def get_training_job_lease(self, training_job_name: str) -> Lease | None:
        """:meth:`get_lease` for a training job (``ResourceNotFound`` if absent)."""
        return self._get(training_jobs, "Training job", training_job_name)

    def swap_training_job_lease(
        self, training_job_name: str, expected: Lease | None, new: Lease | None
    ) -> bool:
        """:meth:`swap_lease` for a training job (``ResourceNotFound`` if absent);
        ``put_training_job`` never changes it."""
        return self._swap(training_jobs, "Training job", training_job_name, expected, new)

    def _get(self, table: Table, what: str, name: str) -> Lease | None:
        c = table.c
        query = select(c.lease_owner, c.lease_expires_at).where(c.name_key == rows.key(name))
        with self._engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            raise ResourceNotFound(f"{what} '{name}' does not exist")
        return None if row.lease_owner is None else Lease(row.lease_owner, row.lease_expires_at)

    def _swap(
        self, table: Table, what: str, name: str, expected: Lease | None, new: Lease | None
    ) -> bool:
        c, key = table.c, rows.key(name)
        if expected is None:
            still = and_(c.lease_owner.is_(None), c.lease_expires_at.is_(None))
        else:
            owner, expires = expected.owner, expected.expires_at
            still = and_(c.lease_owner == owner, c.lease_expires_at == expires)
        values = {
            "lease_owner": None if new is None else new.owner,
            "lease_expires_at": None if new is None else new.expires_at,
        }
        with self._writer.connect() as conn, conn.begin():
            if conn.execute(update(table).where(c.name_key == key, still).values(values)).rowcount:
                return True
            if conn.execute(select(c.id).where(c.name_key == key)).first() is None:
                raise ResourceNotFound(f"{what} '{name}' does not exist")
            return False
