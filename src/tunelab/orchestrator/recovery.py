"""Where a tuning job stands when a loop (re)starts: the strategy restored from
its committed state, the results so far, and what to launch.

After a crash (``kill -9`` of the process that ran the loop) the store holds
every training job the strategy ever proposed. Finished ones are kept as they
are and never run again. Unfinished ones left a process behind, or none:
a leftover process is terminated (its exit status can no longer be known; in the
background with an :class:`~tunelab.orchestrator.orphans.OrphanReaper`), and once it
is gone the job is run again under the same name, as attempt n+1, with its
``checkpoints/`` kept so a checkpointing program resumes; its secondary status
shows ``Interrupted`` then ``Restarting``. A job that never started is simply
launched. If the tuning job was being stopped, unfinished jobs end ``Stopped``;
so does a job whose early stop was decided (and committed) before the crash. Until
its leftover process is gone, a job keeps that process in the store (a crash
meanwhile ends it again), and one to stop stays unended (:func:`stop_when_gone`).
The early-stopping rule is rebuilt from the store after the relaunched jobs'
points are forgotten (:func:`~tunelab.orchestrator.stoppers.build_stopper`).

A strategy that cannot be built from the request or its stored state (a request an
older version accepted, a bug) cannot be fixed by trying again: the unfinished
jobs end ``Stopped`` and :class:`StrategyUnavailable` tells the loop to end the
tuning job.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from tunelab.domain.enums import (
    ObjectiveStatus,
    SecondaryStatus,
    TrainingJobStatus,
    TuningJobStatus,
)
from tunelab.domain.progress import ImprovementTracker
from tunelab.domain.trial import TrainingJob, TrialEvent
from tunelab.domain.tuning_job import TuningJob, TuningJobSpec
from tunelab.domain.warm_start import parent_events
from tunelab.execution.base import Executor
from tunelab.execution.clock import Clock
from tunelab.orchestrator.orphans import OrphanReaper, leftover_processes
from tunelab.orchestrator.stoppers import (
    EarlyStoppingOptions,
    build_stopper,
    problem_for,
    report_cap,
)
from tunelab.orchestrator.stopping_jobs import ran_full_course
from tunelab.orchestrator.trials import LiveTrial
from tunelab.stopping.base import EarlyStopper
from tunelab.store.base import Store, StoreBatch, TrainingJobQuery, iterate_training_jobs
from tunelab.strategies.base import Strategy
from tunelab.strategies.registry import create_strategy, restore_strategy


class StrategyUnavailable(Exception):
    """The tuning job's strategy cannot be built; raised by :func:`recover` once the
    unfinished training jobs are stopped (or, with a leftover process, listed in
    ``ending``), with the results so far."""

    def __init__(
        self,
        reason: str,
        tracker: ImprovementTracker,
        created: int,
        ending: list[Ending] | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason, self.tracker, self.created = reason, tracker, created
        self.ending = ending or []


Ending = tuple[TrainingJob, str]
"""An unfinished job to end ``Stopped`` (with this message) once its leftover process
is gone (:func:`stop_when_gone`)."""


@dataclass
class Recovered:
    strategy: Strategy
    tracker: ImprovementTracker
    created: int
    relaunch: list[LiveTrial]
    stopper: EarlyStopper | None = None
    ending: list[Ending] = field(default_factory=list)


def recover(
    store: Store,
    executor: Executor,
    job: TuningJob,
    clock: Clock,
    options: EarlyStoppingOptions | None = None,
    orphans: OrphanReaper | None = None,
    fence: Callable[[StoreBatch], None] | None = None,
    jobs_root: str | None = None,
) -> Recovered:
    """Rebuild the loop's state from the store; persists what it changes (in a batch
    ``fence`` may make conditional: the loop's lease). Leftover processes are ended by
    ``orphans`` in the background, once that batch is committed: a trial to relaunch
    must wait for ``orphans.gone(name)``, and a job to stop is left to
    :func:`stop_when_gone` (``ending``); without ``orphans``, they are ended here
    first, blocking up to the executor's grace period. Leftover processes are the
    recorded ones and, given ``jobs_root``, those the executor finds of the jobs'
    attempts (:func:`leftover_processes`). Raises
    :class:`StrategyUnavailable` (after stopping the unfinished training jobs) when
    the strategy cannot be built."""
    spec = job.spec
    options = options or EarlyStoppingOptions()
    state = store.strategy_state(job.name)
    parents = warm_start_events(store, spec) if state is None else []
    strategy: Strategy | None = None
    broken = None
    try:
        strategy = _strategy(spec, options, state, parents)
    except Exception as error:  # deterministic: the request or state cannot be run
        broken = f"the {spec.strategy} strategy could not be set up: {error}"
    going_on = job.status is TuningJobStatus.IN_PROGRESS and broken is None
    tracker = ImprovementTracker(spec.objective_type)
    jobs = list(iterate_training_jobs(store, TrainingJobQuery(job.name, sort_by="CreationTime")))
    finished = sorted((j for j in jobs if j.status.is_terminal), key=lambda j: j.end_time or 0)
    for done in finished:
        tracker.add(done.final_objective_value, judged=ran_full_course(done))
    now = clock.now()
    relaunch: list[LiveTrial] = []
    stopped: list[TrainingJob] = []
    ending: list[Ending] = []
    unfinished_jobs = [j for j in jobs if not j.status.is_terminal]
    leftovers = leftover_processes(executor, unfinished_jobs, jobs_root, job.name)
    if orphans is None:
        executor.terminate_orphans([p for processes in leftovers.values() for p in processes])
    background = orphans is not None
    for unfinished in unfinished_jobs:
        message = _stop_message(going_on, broken, unfinished)
        if message is not None:
            if background and unfinished.name in leftovers:
                ending.append((unfinished, message))  # Stopped once its process is gone
            else:
                stopped.append(_stopped(store, spec, unfinished, now, message))
                done = stopped[-1]
                tracker.add(done.final_objective_value, judged=ran_full_course(done))
            continue
        if unfinished.name in leftovers:  # it had started: its outcome is unknown
            unfinished = _restarted(unfinished, now, keep_process=background)
        definition = spec.definition(unfinished.definition_name)
        params = definition.search_space.parse(unfinished.tuned_hyperparameters)
        relaunch.append(LiveTrial(unfinished, definition, params, report_cap(spec)))
    with store.batch() as batch:
        if fence is not None:
            fence(batch)
        for done in stopped:
            batch.put_training_job(done)
        for trial in relaunch:
            if trial.job.attempt > 1:
                batch.put_training_job(trial.job)
                batch.delete_metric_points(trial.job.name)
    if orphans is not None:
        for name, processes in leftovers.items():
            if processes:
                orphans.end(name, processes)
    created = max((j.sequence for j in jobs), default=0)
    if strategy is None:
        raise StrategyUnavailable(broken or "no strategy", tracker, created, ending)
    stopper = build_stopper(store, spec, strategy, options)
    return Recovered(strategy, tracker, created, relaunch, stopper, ending)


def _stop_message(going_on: bool, broken: str | None, job: TrainingJob) -> str | None:
    """Why an unfinished job ends ``Stopped`` instead of running again (None: it runs)."""
    if not going_on:
        return "Stopped with its tuning job" if broken is None else f"Stopped: {broken}"
    if job.status is TrainingJobStatus.STOPPING:  # an early stop was decided
        return "Stopped (its stop was decided before tunelab was interrupted)"
    return None


def stop_when_gone(
    store: Store,
    spec: TuningJobSpec,
    ending: list[Ending],
    orphans: OrphanReaper,
    now: float,
    tracker: ImprovementTracker,
) -> dict[str, TrainingJob]:
    """The jobs of ``ending`` whose leftover process is gone, ``Stopped`` as of ``now``
    (to commit) and added to ``tracker``; they leave ``ending``."""
    done: dict[str, TrainingJob] = {}
    for item in list(ending):
        job, message = item
        if orphans.gone(job.name):
            ending.remove(item)
            done[job.name] = _stopped(store, spec, job, now, message)
            tracker.add(done[job.name].final_objective_value, judged=ran_full_course(job))
    return done


def _strategy(
    spec: TuningJobSpec,
    options: EarlyStoppingOptions,
    state: Mapping[str, Any] | None,
    parents: list[TrialEvent],
) -> Strategy:
    """The strategy: restored from ``state``, or new and fed the parents' results."""
    problem = problem_for(spec, options)
    if state is not None:
        return restore_strategy(spec.strategy, problem, state)
    strategy = create_strategy(spec.strategy, problem, spec.random_seed)
    strategy.observe(parents)
    return strategy


