"""``SqlStore``: the :class:`~tunelab.store.base.Store` on SQLAlchemy 2.

One class for SQLite files (WAL; several processes may share a file) and
PostgreSQL, chosen by URL. Opening brings the schema to the newest Alembic
revision. Returned objects are immutable snapshots; the store keeps no
per-call state beyond a cache of parsed request documents, so one instance may
be shared by threads.

The methods live by subject: tuning jobs and their strategy state in
``tuning_jobs``; training jobs, counters and metric points in ``training_jobs``;
the leases of both in ``leases``;
the statements they run in ``queries``, and the listings' paging in ``paging``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from tunelab.store.sql import rows
from tunelab.store.sql.batch import SqlStoreBatch
from tunelab.store.sql.changes import Changes
from tunelab.store.sql.engine import BEGIN_OPTION, make_engine, upgrade_to_head
from tunelab.store.sql.leases import LeasesMixin
from tunelab.store.sql.registry import SqlAccessKeys, SqlAlgorithms
from tunelab.store.sql.tags import SqlTags
from tunelab.store.sql.training_jobs import TrainingJobsMixin
from tunelab.store.sql.tuning_jobs import TuningJobsMixin

__all__ = ["SqlStore", "SqlStoreBatch"]


class SqlStore(TuningJobsMixin, TrainingJobsMixin, LeasesMixin):
    """The store in a SQL database given by a SQLAlchemy URL.

    ``sqlite:///path/to/file.db`` (directory created if missing),
    ``sqlite://`` (in memory, for tests) or ``postgresql://user@host/db``.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine = make_engine(url)
        self._writer = self._engine.execution_options(**{BEGIN_OPTION: "IMMEDIATE"})
        self._specs = rows.SpecCache()
        self.migrated = upgrade_to_head(self._engine)
        """True when opening this store ran migrations."""
        self.changes = Changes()
        """What this store committed, per scope (``tunelab.store.sql.changes``)."""
        self.tags = SqlTags(self._engine, self._writer, self.changes)
        self.algorithms = SqlAlgorithms(self._engine, self._writer, self.changes)
        self.access_keys = SqlAccessKeys(self._engine, self._writer)

    # -- batches and lifetime ----------------------------------------------------

    @contextmanager
    def batch(self) -> Iterator[SqlStoreBatch]:
        """Writes recorded in the block commit together at its end (see
        :class:`SqlStoreBatch`); if the block raises, nothing is written."""
        batch = SqlStoreBatch(self._writer, self._specs, self.changes)
        try:
            yield batch
        except BaseException:
            batch.abandon()
            raise
        batch.commit()

    def close(self) -> None:
        """Release the connections. The store must not be used afterwards."""
        self._engine.dispose()

    def __enter__(self) -> SqlStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
