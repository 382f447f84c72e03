"""What this machine offers training jobs, and how a job's instances share it.

**The overcommit policy.** A training job asks for ``InstanceCount`` instances of its
``InstanceType`` (:mod:`tunelab.domain.instance_types`; no type: ``ml.m5.large``). All
of them run on this machine, which offers

- ``cpus x cpu_overcommit`` vCPUs (``TUNELAB_CPU_OVERCOMMIT``, default 10: a 2-core
  machine runs ten ``ml.m5.large`` at once), CPUs being time-shared;
- ``memory x memory_overcommit`` of memory (``TUNELAB_MEMORY_OVERCOMMIT``, default 4:
  programs seldom use all of their instance's memory, and each one is limited to it);
- its GPUs, one job at a time (never overcommitted).

A job is admitted when the vCPUs, memory and GPUs of the jobs running plus its own fit
in that offer; otherwise it waits (secondary status ``Starting``) until they do. A job
that could not fit even on an idle machine is refused at create time
(``ResourceLimitExceeded``, :func:`oversize`).

**A host's share.** Each instance ("host") is pinned (``sched_setaffinity``) to
``min(vCPUs, machine CPUs)`` CPUs, the least loaded ones, and told its share of them:
``SM_NUM_CPUS``, ``OMP_NUM_THREADS``, ``MKL_NUM_THREADS`` and ``OPENBLAS_NUM_THREADS``
are the pinned CPUs divided by the number of hosts sharing the busiest of them at
launch (at least 1). Its memory is limited to its instance's (:mod:`.limits`). GPUs
are given by ``CUDA_VISIBLE_DEVICES``; a GPU instance type on a machine without GPUs
runs on its CPUs with ``SM_NUM_GPUS=0``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from tunelab.domain.definition import TrainingJobDefinition
from tunelab.domain.instance_types import GIB, InstanceType, instance_type
from tunelab.execution.job_dir import shared_checkpoint_dir
from tunelab.execution.machine import Machine

DEFAULT_CPU_OVERCOMMIT = 10.0
DEFAULT_MEMORY_OVERCOMMIT = 4.0


@dataclass(frozen=True)
class Overcommit:
    """How far the machine's CPUs and memory are promised to jobs (module docstring)."""

    cpu: float = DEFAULT_CPU_OVERCOMMIT
    memory: float = DEFAULT_MEMORY_OVERCOMMIT

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Overcommit:
        """``TUNELAB_CPU_OVERCOMMIT`` / ``TUNELAB_MEMORY_OVERCOMMIT`` (numbers >= 1)."""
        env = os.environ if env is None else env
        values = []
        for key, default in (
            ("TUNELAB_CPU_OVERCOMMIT", DEFAULT_CPU_OVERCOMMIT),
            ("TUNELAB_MEMORY_OVERCOMMIT", DEFAULT_MEMORY_OVERCOMMIT),
        ):
            text = env.get(key)
            try:
                value = float(text) if text else default
            except ValueError:
                raise ValueError(f"{key} must be a number; got {text!r}") from None
            if value < 1:
                raise ValueError(f"{key} must be at least 1; got {text}")
            values.append(value)
        return cls(*values)

    def vcpus(self, machine: Machine) -> float:
        """The vCPUs the machine offers jobs."""
        return len(machine.cpus) * self.cpu

    def memory_bytes(self, machine: Machine) -> float:
        return machine.memory_bytes * self.memory


@dataclass(frozen=True)
class Demand:
    """What one training job asks of the machine: ``hosts`` instances of ``instance``,
    and the ``directories`` of this machine it needs to itself (a checkpoint ``LocalPath``
    outside ``/opt/ml/``, :func:`~tunelab.execution.job_dir.shared_checkpoint_dir`)."""

    instance: InstanceType
    hosts: int = 1
    spot: bool = False
    directories: tuple[str, ...] = ()

    @property
    def vcpus(self) -> int:
        return self.instance.vcpus * self.hosts

    @property
    def memory_bytes(self) -> int:
        return self.instance.memory_bytes * self.hosts

    def gpus_per_host(self, machine: Machine) -> int:
        return min(self.instance.gpus, len(machine.gpus))


def demand_of(definition: TrainingJobDefinition) -> Demand:
    """The job's demand. Raises ``ValueError`` for an instance type not in the catalog
    (create-time validation refuses those)."""
    found = instance_type(definition.resources.instance_type)
    if found is None:
        raise ValueError(f"unknown instance type {definition.resources.instance_type!r}")
    hosts = max(1, definition.resources.instance_count)
    shared = shared_checkpoint_dir(definition)
    directories = (shared,) if shared is not None else ()
    return Demand(found, hosts, definition.enable_managed_spot, directories)


def overlapping(a: str, b: str) -> bool:
    """Whether directory ``a`` is ``b``, inside it, or holds it."""
    return a == b or a.startswith(b.rstrip("/") + "/") or b.startswith(a.rstrip("/") + "/")