def warm_start_events(store: Store, spec: TuningJobSpec) -> list[TrialEvent]:
    """The parents' finished training jobs, as observations in this job's space
    (none without ``WarmStartConfig``; parents of parents are not used)."""
    if spec.warm_start is None:
        return []
    events: list[TrialEvent] = []
    child = spec.definitions[0]
    for name in spec.warm_start.parents:
        parent = store.get_tuning_job(name).spec
        jobs = list(iterate_training_jobs(store, TrainingJobQuery(parent.name)))
        found = parent_events(
            child.search_space,
            parent.definitions[0],
            jobs,
            spec.warm_start.type,
            child.static_hyperparameters,
        )
        events += [replace(e, definition_name=child.name) for e in found]
    return events


def _restarted(job: TrainingJob, now: float, keep_process: bool = False) -> TrainingJob:
    """The job's next attempt; with ``keep_process`` it keeps the leftover process of
    the last one (being ended in the background) until the next attempt starts."""
    interrupted = job.transition(
        SecondaryStatus.INTERRUPTED,
        now,
        "tunelab stopped while the training job ran; its outcome is unknown",
    ).transition(SecondaryStatus.RESTARTING, now, f"Restarting as attempt {job.attempt + 1}")
    return interrupted.evolve(
        attempt=job.attempt + 1,
        status=TrainingJobStatus.IN_PROGRESS,
        pid=job.pid if keep_process else None,
        pid_start_time=job.pid_start_time if keep_process else None,
        start_time=None,
    )


def _stopped(
    store: Store, spec: TuningJobSpec, job: TrainingJob, now: float, message: str
) -> TrainingJob:
    """An unfinished job of a tuning job being stopped: Stopped, with the latest
    objective value it reported as its final value (SageMaker's rule), of the reports
    that count (with Hyperband, up to MaxResource: as a live job's)."""
    objective = None
    definition = spec.definition(job.definition_name)
    if definition.objective is not None:
        cap = report_cap(spec)
        points = store.metric_points(job.name, definition.objective.metric_name)
        values = [p.value for p in points if cap is None or p.step < cap]
        objective = values[-1] if values else None
    return job.transition(SecondaryStatus.STOPPED, now, message).evolve(
        status=TrainingJobStatus.STOPPED,
        end_time=now,
        final_objective_value=objective,
        objective_status=ObjectiveStatus.SUCCEEDED
        if objective is not None
        else ObjectiveStatus.FAILED,
    )
