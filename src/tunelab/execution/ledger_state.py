"""The ledger's JSON document (:mod:`tunelab.execution.ledger`): reading it, dropping
what dead tunelab processes recorded, and the allocations and demands it holds."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

from tunelab.domain.instance_types import instance_type
from tunelab.execution.processes import process_start_time
from tunelab.execution.resources import Allocation, Demand

State = dict[str, Any]


_ME: tuple[int, int | None] | None = None
"""This process's pid and start time once read (a forked child has another pid)."""


def current_owner() -> list[int | None]:
    """This process as an owner of entries: its pid and start time (read once: every
    start and end of a job writes the ledger)."""
    global _ME
    pid = os.getpid()
    if _ME is None or _ME[0] != pid:
        _ME = (pid, process_start_time(pid))
    return list(_ME)


def owner_alive(owner: Sequence[Any]) -> bool:
    """Whether the process ``owner`` (pid and start time) still runs (this process
    without reading ``/proc``)."""
    pid, start = owner
    if start is None:
        return False
    return list(owner) == current_owner() or process_start_time(int(pid)) == start


def parse_state(data: bytes) -> State:
    """The state a file holds: its first JSON document (a tail left by a process killed
    mid-write is ignored); empty when there is none."""
    try:
        state, _ = json.JSONDecoder().raw_decode(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return empty_state()
    if not isinstance(state, dict):
        return empty_state()
    for key, value in empty_state().items():
        state.setdefault(key, value)
    return state


def empty_state() -> State:
    return {"allocations": [], "waiting": {}, "reclaims": {}, "holds": {}}


def drop_dead(state: State) -> None:
    """Forget what tunelab processes that are gone had recorded."""
    known: dict[tuple[Any, ...], bool] = {}

    def live(owner: Sequence[Any]) -> bool:
        key = tuple(owner)
        if key not in known:
            known[key] = owner_alive(owner)
        return known[key]

    state["allocations"] = [a for a in state["allocations"] if live(a["owner"])]
    state["waiting"] = {k: v for k, v in state["waiting"].items() if live(v["owner"])}
    running = {a["job"] for a in state["allocations"]}
    state["reclaims"] = {k: v for k, v in state["reclaims"].items() if k in running}


def allocations_in(state: State) -> list[Allocation]:
    return [
        Allocation(
            a["job"],
            a["host"],
            a["vcpus"],
            a["memory_bytes"],
            tuple(a["cpus"]),
            tuple(a["gpus"]),
            a["spot"],
            a["since"],
        )
        for a in state["allocations"]
    ]


def waiting_demand(entry: dict[str, Any]) -> Demand:
    found = instance_type(entry["instance"])
    assert found is not None
    return Demand(found, entry["hosts"])


def free_net(state: State) -> int:
    used = {a["net"] for a in state["allocations"] if a.get("net") is not None}
    index = 0
    while index in used:
        index += 1
    return index
