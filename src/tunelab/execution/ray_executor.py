"""The Ray executor: each training job attempt runs on a node of a Ray cluster.

:meth:`RayExecutor.submit` reserves a placement group of one bundle for the attempt: the
vCPUs of its ``InstanceCount`` instances, and their GPUs when the cluster has GPUs at all
(a GPU instance type on a cluster without GPUs runs on CPUs, as on one machine), all on
one node (``STRICT_PACK``: a job's hosts talk over that node's job network, as with the
local executor). A job no node of the cluster could hold even when idle fails at once,
naming what it needs and what the largest node has; one whose group is not ready within
:data:`ANNOUNCE_AFTER` seconds shows ``Starting`` "Waiting for capacity" until it is (or
until its ``MaxWaitTimeInSeconds``). A ready group's job goes to the
:class:`~.ray_agent.NodeAgent` of the node Ray put the group on, which runs it with the
node's local executor; Ray counts the job's CPUs and GPUs through the group, the node's
ledger picks which ones. The agents are this process's, shared by its Ray executors
(:mod:`.ray_pool`), which hands each executor the events of its own jobs: in order per
job, and :meth:`RayExecutor.wait` returns as soon as an agent it uses has news. A job's
group is removed when it ends.

:meth:`RayExecutor.close` stops the executor's jobs; an agent that no executor uses any
more is killed, and Ray kills the processes an actor started when it ends (also when the
driver dies): unlike the local executor's, a closed Ray executor's jobs do not run on,
and a resumed tuning job runs them again, as it does after a crash. Every node needs the
same tunelab installed and tunelab's home mounted at the same path
(:mod:`tunelab.service.executors` checks it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import ray
from ray.util.placement_group import (
    PlacementGroup,
    placement_group,
    placement_group_table,
    remove_placement_group,
)

from tunelab.domain.enums import SecondaryStatus, TrainingJobStatus
from tunelab.domain.instance_types import GIB
from tunelab.execution.base import (
    ExecutorEvent,
    Finished,
    LaunchRequest,
    StatusChanged,
)
from tunelab.execution.clock import Clock, SystemClock
from tunelab.execution.contract import AlgorithmImages
from tunelab.execution.job_processes import leftovers_on_this_machine
from tunelab.execution.local_jobs import max_wait_exceeded
from tunelab.execution.processes import terminate_orphans
from tunelab.execution.ray_agent import NodeRecipe
from tunelab.execution.ray_connect import connect
from tunelab.execution.ray_pool import as_raised_by_handlers, pool_of
from tunelab.execution.resources import DEFAULT_MEMORY_OVERCOMMIT, Demand, demand_of

ANNOUNCE_AFTER = 1.0
"""Seconds a placement group may take to be ready before its job shows it waits."""
_FAILED = TrainingJobStatus.FAILED, SecondaryStatus.FAILED
_STOPPED = TrainingJobStatus.STOPPED, SecondaryStatus.STOPPED


def _amounts(resources: dict[str, float], keys: dict[str, float]) -> str:
    """``16 CPUs and 32.0 GiB of memory``: ``resources``' amounts of ``keys``."""
    parts = []
    for key in keys:
        amount = resources.get(key, 0)
        memory = key == "memory"
        parts.append(f"{amount / GIB:.1f} GiB of memory" if memory else f"{amount:g} {key}s")
    return " and ".join(parts)


@dataclass
class _Waiting:
    request: LaunchRequest
    group: PlacementGroup
    ready: ray.ObjectRef
    since: float
    announced: bool = False


@dataclass
class _Job:
    attempt: int
    group: PlacementGroup
    node: str  # the Ray node id


