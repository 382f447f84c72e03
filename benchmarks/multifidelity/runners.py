"""Run one method on one problem with one seed, at 4 workers and a budget of
total resource (reports of the objective summed over every training job), and
return its any-time traces: (resource spent, best final objective so far) after
every change, and (resource spent, best objective if the tuning job were stopped
there) after every change.

tunelab methods run tunelab's real tuning loop (strategy, early-stopping rule,
in-memory SQLite store) on the simulated executor and its fake clock, each
training job replaying its learning curve at one report per simulated second.
Optuna methods run Optuna's ask/tell interface in a discrete-event simulation of
the same 4 workers and the same clock. A job's final objective is its latest
report (SageMaker's rule), whether it completed or was stopped or pruned.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from problems import Problem
from traces import LatestReports, Trace

from tunelab.domain.enums import TuningJobStatus
from tunelab.domain.request import parse_tuning_job
from tunelab.domain.tuning_job import TuningJob
from tunelab.execution.base import ExecutorEvent, LaunchRequest, OutputLines
from tunelab.execution.clock import FakeClock
from tunelab.execution.simulated import SimulatedExecutor, SimulatedRun
from tunelab.orchestrator.loop import LoopSettings, TuningLoop
from tunelab.orchestrator.stoppers import EarlyStoppingOptions
from tunelab.store.sql.store import SqlStore

WORKERS = 4


@dataclass(frozen=True)
class TunelabMethod:
    strategy: str
    early_stopping: str = "Off"
    sampler: str = "random"
    """Hyperband's sampler (tunelab's own setting, ``EarlyStoppingOptions``)."""


class _Lines(Sequence[tuple[float, str]]):
    """A training job's output lines, one objective report per second, each made from
    its curve only when the simulated executor reads it."""

    def __init__(self, curve: Sequence[float]) -> None:
        self._curve = curve

    def __len__(self) -> int:
        return len(self._curve)

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        value = float(self._curve[index])
        return (index % len(self) + 1.0, f"loss={value!r}")


class _CountingExecutor(SimulatedExecutor):
    """Counts the reports (every line is one) and keeps each job's latest one."""

    used: int = 0
    latest: LatestReports | None = None

    def poll(self) -> list[ExecutorEvent]:
        events = super().poll()
        for event in events:
            if isinstance(event, OutputLines) and event.lines:
                self.used += len(event.lines)
                if self.latest is not None:
                    self.latest.report(event.name, float(event.lines[-1].split("=", 1)[1]))
        if self.latest is not None:
            self.latest.note(self.used)
        return events


def _document(
    problem: Problem, method: TunelabMethod, seed: int, max_jobs: int, min_resource: int
) -> dict:
    strategy_config = (
        {"StrategyConfig": {"HyperbandStrategyConfig": {"MinResource": min_resource}}}
        if method.strategy == "Hyperband"
        else {}
    )
    return {
        "HyperParameterTuningJobName": "bench",
        "HyperParameterTuningJobConfig": {
            "Strategy": method.strategy,
            **strategy_config,
            "RandomSeed": seed,
            "TrainingJobEarlyStoppingType": method.early_stopping,
            "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "loss"},
            "ResourceLimits": {
                "MaxNumberOfTrainingJobs": max_jobs,
                "MaxParallelTrainingJobs": WORKERS,
            },
            "ParameterRanges": problem.ranges,
        },
        "TrainingJobDefinition": {
            "StaticHyperParameters": {"epochs": str(problem.max_resource)},
            "AlgorithmSpecification": {
                "TrainingImage": "file:///bin/true",
                "TrainingInputMode": "File",
                "MetricDefinitions": [{"Name": "loss", "Regex": "loss=(.*)"}],
            },
            "RoleArn": "arn:aws:iam::123456789012:role/bench",
            "OutputDataConfig": {"S3OutputPath": "file:///tmp/tunelab-bench"},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
            "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
        },
    }


