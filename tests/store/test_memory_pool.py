"""An in-memory store used from several threads (the lease heartbeat beside the
tuning loop, a server's request threads): one thread's transaction at a time."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from tunelab.store.sql import memory_pool
from tunelab.store.sql.engine import make_engine


@pytest.fixture
def engine():
    engine = make_engine("sqlite://")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (v INTEGER)"))
    yield engine
    engine.dispose()


def test_a_second_threads_transaction_waits_for_the_first(engine) -> None:
    """Thread B writes while thread A's transaction is open: B waits, then commits;
    A's transaction is not undone by B (it was: B's BEGIN failed, and the rollback of
    B's checkin ended A's transaction)."""
    a_began, b_done = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def b() -> None:
        a_began.wait()
        try:
            with engine.begin() as conn:
                conn.execute(text("INSERT INTO t VALUES (2)"))
        except BaseException as error:  # reported by the test below
            errors.append(error)
        b_done.set()

    other = threading.Thread(target=b)
    other.start()
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
        a_began.set()
        assert not b_done.wait(0.3)  # B waits for A's commit
        conn.execute(text("INSERT INTO t VALUES (3)"))
    other.join(10)
    assert errors == []
    with engine.connect() as conn:
        assert sorted(conn.execute(text("SELECT v FROM t")).scalars()) == [1, 2, 3]


def test_the_same_thread_may_nest_checkouts(engine) -> None:
    with engine.connect(), engine.connect() as inner:  # does not wait for itself
        assert inner.execute(text("SELECT count(*) FROM t")).scalar() == 0
    done = threading.Event()
    threading.Thread(target=lambda: (engine.connect().close(), done.set())).start()
    assert done.wait(5)  # both checkouts were given back


def test_a_thread_gives_up_after_the_wait(engine, monkeypatch) -> None:
    monkeypatch.setattr(memory_pool, "WAIT_SECONDS", 0.1)
    failures: list[str] = []

    def other() -> None:
        try:
            engine.connect().close()
        except Exception as error:
            failures.append(str(error))

    with engine.connect():
        thread = threading.Thread(target=other)
        thread.start()
        thread.join(5)
    assert len(failures) == 1 and "in use by another thread for 0.1 s" in failures[0]
