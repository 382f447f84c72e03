"""Who drives a tuning job: a lease in the store, renewed while the loop runs.

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
    def __init__(self, store: Store, name: str, clock: Clock, ttl: float) -> None:
        self.store, self.name, self.clock, self.ttl = store, name, clock, ttl
        self.owner = this_process()
        self.held: Lease | None = None

    def acquire(self) -> None:
        """Take the lease or raise ``ConflictError`` naming the live holder."""
        current = self.store.get_lease(self.name)
        now = self.clock.now()
        if self._held_by_another_live_process(current, now):
            assert current is not None
            raise ConflictError(
                f"Tuning job '{self.name}' is being run by another process "
                f"({current.owner}); its lease expires in "
                f"{current.expires_at - now:.0f} s unless that process keeps running"
            )
        new = Lease(self.owner, now + self.ttl)
        if not self.store.swap_lease(self.name, current, new):
            raise ConflictError(f"Tuning job '{self.name}' was taken by another process")
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
        if not self.store.swap_lease(self.name, self.held, new):
            self.held = None
            raise ConflictError(
                f"Tuning job '{self.name}': the lease was taken by another process"
            )
        self.held = new

    def release(self) -> None:
        if self.held is not None:
            self.store.swap_lease(self.name, self.held, None)
            self.held = None
