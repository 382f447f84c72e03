"""Who drives a tuning job, or a training job created on its own: a lease in the
store, renewed while the loop (or the training runner) runs.

The owner is ``<host>:<pid>:<process start time>``. A lease whose holder is a
process of this host that no longer exists is taken over at once (the holder was
killed); otherwise a lease is free when it has expired.
"""

from __future__ import annotations

import os
import socket

from tunelab.domain.errors import ConflictError
from tunelab.execution.clock import Clock
from tunelab.execution.processes import process_start_time
from tunelab.store.base import Lease, Store


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
    ``training_job``."""

    def __init__(
        self, store: Store, name: str, clock: Clock, ttl: float, training_job: bool = False
    ) -> None:
        self.store, self.name, self.clock, self.ttl = store, name, clock, ttl
        self.owner = this_process()
        self.held: Lease | None = None
        self._what = "Training job" if training_job else "Tuning job"
        self._get = store.get_training_job_lease if training_job else store.get_lease
        self._swap = store.swap_training_job_lease if training_job else store.swap_lease

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
        if not self._swap(self.name, current, new):
            raise ConflictError(f"{self._what} '{self.name}' was taken by another process")
        self.held = new

    def _held_by_another_live_process(self, lease: Lease | None, now: float) -> bool:
        if lease is None or lease.owner == self.owner:
            return False
        return lease.expires_at > now and not holder_is_dead(lease.owner)

    def renew(self) -> None:
        """Extend the lease when half of it has passed; ``ConflictError`` if lost."""
        if self.held is None:
            return
        now = self.clock.now()
        if self.held.expires_at - now > self.ttl / 2:
            return
        new = Lease(self.owner, now + self.ttl)
        if not self._swap(self.name, self.held, new):
            self.held = None
            raise ConflictError(
                f"{self._what} '{self.name}': the lease was taken by another process"
            )
        self.held = new

    def release(self) -> None:
        if self.held is not None:
            self._swap(self.name, self.held, None)
            self.held = None
