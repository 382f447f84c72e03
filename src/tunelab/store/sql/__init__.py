"""The SQL implementation of the store (SQLAlchemy 2 + Alembic): SQLite by
default, PostgreSQL by URL."""

from tunelab.store.sql.store import SqlStore, SqlStoreBatch

__all__ = ["SqlStore", "SqlStoreBatch"]
