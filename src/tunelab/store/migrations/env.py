"""Alembic environment of the tunelab store.

:class:`~tunelab.store.sql.store.SqlStore` runs migrations on its own connection,
passed as ``config.attributes["connection"]`` (already inside a transaction,
which the store commits). Run standalone, the URL comes from
``sqlalchemy.url`` (or ``-x url=...``); ``--sql`` renders the DDL offline.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from tunelab.store.sql.schema import VERSION_TABLE, metadata

config = context.config


def _configure(connection: Connection | None = None, url: str | None = None) -> None:
    context.configure(
        connection=connection,
        url=url,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        render_as_batch=True,  # SQLite needs table rebuilds for most ALTERs
        literal_binds=connection is None,
    )


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise SystemExit("tunelab migrations: give a database URL with -x url=...")
    return url


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
    elif context.is_offline_mode():
        _configure(url=_url())
        with context.begin_transaction():
            context.run_migrations()
    else:
        from tunelab.store.sql.engine import make_engine

        engine = make_engine(_url())
        with engine.connect() as conn:
            _configure(conn)
            with context.begin_transaction():
                context.run_migrations()
        engine.dispose()


run()
