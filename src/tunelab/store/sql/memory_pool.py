"""The pool of an in-memory SQLite database: one connection, one thread at a time.

An in-memory database lives in the one connection that created it, so every thread
must share that connection (SQLAlchemy's ``StaticPool``). A SQLite connection holds
one transaction: a second thread's ``BEGIN`` inside the first's fails ("cannot start
a transaction within a transaction"), and the rollback SQLAlchemy does when that
thread hands the connection back would undo the first thread's open transaction.
:class:`SerializedStaticPool` lends the connection to one thread at a time; the
others wait, as writers of a SQLite file wait for its lock.
"""

from __future__ import annotations

import threading
import time

from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

WAIT_SECONDS = 30.0
"""How long a thread waits for the connection (SQLite files' busy timeout)."""


class _Turn:
    """Held by one thread at a time. The holder may take it again without waiting: a
    nested checkout shares the connection, as StaticPool always did. SQLAlchemy checks
    the shared connection in once however many of the holder's checkouts were open
    (at the first close), so one give-back ends the turn, from whatever thread it
    comes (the garbage collector's thread may hand back a forgotten connection)."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._owner: int | None = None

    def take(self, wait: float) -> None:
        me = threading.get_ident()
        deadline = time.monotonic() + wait
        with self._changed:
            while self._owner not in (None, me):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise PoolTimeout(
                        f"the in-memory database stayed in use by another thread for {wait:g} s"
                    )
                self._changed.wait(left)
            self._owner = me

    def give_back(self) -> None:
        with self._changed:
            self._owner = None
            self._changed.notify()


class SerializedStaticPool(StaticPool):
    """``StaticPool`` whose one connection is checked out by one thread at a time."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._turn = _Turn()

    def _do_get(self) -> ConnectionPoolEntry:
        self._turn.take(WAIT_SECONDS)
        try:
            return super()._do_get()
        except BaseException:
            self._turn.give_back()
            raise

    def _do_return_conn(self, record: ConnectionPoolEntry) -> None:
        try:
            super()._do_return_conn(record)
        finally:
            self._turn.give_back()
