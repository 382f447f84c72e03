"""The machine's ledger: which training job holds which share of this machine, shared by
every tunelab process that runs jobs here (``$TUNELAB_HOME/machine.json``, read and
written under an exclusive ``flock``; in memory for a single process).

It records, per running host, its vCPUs, memory, pinned CPUs and GPUs (admission and
placement: :mod:`.resources`); the on-demand jobs waiting for room (spot jobs leave it
to them); and spot capacity reclaimed from a running job, by on-demand work that needs
the room or by a drill (``tunelab spot interrupt``), with how long that capacity stays
away. Entries of a tunelab process that died are dropped at the next write.

The file is rewritten in place (one ``pwrite`` of the whole JSON document, then a
truncate), not through a new file and a rename: a job start and end each write it, and a
rename is a metadata operation that slow disks make cost milliseconds. A process killed
between the two calls leaves the complete new document followed by a tail of the old
one, which :func:`~tunelab.execution.ledger_state.parse_state` ignores.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

from tunelab.execution.ledger_state import (
    State,
    allocations_in,
    current_owner,
    drop_dead,
    empty_state,
    free_net,
    parse_state,
    waiting_demand,
)
from tunelab.execution.resources import (
    Allocation,
    Demand,
    HostPlacement,
    Machine,
    Overcommit,
    fits,
    overlapping,
    place,
)

SETTLED_NS = 100_000_000
"""How long (0.1 s) the file must be unchanged before a read of it is cached."""


@dataclass(frozen=True)
class Admission:
    """``placements`` (one per host) when admitted, else None and ``reason`` why the job
    waits. ``net`` is the job's network index when one was asked for."""

    placements: list[HostPlacement] | None
    reason: str = ""
    net: int | None = None