def run_tunelab(
    problem: Problem,
    method: TunelabMethod,
    seed: int,
    budget: float,
    max_jobs: int = 500,
    unique: bool = False,
    live: bool = False,
    min_resource: int = 1,
) -> Trace:
    """tunelab's loop until ``budget`` resource is spent (then the tuning job is
    stopped) or ``max_jobs`` training jobs ended; Hyperband with ``min_resource``."""
    space, lookup = problem.space, problem.lookup(unique, live)

    def program(request: LaunchRequest) -> SimulatedRun:
        params = space.parse({n: request.hyperparameters[n] for n in space.names})
        curve = lookup.curve(params)
        lines = _Lines(curve)  # a report is computed when the job reaches it (--live)
        return SimulatedRun(lines=lines, duration=len(curve) + 1e-3)  # type: ignore[arg-type]

    clock = FakeClock()
    store = SqlStore("sqlite://")
    try:
        spec = parse_tuning_job(_document(problem, method, seed, max_jobs, min_resource))
        now = clock.now()
        store.create_tuning_job(TuningJob(spec, TuningJobStatus.IN_PROGRESS, now, now))
        executor = _CountingExecutor(program, clock)
        trace = Trace()
        executor.latest = LatestReports(trace)
        options = EarlyStoppingOptions(hyperband_sampler=method.sampler)
        settings = LoopSettings("/nonexistent", poll_interval=1e6, early_stopping=options)
        loop = TuningLoop(store, executor, clock, "bench", settings)
        loop.start()
        while not loop.tick():
            best = loop.tracker.best
            if best is not None and (not trace.points or best != trace.points[-1][1]):
                trace.points.append((executor.used, best))
            if executor.used >= budget:
                loop.request_stop()
            executor.wait(1e6)
        best = loop.tracker.best
        if best is not None and (not trace.points or best != trace.points[-1][1]):
            trace.points.append((executor.used, best))
        trace.resource, trace.jobs, trace.taken = executor.used, loop.created, lookup.taken
        loop.lease.release()
        return trace
    finally:
        store.close()


def run_optuna(
    problem: Problem,
    pruner_name: str,
    seed: int,
    budget: float,
    unique: bool = False,
    live: bool = False,
    min_resource: int = 1,
    max_trials: int = 500,
) -> Trace:
    """Optuna's TPE with a pruner, 4 trials in flight, one report per second; no
    pruning before ``min_resource`` reports; at most ``max_trials`` trials (tunelab's
    runs stop at 500 training jobs, SageMaker's limit)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    r = problem.max_resource
    pruners = {
        "HyperbandPruner": lambda: optuna.pruners.HyperbandPruner(min_resource, r, 3),
        "SuccessiveHalvingPruner": lambda: optuna.pruners.SuccessiveHalvingPruner(min_resource, 3),
        "MedianPruner": lambda: optuna.pruners.MedianPruner(n_warmup_steps=min_resource - 1),
    }
    study = optuna.create_study(
        study_name=f"bench-{problem.name}-{seed}",  # HyperbandPruner's brackets hash it
        direction="minimize",
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=pruners[pruner_name](),
    )
    distributions, lookup = _distributions(problem), problem.lookup(unique, live)
    trace, used, best = Trace(), 0, math.inf
    latest = LatestReports(trace)
    queue: list[tuple[float, int, int]] = []
    running: dict[int, tuple[optuna.trial.Trial, Sequence[float]]] = {}
    reports: dict[int, int] = {}
    order = itertools.count()

    def launch(at: float) -> None:
        if trace.jobs >= max_trials:
            return
        trial = study.ask(distributions)
        params = {k: _typed(problem, k, v) for k, v in trial.params.items()}
        trace.jobs += 1
        running[trial.number] = (trial, lookup.curve(params))
        reports[trial.number] = 0
        heapq.heappush(queue, (at + 1.0, next(order), trial.number))

    for _ in range(WORKERS):
        launch(0.0)
    while queue and used < budget:
        at, _, number = heapq.heappop(queue)
        trial, curve = running[number]
        step = reports[number]
        value = float(curve[step])
        reports[number] = step + 1
        trial.report(value, step)
        used += 1
        latest.report(number, value)
        latest.note(used)
        finished = step + 1 == len(curve)
        if finished:
            study.tell(trial, value)
        elif trial.should_prune():
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            finished = True
        if finished:
            del running[number]
            if value < best:
                best = value
                trace.points.append((used, best))
            launch(at)
        else:
            heapq.heappush(queue, (at + 1.0, next(order), number))
    # jobs cut by the budget end with their latest report, as in a stopped tuning job
    for number, (_, curve) in running.items():
        done = reports[number]
        if done and curve[done - 1] < best:
            best = float(curve[done - 1])
            trace.points.append((used, best))
    trace.resource, trace.taken = used, lookup.taken
    return trace


def _distributions(problem: Problem) -> dict:
    import optuna.distributions as d

    out: dict = {}
    for item in problem.ranges.get("ContinuousParameterRanges", []):
        log = item.get("ScalingType") == "Logarithmic"
        out[item["Name"]] = d.FloatDistribution(
            float(item["MinValue"]), float(item["MaxValue"]), log=log
        )
    for item in problem.ranges.get("IntegerParameterRanges", []):
        log = item.get("ScalingType") == "Logarithmic"
        out[item["Name"]] = d.IntDistribution(
            int(item["MinValue"]), int(item["MaxValue"]), log=log
        )
    return out


def _typed(problem: Problem, name: str, value: float | int) -> float | int:
    from tunelab.domain.search_space import IntegerRange

    return int(value) if isinstance(problem.space[name], IntegerRange) else float(value)
