"""Engines for the SQL store, and bringing a database to the newest schema.

SQLite connections get WAL, ``busy_timeout`` 30 s, ``synchronous=NORMAL`` and
foreign keys; SQLAlchemy emits the ``BEGIN`` itself (the driver's legacy
transaction handling is off), ``BEGIN IMMEDIATE`` on an engine made with
``execution_options(tunelab_begin="IMMEDIATE")``, so that a writing transaction
takes the write lock first and waits for it, instead of failing when it upgrades
a read lock another process made stale.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError

from tunelab.store.base import DatabaseVersionError
from tunelab.store.sql.memory_pool import SerializedStaticPool
from tunelab.store.sql.schema import HEAD_REVISION, VERSION_TABLE

if TYPE_CHECKING:  # Alembic is imported only when a migration runs (~0.2 s to import)
    from alembic.config import Config

BUSY_TIMEOUT_SECONDS = 30
SQLITE_POOL_SIZE = 32
"""Connections a SQLite file engine keeps open. Opening one costs four PRAGMAs (WAL
included), and QueuePool closes every connection beyond ``pool_size`` when it is
returned: a server whose threads share the store would otherwise open and close a
connection for most requests under load."""
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
BEGIN_OPTION = "tunelab_begin"


def make_engine(url: str | URL) -> Engine:
    """An engine for ``url``; for a SQLite file, its directory is created."""
    url = make_url(url)
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    connect_args: dict[str, Any] = {"timeout": BUSY_TIMEOUT_SECONDS}
    kwargs: dict[str, Any] = {}
    if _is_memory(url):
        connect_args["check_same_thread"] = False
        kwargs["poolclass"] = SerializedStaticPool  # one database, one thread at a time
    else:
        kwargs.update(pool_size=SQLITE_POOL_SIZE, max_overflow=SQLITE_POOL_SIZE)
        if url.database and not url.database.startswith("file:"):
            Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args=connect_args, **kwargs)
    event.listen(engine, "connect", _on_sqlite_connect)
    event.listen(engine, "begin", _on_sqlite_begin)
    return engine


def _is_memory(url: URL) -> bool:
    return url.database in (None, "", ":memory:") or url.query.get("mode") == "memory"


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN (see _on_sqlite_begin)
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_SECONDS * 1000}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def _on_sqlite_begin(conn: Connection) -> None:
    mode = conn.get_execution_options().get(BEGIN_OPTION, "DEFERRED")
    conn.exec_driver_sql(f"BEGIN {mode}")


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration for the store's migrations (no ``alembic.ini``);
    with ``connection``, migrations run on it, inside its transaction."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("path_separator", "os")
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def current_revision(engine: Engine) -> str | None:
    """The database's Alembic revision; None when it has no tunelab schema yet."""
    try:
        with engine.connect() as conn:
            return conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()
    except DBAPIError:
        return None


def upgrade_to_head(engine: Engine) -> bool:
    """Migrate to ``HEAD_REVISION``; True when something was run. Cheap when the
    database is already there (one SELECT). Several processes may call this at
    once: on SQLite the first takes the write lock and the others then find the
    work done; elsewhere a loser's failure is forgiven if the schema is at head.
    :class:`DatabaseVersionError` when a newer tunelab wrote the database (nothing
    is changed then) or the migration failed."""
    found = current_revision(engine)
    if found == HEAD_REVISION:
        return False
    if found is not None and found.isdigit() and int(found) > int(HEAD_REVISION):
        raise DatabaseVersionError(
            f"the tunelab database {_shown(engine)} has schema revision {found}, newer than "
            f"this tunelab's {HEAD_REVISION}: a newer tunelab wrote it. Run that version "
            "(or a later one); a database is never taken back to an older schema"
        )
    from alembic import command

    try:
        writer = engine.execution_options(**{BEGIN_OPTION: "IMMEDIATE"})
        with writer.connect() as conn, conn.begin():
            command.upgrade(alembic_config(conn), "head")
    except Exception as error:
        found = current_revision(engine)
        if found != HEAD_REVISION:
            raise DatabaseVersionError(
                f"cannot bring the tunelab database {_shown(engine)} from schema revision "
                f"{found} to {HEAD_REVISION}: {error}"
            ) from error
    return True


def _shown(engine: Engine) -> str:
    """The database's URL as a message shows it (no password)."""
    return engine.url.render_as_string(hide_password=True)
