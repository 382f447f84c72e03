"""This process's node agents on a Ray cluster, shared by all of its Ray executors.

``tunelab serve`` runs one executor per tuning job in progress; an agent per node and
executor would be a worker process per node and tuning job. An :class:`AgentPool` keeps
one :class:`~.ray_agent.NodeAgent` per node (started on first use), one ``events`` call
in flight per agent, and hands each executor the events of its own jobs (training job
names are unique). An agent is killed, and with it what still runs there, when no
executor uses it any more. Thread-safe: the executors may be driven from several threads.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import ray
from ray.exceptions import RayError
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from tunelab.domain.enums import SecondaryStatus, TrainingJobStatus
from tunelab.execution.base import ExecutorEvent, Finished, LaunchRequest
from tunelab.execution.ray_agent import NodeAgent, NodeRecipe

EVENTS_TIMEOUT = 30.0
"""How long one ``events`` call of an agent waits for news before it returns empty."""
_FAILED = TrainingJobStatus.FAILED, SecondaryStatus.FAILED
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def lost_reason(error: RayError) -> str:
    """The ``FailureReason`` of a job whose agent died: Ray's last line says why (e.g.
    ``ModuleNotFoundError: No module named 'tunelab'`` on a node without tunelab)."""
    lines = [line.strip() for line in _ANSI.sub("", str(error)).splitlines() if line.strip()]
    cause = _brief(lines[-1]) if lines else type(error).__name__
    if "creation task" in str(error):
        return (
            f"the job's Ray actor could not start on its node: {cause} (every node needs the "
            "same tunelab installed)"
        )
    return (
        f"the job's Ray agent was lost (its node or its process ended): "
        f"{type(error).__name__}: {cause}"
    )


def _brief(text: str, limit: int = 200) -> str:
    """``text``'s first sentences up to ``limit`` characters (Ray's messages go on with
    general advice)."""
    if len(text) <= limit:
        return text
    cut = text.rfind(". ", 0, limit)
    return text[: cut + 1] if cut > 0 else text[: limit - 1] + "…"


@contextmanager
def as_raised_by_handlers() -> Iterator[None]:
    """Ray runs this process's signal handlers inside its blocking calls and wraps what
    they raise (``tunelab run``'s SIGTERM ends the command that way) in a ``SystemError``:
    raise it as itself."""
    try:
        yield
    except SystemError as error:
        if isinstance(error.__cause__, BaseException):
            raise error.__cause__ from None
        raise


@dataclass
class _Node:
    agent: Any  # the NodeAgent actor's handle
    call: ray.ObjectRef  # the events() call in flight
    users: set[int] = field(default_factory=set)  # ids of the executors' inboxes


class AgentPool:
    """The node agents of one recipe in this process (module docstring)."""

    def __init__(self, recipe: NodeRecipe) -> None:
        self._recipe = recipe
        self._agent_class = ray.remote(NodeAgent)
        self._lock = threading.Lock()
        self._nodes: dict[str, _Node] = {}
        self._inboxes: dict[str, list[ExecutorEvent]] = {}  # job -> its executor's inbox
        self._where: dict[str, str] = {}  # job -> node id

    def submit(
        self,
        node_id: str,
        request: LaunchRequest,
        images: dict[str, str],
        inbox: list[ExecutorEvent],
    ) -> None:
        """Run ``request`` on ``node_id``'s agent; its events go to ``inbox``."""
        name = request.training_job_name
        with self._lock:
            node = self._nodes.get(node_id)
            if node is None:
                strategy = NodeAffinitySchedulingStrategy(node_id, soft=False)
                agent = self._agent_class.options(
                    scheduling_strategy=strategy, num_cpus=0, max_concurrency=4
                ).remote(self._recipe)
                node = self._nodes[node_id] = _Node(agent, agent.events.remote(EVENTS_TIMEOUT))
            node.users.add(id(inbox))
            self._inboxes[name], self._where[name] = inbox, node_id
            node.agent.submit.remote(request, images)

    def stop(self, name: str, attempt: int) -> None:
        with self._lock:
            node = self._nodes.get(self._where.get(name, ""))
            if node is not None:
                node.agent.stop.remote(name, attempt)

    def calls(self, nodes: Iterable[str]) -> list[ray.ObjectRef]:
        """The calls in flight of ``nodes``' agents (ready when they have news)."""
        with self._lock:
            return [self._nodes[n].call for n in nodes if n in self._nodes]

    def pump(self, nodes: Iterable[str], now: float) -> None:
        """Take what ``nodes``' agents returned and put each event in its job's inbox; a
        lost agent's jobs end Failed (``internal``: they may run again)."""
        with self._lock:
            calls = {self._nodes[n].call: n for n in set(nodes) if n in self._nodes}
            if not calls:
                return
            with as_raised_by_handlers():
                done, _ = ray.wait(list(calls), num_returns=len(calls), timeout=0)
            for call in done:
                node_id = calls[call]
                try:
                    with as_raised_by_handlers():
                        news: list[ExecutorEvent] = ray.get(call)
                except RayError as error:  # the agent could not start, or its node was lost
                    news = self._lose(node_id, lost_reason(error), now)
                else:
                    node = self._nodes[node_id]
                    node.call = node.agent.events.remote(EVENTS_TIMEOUT)
                for event in news:
                    inbox = self._inboxes.get(event.name)
                    if inbox is not None:
                        inbox.append(event)
                    if isinstance(event, Finished):
                        self._inboxes.pop(event.name, None)
                        self._where.pop(event.name, None)

    def drain(self, inbox: list[ExecutorEvent]) -> list[ExecutorEvent]:
        """Empty ``inbox``, returning what it held."""
        with self._lock:
            taken = list(inbox)
            inbox.clear()
            return taken

    def leave(self, inbox: list[ExecutorEvent], nodes: Iterable[str]) -> None:
        """The executor of ``inbox`` is closing: its jobs' events are dropped, and an
        agent no other executor uses is killed (Ray kills what it still runs)."""
        with self._lock:
            for name in [n for n, box in self._inboxes.items() if box is inbox]:
                del self._inboxes[name]
            for node_id in set(nodes):
                node = self._nodes.get(node_id)
                if node is None:
                    continue
                node.users.discard(id(inbox))
                if not node.users:
                    ray.kill(node.agent)
                    del self._nodes[node_id]
                    self._where = {j: n for j, n in self._where.items() if n != node_id}

    def _lose(self, node_id: str, reason: str, now: float) -> list[ExecutorEvent]:
        ray.kill(self._nodes.pop(node_id).agent)
        lost = [name for name, where in self._where.items() if where == node_id]
        return [Finished(name, now, *_FAILED, None, reason, internal=True) for name in lost]


_POOLS: dict[NodeRecipe, AgentPool] = {}
_POOLS_LOCK = threading.Lock()


def pool_of(recipe: NodeRecipe) -> AgentPool:
    """The agents of ``recipe`` (equal recipes share them) in this process."""
    with _POOLS_LOCK:
        if recipe not in _POOLS:
            _POOLS[recipe] = AgentPool(recipe)
        return _POOLS[recipe]
