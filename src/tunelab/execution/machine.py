"""The machine tunelab runs training jobs on: its CPUs, memory and GPUs
(:class:`Machine`, used by :mod:`tunelab.execution.resources`)."""

from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass

_UNLIMITED = 1 << 60  # cgroup v1 reports "no limit" as a huge number


@dataclass(frozen=True)
class Machine:
    """The CPUs (ids), memory and GPUs (CUDA indexes) tunelab may give to jobs."""

    cpus: tuple[int, ...]
    memory_bytes: int
    gpus: tuple[str, ...] = ()

    @classmethod
    def detect(cls) -> Machine:
        """This process's CPUs (its affinity), the memory it may use (MemTotal, or a
        smaller limit of its cgroup) and the NVIDIA GPUs under ``/dev``."""
        cpus = tuple(sorted(os.sched_getaffinity(0)))
        memory = _meminfo_total()
        for limit in (_cgroup_memory_limit(),):
            if limit is not None and 0 < limit < memory:
                memory = limit
        gpus = tuple(
            sorted(
                (m.group(1) for p in glob.glob("/dev/nvidia*") if (m := _GPU.match(p))),
                key=int,
            )
        )
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        if visible is not None:
            gpus = tuple(g for g in visible.split(",") if g.strip() in gpus)
        return cls(cpus, memory, gpus)


_GPU = re.compile(r"^/dev/nvidia(\d+)$")


def _meminfo_total() -> int:
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def _cgroup_memory_limit() -> int | None:
    """The memory limit of this process's cgroup (v2 ``memory.max``, v1
    ``memory.limit_in_bytes``), None when there is none."""
    try:
        with open("/proc/self/cgroup", encoding="ascii") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controllers == "":
            candidate = f"/sys/fs/cgroup{path}/memory.max"
        elif "memory" in controllers.split(","):
            candidate = f"/sys/fs/cgroup/memory{path}/memory.limit_in_bytes"
        else:
            continue
        try:
            with open(candidate, encoding="ascii") as f:
                text = f.read().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < _UNLIMITED:
            return int(text)
    return None
