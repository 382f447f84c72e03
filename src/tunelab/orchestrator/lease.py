"""Who drives a tuning job, or a training job created on its own: a lease in the
store, renewed while the loop (or the training runner) runs.

The owner is ``<host>:<pid>:<process start time>``. A lease whose holder is a
process of this host that no longer exists is taken over at once (the holder was
killed); otherwise a lease is free when it has expired.

Two guards keep a slow driver from corrupting a job another process took over:

- a heartbeat (``heartbeat`` seconds, a daemon thread of this process) renews the
  lease while the keeper holds it, however long the driver's step (packing a large
  model, staging data), so that only a dead or stuck process loses it;
- :meth:`LeaseKeeper.fence` makes a store batch commit only while this process still
  holds the lease, checked inside the transaction; a driver whose batch is refused
  (``LeaseLost``) gets :meth:`LeaseKeeper.taken_over`'s ``ConflictError`` and must
  stop driving: no more writes, no launches.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import weakref

from tunelab.domain.errors import ConflictError
from tunelab.execution.clock import Clock
from tunelab.execution.processes import process_start_time
from tunelab.store.base import Lease, Store, StoreBatch

log = logging.getLogger("tunelab.lease")


def this_process() -> str:
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{process_start_time(pid) or 0}"


def holder_is_dead(owner: str) -> bool:
    """True when ``owner`` names a process of this host that is gone."""
    host, _, rest = owner.partition(":")
    pid_text, _, started = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    current = process_start_time(int(pid_text))
    return current is None or str(current) != started


class LeaseKeeper:
    """The lease of tuning job ``name``, or of standalone training job ``name`` when
    ``training_job``. With ``heartbeat`` (seconds), a thread renews it that often
    from :meth:`acquire` to :meth:`release` (or until the lease is lost, or the keeper
    is garbage). :meth:`renew` and :meth:`release` may run in any thread."""

    def __init__(
        self,
        store: Store,
        name: str,
        clock: Clock,
        ttl: float,
        training_job: bool = False,
        heartbeat: float | None = None,
    ) -> None:
        self.store, self.name, self.clock, self.ttl = store, name, clock, ttl
        self.owner = this_process()
        self.held: Lease | None = None
        self.lost = False
        """Another process took the lease over: this keeper never drives again."""
        self.heartbeat = heartbeat
        self._training_job = training_job
        self._what = "Training job" if training_job else "Tuning job"
        self._get = store.get_training_job_lease if training_job else store.get_lease
        self._swap = store.swap_training_job_lease if training_job else store.swap_lease
        self._lock = threading.Lock()
        self._beating: threading.Event | None = None
        """Set to end the heartbeat thread (None: no thread runs)."""

    def acquire(self) -> None:
        """Take the lease or raise ``ConflictError`` naming the live holder."""
        current = self._get(self.name)
        now = self.clock.now()
        if self._held_by_another_live_process(current, now):
            assert current is not None
            raise ConflictError(
                f"{self._what} '{self.name}' is being run by another process "
                f"({current.owner}); its lease expires in "
                f"{current.expires_at - now:.0f} s unless that process keeps running"
            )
        new = Lease(self.owner, now + self.ttl)
        with self._lock:
            if not self._swap(self.name, current, new):
                raise ConflictError(f"{self._what} '{self.name}' was taken by another process")
            self.held, self.lost = new, False
        self._start_heartbeat()

    def _held_by_another_live_process(self, lease: Lease | None, now: float) -> bool:
        if lease is None or lease.owner == self.owner:
            return False
        return lease.expires_at > now and not holder_is_dead(lease.owner)

    def renew(self) -> None:
        """Extend the lease when half of it has passed; ``ConflictError`` if lost."""
        with self._lock:
            self.check()
            if self.held is None:
                return
            now = self.clock.now()
            if self.held.expires_at - now > self.ttl / 2:
                return
            new = Lease(self.owner, now + self.ttl)
            if not self._swap(self.name, self.held, new):
                raise self._lose()
            self.held = new

    def check(self) -> None:
        """``ConflictError`` when the lease is known to be lost (no store access)."""
        if self.lost:
            raise self._taken_over_error()

    def fence(self, batch: StoreBatch) -> None:
        """Make ``batch`` commit only while this process holds the lease: else it
        raises ``LeaseLost`` (a ``ConflictError``) and writes nothing; then call
        :meth:`taken_over`."""
        if self._training_job:
            batch.require_training_job_lease(self.name, self.owner)
        else:
            batch.require_lease(self.name, self.owner)

    def taken_over(self) -> ConflictError:
        """Record that a fenced batch was refused; the error to raise."""
        with self._lock:
            return self._lose()

    def _lose(self) -> ConflictError:
        self.held, self.lost = None, True
        self._stop_heartbeat()
        return self._taken_over_error()

    def _taken_over_error(self) -> ConflictError:
        return ConflictError(
            f"another process took over {self._what.lower()} '{self.name}' (this "
            "process's lease on it ran out); this process stopped driving it"
        )

    def release(self) -> None:
        self._stop_heartbeat()
        with self._lock:
            if self.held is not None:
                self._swap(self.name, self.held, None)
                self.held = None

    # -- the heartbeat -------------------------------------------------------------------

    def _start_heartbeat(self) -> None:
        if self.heartbeat is None or self._beating is not None:
            return
        self._beating = threading.Event()
        threading.Thread(
            target=_beat,
            args=(weakref.ref(self), self._beating, self.heartbeat),
            name=f"tunelab-lease-{self.name}",
            daemon=True,
        ).start()

    def _stop_heartbeat(self) -> None:
        if self._beating is not None:
            self._beating.set()
            self._beating = None


def _beat(keeper_ref: weakref.ref[LeaseKeeper], stop: threading.Event, interval: float) -> None:
    """Renew the keeper's lease every ``interval`` seconds until ``stop`` is set, the
    lease is lost or released, or the keeper is garbage. A store error is logged and
    tried again at the next beat (the lease has ttl/2 left when renewed)."""
    while not stop.wait(interval):
        keeper = keeper_ref()
        if keeper is None or keeper.held is None:
            return
        try:
            keeper.renew()
        except ConflictError:
            log.warning("%s", keeper._taken_over_error().message)
            return
        except Exception:
            log.warning("renewing the lease of %s failed", keeper.name, exc_info=True)
        del keeper
