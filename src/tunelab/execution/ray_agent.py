"""The training jobs of one Ray executor on one node of a Ray cluster: the actor the Ray
executor places on each node its jobs' placement groups land on.

A :class:`NodeAgent` builds that node's executor with the recipe the driver sent
(:data:`NodeRecipe`: in practice a :class:`~tunelab.execution.local.LocalExecutor`, which
lays out job directories, stages data, runs and stops the hosts and packs the models,
exactly as on a single machine) and drives it from a thread of its own, for every job
the driver sends it. The driver long-polls :meth:`NodeAgent.events` and calls
:meth:`NodeAgent.submit` and :meth:`NodeAgent.stop` at any time: the actor serves its
methods from several threads (``max_concurrency``), so they only queue commands for the
driving thread, the one that touches the executor (it is not thread-safe). Calls may
arrive out of order: a stop that comes before its job's submit is kept for it.

One long-lived agent per node, not one actor per job: an actor is a Python worker
process to start, which took seconds per job on a busy 2-core node.

When the actor ends (the driver kills it on ``close``, or the driver died), Ray kills
the processes it started, so no training program outlives its agent.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable, Mapping
from typing import Protocol

from tunelab.domain.enums import SecondaryStatus, TrainingJobStatus
from tunelab.execution.base import Executor, ExecutorEvent, Finished, LaunchRequest
from tunelab.execution.contract import AlgorithmImages
from tunelab.execution.local_launch import launch_failed


class WakeableExecutor(Executor, Protocol):
    """An executor whose :meth:`wait` another thread can cut short."""

    def wake(self) -> None:
        """Make a ``wait`` in progress, or else the next one, return at once."""


NodeRecipe = Callable[[AlgorithmImages | None], WakeableExecutor]
"""Builds the executor of the jobs on the node the agent runs on, given how to find the
image of an algorithm a job names. Pickled to the node: it must be a module-level class
or function of an installed package. A recipe that cannot work on the node raises
:class:`~tunelab.execution.errors.LaunchError` with the reason."""

IDLE_WAIT_SECONDS = 1.0
"""How long the driving thread waits on the executor at most (a command wakes it)."""


class NodeAgent:
    """Runs the jobs it is sent on this node with the executor ``recipe`` builds (module
    docstring)."""

    def __init__(self, recipe: NodeRecipe) -> None:
        self._images: dict[str, str] = {}
        self._executor: WakeableExecutor | None = None
        self._commands: queue.SimpleQueue[LaunchRequest | tuple[str, int]] = queue.SimpleQueue()
        self._events: list[ExecutorEvent] = []
        self._changed = threading.Condition()
        self._thread = threading.Thread(
            target=self._drive, args=(recipe,), name="tunelab-node-agent", daemon=True
        )
        self._thread.start()

    def submit(self, request: LaunchRequest, images: Mapping[str, str]) -> None:
        """Run ``request``; ``images``: the ``TrainingImage`` of each algorithm it may
        name (resolved by the driver, whose store knows them)."""
        self._images.update(images)
        self._command(request)

    def stop(self, name: str, attempt: int) -> None:
        """Ask attempt ``attempt`` of job ``name`` to stop (the executor's ``stop``); the
        outcome arrives through :meth:`events`."""
        self._command((name, attempt))

    def _command(self, command: LaunchRequest | tuple[str, int]) -> None:
        self._commands.put(command)
        if self._executor is not None:  # built: wake its wait, else the queue is read first
            self._executor.wake()

    def events(self, timeout: float) -> list[ExecutorEvent]:
        """The events of every job since the last call, oldest first, waiting up to
        ``timeout`` seconds for one."""
        with self._changed:
            self._changed.wait_for(lambda: bool(self._events), timeout)
            taken, self._events = self._events, []
        return taken

    def _emit(self, events: list[ExecutorEvent]) -> None:
        with self._changed:
            self._events.extend(events)
            self._changed.notify_all()

    def _drive(self, recipe: NodeRecipe) -> None:
        try:
            executor = self._executor = recipe(self._images.get)
        except Exception as error:  # a LaunchError names what the node lacks
            self._refuse_all(error)
            return
        running: dict[str, int] = {}  # name -> attempt
        early_stops: set[tuple[str, int]] = set()  # stops that came before their attempt
        try:
            while True:
                self._take_commands(executor, running, early_stops)
                events = executor.poll()
                for event in events:
                    if isinstance(event, Finished):
                        running.pop(event.name, None)
                if events:
                    self._emit(events)
                executor.wait(IDLE_WAIT_SECONDS)
        except Exception as error:  # the node's machinery failed: the jobs may run again
            failed = TrainingJobStatus.FAILED, SecondaryStatus.FAILED
            reason = f"the executor on the Ray node failed: {type(error).__name__}: {error}"
            now = time.time()
            self._emit([Finished(n, now, *failed, None, reason, internal=True) for n in running])
            with contextlib.suppress(Exception):
                executor.close()
            self._refuse_all(error)

    def _take_commands(
        self, executor: WakeableExecutor, running: dict[str, int], early: set[tuple[str, int]]
    ) -> None:
        while True:
            try:
                argument = self._commands.get_nowait()
            except queue.Empty:
                return
            if isinstance(argument, LaunchRequest):
                name, attempt = argument.training_job_name, argument.attempt
                executor.submit(argument)
                running[name] = attempt
                if (name, attempt) in early:
                    early.discard((name, attempt))
                    executor.stop(name)
            else:
                name, attempt = argument
                if running.get(name) == attempt:
                    executor.stop(name)
                else:
                    early.add((name, attempt))

    def _refuse_all(self, error: BaseException) -> None:
        """From now on, every job sent here fails at once with ``error``'s reason."""
        while True:
            argument = self._commands.get()
            if isinstance(argument, LaunchRequest):
                self._emit([launch_failed(argument.training_job_name, error, time.time())])
