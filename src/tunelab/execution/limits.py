"""Pinning a host's process to its CPUs and limiting its memory.

**CPUs**: the program starts under ``taskset -c <cpus>`` (util-linux; it calls
``sched_setaffinity`` and execs the program, keeping its pid), so the program and every
thread or child it creates run on the host's CPUs only. A host given every CPU tunelab
itself may use inherits that affinity, and starts without ``taskset``.

**Memory**, by one of two mechanisms, chosen once per executor:

- **cgroup v2**, when ``TUNELAB_CGROUP_ROOT`` names a cgroup v2 directory delegated to
  tunelab (with the ``memory`` controller enabled in its ``cgroup.subtree_control``):
  each host gets a child cgroup with ``memory.max`` set to its instance's memory and no
  swap; the process joins it right after it starts (while ``taskset`` execs, before the
  program allocates anything). A program that goes over is killed by the kernel, and
  ``memory.events`` tells that it was (``oom_kill``).
- **RLIMIT_AS** otherwise (this is what machines without a delegated cgroup, like the
  one tunelab's tests run on, use): ``prlimit --as=<bytes>`` caps the address space of
  the program and its children at the instance's memory. An allocation beyond it fails
  (Python raises ``MemoryError``, C++ ``std::bad_alloc``, C's ``malloc`` returns NULL);
  the job then fails and its log tells why. The cap counts virtual memory, so programs
  that reserve much more address space than they use (the JVM, Go, CUDA) need a larger
  instance type than their resident memory suggests.

Either way a failed job whose memory ran out gets the ``FailureReason``
``OutOfMemoryError: ...`` naming its instance type and limit (:meth:`MemoryLimiter.oom`).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass

from tunelab.domain.instance_types import GIB

OOM_PATTERNS = re.compile(
    r"MemoryError|std::bad_alloc|Cannot allocate memory|out of memory|OutOfMemory",
    re.IGNORECASE,
)


def pin_prefix(cpus: Iterable[int]) -> list[str]:
    """The argv prefix that runs a program on ``cpus`` only."""
    return ["taskset", "-c", ",".join(str(c) for c in sorted(cpus))]


@dataclass
class HostLimit:
    """One host's memory limit while it runs; ``cgroup`` is its cgroup directory."""

    memory_bytes: int
    cgroup: str | None = None


class MemoryLimiter:
    """Limits hosts' memory with cgroup v2 (``cgroup_root`` given) or RLIMIT_AS."""

    def __init__(self, cgroup_root: str | None = None) -> None:
        self.cgroup_root = cgroup_root if cgroup_root and usable_cgroup(cgroup_root) else None

    @property
    def mechanism(self) -> str:
        return "cgroup v2 memory.max" if self.cgroup_root else "RLIMIT_AS"

    def prepare(self, name: str, memory_bytes: int) -> tuple[HostLimit, list[str]]:
        """The host's limit and the argv prefix that applies it (empty with a cgroup:
        :meth:`attach` applies it). ``name`` must be unique among running hosts."""
        if self.cgroup_root is None:
            return HostLimit(memory_bytes), ["prlimit", f"--as={memory_bytes}:{memory_bytes}"]
        path = os.path.join(self.cgroup_root, "tunelab-" + re.sub(r"[^A-Za-z0-9_.-]", "_", name))
        os.makedirs(path, exist_ok=True)
        _write(os.path.join(path, "memory.max"), str(memory_bytes))
        if os.path.exists(os.path.join(path, "memory.swap.max")):
            _write(os.path.join(path, "memory.swap.max"), "0")
        return HostLimit(memory_bytes, path), []

    def attach(self, limit: HostLimit, pid: int) -> None:
        """Move the just-started process into its cgroup (no-op with RLIMIT_AS)."""
        if limit.cgroup is not None:
            _write(os.path.join(limit.cgroup, "cgroup.procs"), str(pid))

    def oom(self, limit: HostLimit, log_tail: Iterable[str]) -> bool:
        """Whether the host's memory ran out: the cgroup's ``oom_kill`` count, or with
        RLIMIT_AS an allocation failure in the last log lines."""
        if limit.cgroup is not None:
            try:
                with open(os.path.join(limit.cgroup, "memory.events"), encoding="ascii") as f:
                    for line in f:
                        key, _, value = line.partition(" ")
                        if key == "oom_kill" and int(value) > 0:
                            return True
            except (OSError, ValueError):
                pass
            return False
        return any(OOM_PATTERNS.search(line) for line in log_tail)

    def release(self, limit: HostLimit) -> None:
        """Remove the host's cgroup (its processes are gone by now)."""
        if limit.cgroup is not None:
            try:
                os.rmdir(limit.cgroup)
            except OSError:
                shutil.rmtree(limit.cgroup, ignore_errors=True)

    def reason(self, instance: str, limit: HostLimit) -> str:
        return (
            f"OutOfMemoryError: the training job ran out of memory: {instance} has "
            f"{limit.memory_bytes / GIB:g} GiB (enforced with {self.mechanism}). Please use "
            "an instance type with more memory, or reduce the size of the data processed "
            "on an instance."
        )


def usable_cgroup(root: str) -> bool:
    """Whether ``root`` is a cgroup v2 directory whose children get the memory controller."""
    try:
        with open(os.path.join(root, "cgroup.subtree_control"), encoding="ascii") as f:
            return "memory" in f.read().split()
    except OSError:
        return False


def _write(path: str, value: str) -> None:
    with open(path, "w", encoding="ascii") as f:
        f.write(value)