class RayExecutor:
    """Runs attempts on a Ray cluster (module docstring). Not thread-safe.

    ``recipe`` builds each job's executor on its node; ``algorithms`` resolves
    ``AlgorithmName`` on the driver, whose store knows the registered algorithms;
    ``memory_overcommit`` divides a job's memory into the Ray ``memory`` it reserves."""

    def __init__(
        self,
        address: str,
        recipe: NodeRecipe,
        algorithms: AlgorithmImages | None = None,
        clock: Clock | None = None,
        stop_grace_seconds: float = 120.0,
        memory_overcommit: float = DEFAULT_MEMORY_OVERCOMMIT,
    ) -> None:
        connect(address)
        self._memory_overcommit = memory_overcommit
        self._algorithms = algorithms
        self._clock = clock or SystemClock()
        self._grace = stop_grace_seconds
        self._agents = pool_of(recipe)  # shared with this process's other Ray executors
        self._inbox: list[ExecutorEvent] = []  # the agents' events of this executor's jobs
        self._used: set[str] = set()  # the nodes this executor sent jobs to
        self._waiting: dict[str, _Waiting] = {}
        self._jobs: dict[str, _Job] = {}
        self._pending: list[ExecutorEvent] = []

    # -- Executor protocol ------------------------------------------------------------

    def submit(self, request: LaunchRequest) -> None:
        name = request.training_job_name
        if name in self._waiting or name in self._jobs or self._finished_pending(name):
            raise ValueError(f"training job {name} is already running")
        try:
            demand = demand_of(request.definition)
        except ValueError as exc:
            reason = f"ResourceConfig.InstanceType: {exc}"
            self._pending.append(Finished(name, self._clock.now(), *_FAILED, None, reason))
            return
        bundle, problem = self._bundle(demand)
        if problem is not None:
            self._pending.append(Finished(name, self._clock.now(), *_FAILED, None, problem))
            return
        group = placement_group([bundle], strategy="STRICT_PACK", name=f"tunelab:{name}")
        self._waiting[name] = _Waiting(request, group, group.ready(), self._clock.now())

    def poll(self) -> list[ExecutorEvent]:
        if self._waiting:
            self._start_ready()
        events, self._pending = self._pending, []
        if self._jobs:
            self._agents.pump(self._used, self._clock.now())
        news = self._agents.drain(self._inbox)
        for event in news:
            job = self._jobs.pop(event.name, None) if isinstance(event, Finished) else None
            if job is not None:
                remove_placement_group(job.group)
        return events + news

    def wait(self, timeout: float) -> None:
        if self._pending or self._inbox:
            return
        refs = self._agents.calls(self._used) if self._jobs else []
        refs += [w.ready for w in self._waiting.values()]
        now = self._clock.now()
        for waiting in self._waiting.values():  # wake for an announcement or a deadline
            due = [waiting.since + ANNOUNCE_AFTER] if not waiting.announced else []
            if waiting.request.not_after is not None:
                due.append(waiting.request.not_after)
            timeout = min([timeout, *(d - now for d in due)])
        timeout = max(0.0, timeout)
        if refs:
            with as_raised_by_handlers():
                ray.wait(refs, num_returns=1, timeout=timeout)
        elif timeout > 0:
            self._clock.sleep(timeout)

    def wait_handle(self) -> int | None:
        return None  # Ray's object refs are no file descriptors: polled on a timer

    def stop(self, name: str) -> None:
        waiting = self._waiting.pop(name, None)
        if waiting is not None:
            remove_placement_group(waiting.group)
            self._pending.append(Finished(name, self._clock.now(), *_STOPPED))
        elif name in self._jobs:
            self._agents.stop(name, self._jobs[name].attempt)

    def terminate_orphans(self, processes: Sequence[tuple[int, int | None]]) -> int:
        """Processes of this machine (a job's processes on Ray nodes end with its agent,
        which ends with the driver that started it)."""
        return terminate_orphans(processes, self._grace)

    def leftover_processes(
        self, attempts: Mapping[str, tuple[str, int]]
    ) -> dict[str, list[tuple[int, int]]]:
        """Those of this machine, as :meth:`terminate_orphans` ends (a node's processes
        end with its agent); started attempts by their logs in the shared home."""
        return leftovers_on_this_machine(attempts)

    def running(self) -> int:
        finished = sum(isinstance(e, Finished) for e in self._pending)
        return len(self._waiting) + len(self._jobs) + finished

    def close(self) -> None:
        """Stop this executor's jobs and free their groups; an agent no other executor of
        this process uses is killed, and with it what still runs there."""
        for name, job in self._jobs.items():
            self._agents.stop(name, job.attempt)
        self._agents.leave(self._inbox, self._used)
        groups = [j.group for j in self._jobs.values()] + [w.group for w in self._waiting.values()]
        for group in groups:
            remove_placement_group(group)
        self._jobs.clear()
        self._waiting.clear()

    # -- helpers ------------------------------------------------------------------------

    def _finished_pending(self, name: str) -> bool:
        return any(isinstance(e, Finished) and e.name == name for e in self._pending)

    def _bundle(self, demand: Demand) -> tuple[dict[str, float], str | None]:
        """The placement group's bundle for ``demand``, and why no node could hold it
        (None: some node could). Memory is Ray's ``memory`` resource: the instances'
        memory divided by the memory overcommit, as this machine's ledger counts it."""
        nodes = [n["Resources"] for n in ray.nodes() if n.get("Alive")]
        memory = float(demand.memory_bytes // self._memory_overcommit)
        bundle = {"CPU": float(demand.vcpus), "memory": memory}
        if any(n.get("GPU", 0) for n in nodes) and demand.instance.gpus:
            bundle["GPU"] = float(demand.instance.gpus * demand.hosts)
        if any(all(n.get(k, 0) >= v for k, v in bundle.items()) for n in nodes):
            return bundle, None
        largest = max(nodes, key=lambda n: (n.get("CPU", 0), n.get("memory", 0)), default={})
        return bundle, (
            f"ResourceConfig: {demand.hosts} x {demand.instance.name} needs "
            f"{_amounts(bundle, bundle)} on one node of the Ray cluster (memory: "
            f"{demand.memory_bytes / GIB:g} GiB / memory overcommit {self._memory_overcommit:g}"
            f", TUNELAB_MEMORY_OVERCOMMIT), and its largest node has "
            f"{_amounts(largest, bundle)} in all (ray start --num-cpus and --memory set what "
            "a node offers)"
        )

    def _start_ready(self) -> None:
        """Start an agent for each job whose group is ready; announce and time out the
        others."""
        readies = {w.ready: name for name, w in self._waiting.items()}
        done, _ = ray.wait(list(readies), num_returns=len(readies), timeout=0)
        for ref in done:
            waiting = self._waiting.pop(readies[ref])
            self._launch(waiting)
        now = self._clock.now()
        for name, waiting in list(self._waiting.items()):
            not_after = waiting.request.not_after
            if not_after is not None and now >= not_after:
                del self._waiting[name]
                remove_placement_group(waiting.group)
                self._pending.append(max_wait_exceeded(waiting.request, now))
            elif not waiting.announced and now - waiting.since >= ANNOUNCE_AFTER:
                waiting.announced = True
                message = "Waiting for capacity: no node of the Ray cluster has room for it yet"
                status = StatusChanged(name, now, SecondaryStatus.STARTING, message)
                self._pending.append(status)

    def _launch(self, waiting: _Waiting) -> None:
        """Send the job of a ready group to the agent of the group's node."""
        request = waiting.request
        images = {}
        algorithm = request.definition.algorithm_name
        if algorithm and self._algorithms is not None:
            image = self._algorithms(algorithm)
            if image is not None:
                images[algorithm] = image
        node_id = placement_group_table(waiting.group)["bundles_to_node_id"][0]
        self._agents.submit(node_id, request, images, self._inbox)
        self._used.add(node_id)
        self._jobs[request.training_job_name] = _Job(request.attempt, waiting.group, node_id)