def oversize(
    definition: TrainingJobDefinition, machine: Machine, policy: Overcommit
) -> list[tuple[str, str]]:
    """Why the job can never run here, as ``(field, message)`` pairs (``field`` under
    ``ResourceConfig``); empty when an idle machine admits it."""
    resources = definition.resources
    found = instance_type(resources.instance_type)
    if found is None:
        return [
            (
                "InstanceType",
                f"{resources.instance_type} is not in tunelab's instance catalog (its vCPUs, "
                "memory and GPUs are unknown); use another training instance type",
            )
        ]
    problems: list[tuple[str, str]] = []
    count = max(1, resources.instance_count)
    offer_cpu, offer_memory = policy.vcpus(machine), policy.memory_bytes(machine)
    cpu_offer = (
        f"this machine offers {offer_cpu:g} ({len(machine.cpus)} CPUs x CPU overcommit "
        f"{policy.cpu:g}, TUNELAB_CPU_OVERCOMMIT)"
    )
    memory_offer = (
        f"this machine offers {offer_memory / GIB:.1f} GiB ({machine.memory_bytes / GIB:.1f} "
        f"GiB x memory overcommit {policy.memory:g}, TUNELAB_MEMORY_OVERCOMMIT)"
    )
    if found.vcpus > offer_cpu:
        problems.append(("InstanceType", f"{found.name} has {found.vcpus} vCPUs; {cpu_offer}"))
    elif found.vcpus * count > offer_cpu:
        problems.append(
            (
                "InstanceCount",
                f"{count} x {found.name} need {found.vcpus * count} vCPUs at once; {cpu_offer}",
            )
        )
    if found.memory_bytes > offer_memory:
        problems.append(
            (
                "InstanceType",
                f"{found.name} has {found.memory_gib:g} GiB of memory; {memory_offer}",
            )
        )
    elif found.memory_bytes * count > offer_memory:
        problems.append(
            (
                "InstanceCount",
                f"{count} x {found.name} need {found.memory_gib * count:g} GiB of memory at "
                f"once; {memory_offer}",
            )
        )
    if machine.gpus and min(found.gpus, len(machine.gpus)) * count > len(machine.gpus):
        problems.append(
            (
                "InstanceCount",
                f"{count} x {found.name} need {min(found.gpus, len(machine.gpus)) * count} "
                f"GPUs at once; this machine has {len(machine.gpus)}",
            )
        )
    return problems


@dataclass(frozen=True)
class Allocation:
    """One running host's share of the machine, as the ledger records it."""

    job: str
    host: str
    vcpus: int
    memory_bytes: int
    cpus: tuple[int, ...]
    gpus: tuple[str, ...] = ()
    spot: bool = False
    since: float = 0.0


@dataclass(frozen=True)
class HostPlacement:
    """Where one host of an admitted job runs: its pinned CPUs, its thread share, its
    memory limit and GPUs."""

    host: str
    cpus: tuple[int, ...]
    threads: int
    memory_bytes: int
    gpus: tuple[str, ...] = ()


def fits(
    demand: Demand,
    machine: Machine,
    policy: Overcommit,
    running: Iterable[Allocation],
    reserved: Sequence[Demand] = (),
) -> bool:
    """Whether ``demand`` fits next to ``running`` and the ``reserved`` demands."""
    used = list(running)
    vcpus = sum(a.vcpus for a in used) + sum(d.vcpus for d in reserved) + demand.vcpus
    memory = (
        sum(a.memory_bytes for a in used)
        + sum(d.memory_bytes for d in reserved)
        + demand.memory_bytes
    )
    gpus_used = {g for a in used for g in a.gpus}
    gpus = sum(d.gpus_per_host(machine) * d.hosts for d in reserved)
    gpus += demand.gpus_per_host(machine) * demand.hosts
    return (
        vcpus <= policy.vcpus(machine) + 1e-9
        and memory <= policy.memory_bytes(machine) + 1e-9
        and gpus <= len(machine.gpus) - len(gpus_used)
    )


def place(
    demand: Demand, hosts: Sequence[str], machine: Machine, running: Iterable[Allocation]
) -> list[HostPlacement]:
    """CPUs, thread share and GPUs of each host (the demand must fit: :func:`fits`)."""
    load = dict.fromkeys(machine.cpus, 0)
    gpus_used: set[str] = set()
    for allocation in running:
        for cpu in allocation.cpus:
            if cpu in load:
                load[cpu] += 1
        gpus_used.update(allocation.gpus)
    free_gpus = [g for g in machine.gpus if g not in gpus_used]
    placements = []
    width = max(1, min(demand.instance.vcpus, len(machine.cpus)))
    for host in hosts:
        chosen = tuple(sorted(sorted(load, key=lambda c: (load[c], c))[:width]))
        sharers = max(load[c] for c in chosen) + 1
        for cpu in chosen:
            load[cpu] += 1
        count = demand.gpus_per_host(machine)
        gpus, free_gpus = tuple(free_gpus[:count]), free_gpus[count:]
        threads = max(1, len(chosen) // sharers)
        placements.append(HostPlacement(host, chosen, threads, demand.instance.memory_bytes, gpus))
    return placements