class Ledger:
    """See the module docstring. Thread-safe; ``path`` None keeps it in this process."""

    def __init__(
        self, machine: Machine, policy: Overcommit | None = None, path: str | None = None
    ) -> None:
        self.machine, self.policy, self.path = machine, policy or Overcommit(), path
        self._lock = threading.Lock()
        self._memory: State = empty_state()
        self._seen: tuple[int, int] | None = None
        self._reclaims: dict[str, Any] = {}
        if path is not None:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)

    # -- the executor's side ------------------------------------------------------------

    def admit(
        self, job: str, demand: Demand, hosts: Sequence[str], now: float, want_net: bool = False
    ) -> Admission:
        """Admit ``job`` if it fits (a spot job also leaves room for waiting on-demand
        jobs and respects a hold on its capacity); else record why it waits, and for an
        on-demand job reclaim the spot jobs whose room it needs."""
        with self._state() as state:
            allocations = allocations_in(state)
            hold = state["holds"].get(job)
            if demand.spot and hold is not None and now < hold:
                return Admission(
                    None, f"spot capacity was reclaimed; it is back in {hold - now:.0f} s"
                )
            waiting = [
                waiting_demand(entry) for name, entry in state["waiting"].items() if name != job
            ]
            reserved = waiting if demand.spot else []
            busy = _directory_in_use(state, demand, job)
            if busy is not None:
                return Admission(None, busy)
            if fits(demand, self.machine, self.policy, allocations, reserved):
                placements = place(demand, hosts, self.machine, allocations)
                net = free_net(state) if want_net else None
                for placement in placements:
                    state["allocations"].append(
                        {
                            **asdict(
                                Allocation(
                                    job,
                                    placement.host,
                                    demand.instance.vcpus,
                                    demand.instance.memory_bytes,
                                    placement.cpus,
                                    placement.gpus,
                                    demand.spot,
                                    now,
                                )
                            ),
                            "owner": current_owner(),
                            "net": net,
                            "directories": list(demand.directories),
                        }
                    )
                state["waiting"].pop(job, None)
                state["holds"].pop(job, None)
                return Admission(placements, net=net)
            if not demand.spot:
                state["waiting"][job] = {
                    "instance": demand.instance.name,
                    "hosts": demand.hosts,
                    "owner": current_owner(),
                }
                self._reclaim_for(state, demand, allocations, job)
            return Admission(None, self._why(demand, allocations))

    def release(self, job: str) -> None:
        """Forget everything about ``job`` but a hold on its spot capacity."""
        with self._state() as state:
            state["allocations"] = [a for a in state["allocations"] if a["job"] != job]
            state["waiting"].pop(job, None)
            state["reclaims"].pop(job, None)

    def interrupted(self, job: str) -> None:
        """The executor interrupted ``job`` for a reclaim: its capacity is held away until
        the reclaim's ``hold_until`` (if any), and the job's share is released."""
        with self._state() as state:
            reclaim = state["reclaims"].pop(job, None)
            if reclaim is not None and reclaim.get("hold_until") is not None:
                state["holds"][job] = reclaim["hold_until"]
            state["allocations"] = [a for a in state["allocations"] if a["job"] != job]

    def reclaimed(self, jobs: Iterable[str]) -> dict[str, str]:
        """Which of ``jobs`` had their spot capacity reclaimed, with the reason. Cheap:
        the file is read again only when it changed."""
        wanted = set(jobs)
        if not wanted:
            return {}
        if self.path is None:
            with self._lock:
                reclaims = dict(self._memory["reclaims"])
        else:
            try:
                info = os.stat(self.path)
            except FileNotFoundError:
                return {}
            seen = (info.st_mtime_ns, info.st_size)
            if seen != self._seen:
                with self._lock:
                    self._reclaims = dict(self._read().get("reclaims", {}))
                    # a write within the clock's granularity may keep the same mtime:
                    # trust the copy only once the file has been still for a while
                    settled = time.time_ns() - info.st_mtime_ns > SETTLED_NS
                    self._seen = seen if settled else None
            reclaims = self._reclaims
        return {job: reclaims[job]["reason"] for job in wanted if job in reclaims}

    # -- drills and reports -----------------------------------------------------------------

    def request_interrupt(self, job: str, reason: str, hold_until: float | None) -> bool:
        """Reclaim the capacity of the running spot job ``job`` (False: it holds none)."""
        with self._state() as state:
            if not any(a["job"] == job and a["spot"] for a in state["allocations"]):
                return False
            state["reclaims"][job] = {"reason": reason, "hold_until": hold_until}
            return True

    def allocations(self) -> list[Allocation]:
        with self._state() as state:
            return allocations_in(state)

    # -- internals ----------------------------------------------------------------------------

    def _reclaim_for(
        self, state: State, demand: Demand, allocations: list[Allocation], job: str
    ) -> None:
        """Reclaim spot jobs, newest first, until ``demand`` would fit (none if it could
        not fit even without any spot job)."""
        spot_jobs: dict[str, float] = {}
        for allocation in allocations:
            if allocation.spot and allocation.job not in state["reclaims"]:
                spot_jobs[allocation.job] = max(spot_jobs.get(allocation.job, 0), allocation.since)
        left = [a for a in allocations if a.job not in state["reclaims"]]
        victims = []
        for victim in sorted(spot_jobs, key=lambda name: -spot_jobs[name]):
            if fits(demand, self.machine, self.policy, left):
                break
            left = [a for a in left if a.job != victim]
            victims.append(victim)
        if victims and fits(demand, self.machine, self.policy, left):
            for victim in victims:
                state["reclaims"][victim] = {
                    "reason": f"spot capacity was reclaimed for the on-demand job {job}",
                    "hold_until": None,
                }

    def _why(self, demand: Demand, allocations: list[Allocation]) -> str:
        vcpus = sum(a.vcpus for a in allocations)
        memory = sum(a.memory_bytes for a in allocations) / (1 << 30)
        return (
            f"waiting for capacity: {demand.hosts} x {demand.instance.name} next to "
            f"{len(allocations)} running instances ({vcpus} vCPUs, {memory:g} GiB) of "
            f"{self.policy.vcpus(self.machine):g} vCPUs and "
            f"{self.policy.memory_bytes(self.machine) / (1 << 30):.1f} GiB"
        )

    @contextmanager
    def _state(self) -> Iterator[State]:
        """The state, locked for this thread and (with a file) every process; written
        back when the block exits without error."""
        with self._lock:
            if self.path is None:
                yield self._memory
                return
            with open(self.path + ".lock", "a+") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
                try:
                    state = parse_state(os.pread(fd, os.fstat(fd).st_size, 0))
                    drop_dead(state)
                    yield state
                    data = json.dumps(state).encode()
                    os.pwrite(fd, data, 0)
                    os.ftruncate(fd, len(data))
                finally:
                    os.close(fd)

    def _read(self) -> State:
        try:
            with open(self.path or "", "rb") as f:
                return parse_state(f.read())
        except FileNotFoundError:
            return empty_state()


_DEFAULT_LEDGER: Ledger | None = None


def default_ledger() -> Ledger:
    """One in-memory ledger per process, for executors given none."""
    global _DEFAULT_LEDGER
    if _DEFAULT_LEDGER is None:
        _DEFAULT_LEDGER = Ledger(Machine.detect(), Overcommit.from_env())
    return _DEFAULT_LEDGER


def _directory_in_use(state: State, demand: Demand, job: str) -> str | None:
    """Why ``job`` waits for one of its directories that another running job holds, or
    None when it holds none of them."""
    for entry in state["allocations"]:
        if entry["job"] == job:
            continue
        for held in entry.get("directories", ()):
            for wanted in demand.directories:
                if overlapping(wanted, held):
                    return (
                        f"waiting for the checkpoint directory {wanted}: training job "
                        f"{entry['job']} is using {held} (a CheckpointConfig.LocalPath outside "
                        "/opt/ml/ is one directory of this machine, so the jobs that name it "
                        "run one at a time; a path under /opt/ml/ is each job's own)"
                    )
    return None
