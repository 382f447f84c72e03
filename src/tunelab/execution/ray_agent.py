"""One training job attempt on a node of a Ray cluster: the actor the Ray executor places.

A :class:`JobAgent` is created in the job's placement group, so it runs on the node Ray
reserved for the job. It builds that node's executor with the recipe the driver sent
(:data:`NodeRecipe`: in practice a :class:`~tunelab.execution.local.LocalExecutor`, which
lays out the job directory, stages data, runs and stops the hosts and packs the model,
exactly as on a single machine), submits the one attempt and drives it from a thread of
its own. The driver long-polls :meth:`JobAgent.events` and may call :meth:`JobAgent.stop`
at any time: the actor serves its methods from several threads (``max_concurrency``),
and only the driving thread touches the executor, which is not thread-safe.

When the actor ends (the driver kills it after ``Finished``, on ``close``, or because the
driver died), Ray kills the processes it started, so no training program outlives its
agent.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping

from tunelab.domain.enums import SecondaryStatus, TrainingJobStatus
from tunelab.execution.base import Executor, ExecutorEvent, Finished, LaunchRequest
from tunelab.execution.contract import AlgorithmImages
from tunelab.execution.local_launch import launch_failed

NodeRecipe = Callable[[AlgorithmImages | None], Executor]
"""Builds the executor of one job on the node the agent runs on, given the images of the
algorithms the job may name (resolved by the driver). Pickled to the node: it must be a
module-level class or function of an installed package. A recipe that cannot work on
the node raises :class:`~tunelab.execution.errors.LaunchError` with the reason."""

STOP_CHECK_SECONDS = 0.1
"""How long the driving thread waits on the executor before it looks for a stop request."""


class JobAgent:
    """Runs ``request`` on this node with the executor ``recipe`` builds (module
    docstring). ``images``: the ``TrainingImage`` of each algorithm the job may name."""

    def __init__(
        self, recipe: NodeRecipe, request: LaunchRequest, images: Mapping[str, str]
    ) -> None:
        self._name = request.training_job_name
        self._events: list[ExecutorEvent] = []
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._drive,
            args=(recipe, request, dict(images)),
            name=f"tunelab-job-{self._name}",
            daemon=True,
        )
        self._thread.start()

    def events(self, timeout: float) -> list[ExecutorEvent]:
        """The attempt's events since the last call, oldest first, waiting up to
        ``timeout`` seconds for one; the last event of the attempt is ``Finished``."""
        with self._changed:
            self._changed.wait_for(lambda: bool(self._events), timeout)
            taken, self._events = self._events, []
        return taken

    def stop(self) -> None:
        """Ask the attempt to stop (the executor's ``stop``: SIGTERM, then SIGKILL after
        its grace period); the outcome arrives through :meth:`events`."""
        self._stop.set()

    def _emit(self, events: list[ExecutorEvent]) -> None:
        with self._changed:
            self._events.extend(events)
            self._changed.notify_all()

    def _drive(self, recipe: NodeRecipe, request: LaunchRequest, images: dict[str, str]) -> None:
        try:
            executor = recipe(images.get)
        except Exception as error:  # a LaunchError names what the node lacks
            self._emit([launch_failed(self._name, error, time.time())])
            return
        try:
            executor.submit(request)
            stopping = False
            while True:
                if self._stop.is_set() and not stopping:
                    executor.stop(self._name)
                    stopping = True
                events = executor.poll()
                if events:
                    self._emit(events)
                if any(isinstance(e, Finished) for e in events):
                    return
                executor.wait(STOP_CHECK_SECONDS)
        except Exception as error:  # the node's machinery failed: the job may run again
            failed = TrainingJobStatus.FAILED, SecondaryStatus.FAILED
            reason = f"the executor on the Ray node failed: {type(error).__name__}: {error}"
            self._emit([Finished(self._name, time.time(), *failed, None, reason, internal=True)])
        finally:
            executor.close()
