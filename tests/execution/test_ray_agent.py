"""NodeAgent without Ray (a plain object here; Ray makes it an actor): commands from other
threads, stops that arrive before their job, a recipe that fails on the node."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from tests.execution.conftest import CPUS
from tunelab.domain.enums import SecondaryStatus, TrainingJobStatus
from tunelab.domain.instance_types import GIB
from tunelab.execution.base import ExecutorEvent, Finished
from tunelab.execution.contract import AlgorithmImages
from tunelab.execution.errors import LaunchError
from tunelab.execution.ledger import Ledger
from tunelab.execution.local import LocalExecutor
from tunelab.execution.ray_agent import NodeAgent
from tunelab.execution.resources import Machine, Overcommit

from .test_contract import PROGRAMS, lines_of, make_definition, make_request

BEHAVE = (PROGRAMS / "behave.py").as_uri()


def local(algorithms: AlgorithmImages | None) -> LocalExecutor:
    ledger = Ledger(Machine(CPUS, 64 * GIB), Overcommit())
    return LocalExecutor(stop_grace_seconds=1, ledger=ledger, algorithms=algorithms)


def until_finished(agent: NodeAgent, names: set[str], timeout: float = 30) -> list[ExecutorEvent]:
    events: list[ExecutorEvent] = []
    deadline = time.monotonic() + timeout
    while {e.name for e in events if isinstance(e, Finished)} != names:
        assert time.monotonic() < deadline, events
        events += agent.events(1.0)
    return events


def test_jobs_run_side_by_side_and_a_stop_reaches_only_its_job(tmp_path: Path) -> None:
    agent = NodeAgent(local)
    definition = make_definition(BEHAVE, output_path=str(tmp_path / "out"))
    agent.submit(make_request(tmp_path / "long", definition, {"sleep": "30"}), {})
    agent.submit(make_request(tmp_path / "short", definition, {"lines": "2"}), {})
    agent.stop("long", 1)
    events = until_finished(agent, {"long", "short"})
    ends = {e.name: e.status for e in events if isinstance(e, Finished)}
    assert ends == {"long": TrainingJobStatus.STOPPED, "short": TrainingJobStatus.COMPLETED}
    assert lines_of(events) == ["step=0 loss=1.0000;", "step=1 loss=0.5000;"]


def test_a_stop_that_arrives_before_its_attempt_stops_that_attempt_only(tmp_path: Path) -> None:
    agent = NodeAgent(local)
    request = make_request(tmp_path / "job", make_definition(BEHAVE), {"sleep": "30"})
    agent.stop("job", 1)  # Ray may run an actor's calls out of order
    agent.submit(request, {})
    [done] = [e for e in until_finished(agent, {"job"}) if isinstance(e, Finished)]
    assert (done.status, done.secondary) == (TrainingJobStatus.STOPPED, SecondaryStatus.STOPPED)
    agent.stop("job", 1)  # late: the attempt is over
    again = dataclasses.replace(request, attempt=2, hyperparameters={"lines": "1"})
    agent.submit(again, {})
    [done] = [e for e in until_finished(agent, {"job"}) if isinstance(e, Finished)]
    assert done.status is TrainingJobStatus.COMPLETED  # the old stop was not for attempt 2


def test_an_algorithm_name_runs_the_image_sent_with_the_job(tmp_path: Path) -> None:
    agent = NodeAgent(local)
    definition = dataclasses.replace(
        make_definition(BEHAVE, output_path=str(tmp_path / "out")),
        training_image=None,
        algorithm_name="mine",
    )
    agent.submit(make_request(tmp_path / "job", definition, {"lines": "1"}), {"mine": BEHAVE})
    events = until_finished(agent, {"job"})
    assert lines_of(events) == ["step=0 loss=1.0000;"]


def test_a_recipe_that_fails_on_the_node_fails_every_job_sent_there(tmp_path: Path) -> None:
    def unusable(algorithms: AlgorithmImages | None) -> LocalExecutor:
        raise LaunchError("this node cannot run jobs")

    agent = NodeAgent(unusable)
    for name in ("one", "two"):
        agent.submit(make_request(tmp_path / name, make_definition(BEHAVE), {}), {})
    events = until_finished(agent, {"one", "two"})
    assert [(e.name, e.failure_reason) for e in events if isinstance(e, Finished)] == [
        ("one", "this node cannot run jobs"),
        ("two", "this node cannot run jobs"),
    ]


class Breaking(LocalExecutor):
    """A local executor whose poll fails once a job was submitted (a machinery error)."""

    closed = False

    def poll(self) -> list[ExecutorEvent]:
        if self._queue or self._jobs:
            raise OSError("the disk went away")
        return super().poll()

    def close(self) -> None:
        Breaking.closed = True
        super().close()


def test_a_failing_executor_fails_the_jobs_as_internal_errors_and_closes(
    tmp_path: Path,
) -> None:
    def breaking(algorithms: AlgorithmImages | None) -> LocalExecutor:
        return Breaking(stop_grace_seconds=1, ledger=Ledger(Machine(CPUS, 64 * GIB)))

    agent = NodeAgent(breaking)
    agent.submit(make_request(tmp_path / "one", make_definition(BEHAVE), {"sleep": "30"}), {})
    [done] = [e for e in until_finished(agent, {"one"}) if isinstance(e, Finished)]
    assert done.internal and done.failure_reason == (
        "the executor on the Ray node failed: OSError: the disk went away"
    )
    agent.submit(make_request(tmp_path / "two", make_definition(BEHAVE), {}), {})
    [done] = [e for e in until_finished(agent, {"two"}) if isinstance(e, Finished)]
    assert done.status is TrainingJobStatus.FAILED
    assert Breaking.closed
