"""Where a tuning job stands when a loop (re)starts: the strategy restored from
its committed state, the results so far, and what to launch.

After a crash (``kill -9`` of the process that ran the loop) the store holds
every training job the strategy ever proposed. Finished ones are kept as they
are and never run again. Unfinished ones left a process behind, or none:
a leftover process is terminated (its exit status can no longer be known), and
the job is run again under the same name, as attempt n+1, with its
``checkpoints/`` kept so a checkpointing program resumes; its secondary status
shows ``Interrupted`` then ``Restarting``. A job that never started is simply
launched. If the tuning job was being stopped, unfinished jobs end ``Stopped``;
so does a job whose early stop was decided (and committed) before the crash.
The early-stopping rule is rebuilt from the store after the relaunched jobs'
points are forgotten (:func:`~tunelab.orchestrator.stoppers.build_stopper`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

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
from tunelab.orchestrator.stoppers import EarlyStoppingOptions, build_stopper, problem_for
from tunelab.orchestrator.trials import LiveTrial
from tunelab.stopping.base import EarlyStopper
from tunelab.store.base import Store, TrainingJobQuery, iterate_training_jobs
from tunelab.strategies.base import Strategy
from tunelab.strategies.registry import create_strategy, restore_strategy


@dataclass
class Recovered:
    strategy: Strategy
    tracker: ImprovementTracker
    created: int
    relaunch: list[LiveTrial]
    stopper: EarlyStopper | None = None


def recover(
    store: Store,
    executor: Executor,
    job: TuningJob,
    clock: Clock,
    options: EarlyStoppingOptions | None = None,
) -> Recovered:
    """Rebuild the loop's state from the store; persists what it changes."""
    spec = job.spec
    options = options or EarlyStoppingOptions()
    problem = problem_for(spec, options)
    state = store.strategy_state(job.name)
    if state is None:
        strategy = create_strategy(spec.strategy, problem, spec.random_seed)
        strategy.observe(warm_start_events(store, spec))
    else:
        strategy = restore_strategy(spec.strategy, problem, state)
    tracker = ImprovementTracker(spec.objective_type)
    jobs = list(iterate_training_jobs(store, TrainingJobQuery(job.name, sort_by="CreationTime")))
    finished = sorted((j for j in jobs if j.status.is_terminal), key=lambda j: j.end_time or 0)
    for done in finished:
        tracker.add(done.final_objective_value)
    now = clock.now()
    relaunch: list[LiveTrial] = []
    stopped: list[TrainingJob] = []
    unfinished_jobs = [j for j in jobs if not j.status.is_terminal]
    executor.terminate_orphans(
        [(j.pid, j.pid_start_time) for j in unfinished_jobs if j.pid is not None]
    )
    for unfinished in unfinished_jobs:
        if job.status is not TuningJobStatus.IN_PROGRESS:
            stopped.append(_stopped(store, spec, unfinished, now, "Stopped with its tuning job"))
            tracker.add(stopped[-1].final_objective_value)
            continue
        if unfinished.status is TrainingJobStatus.STOPPING:  # an early stop was decided
            message = "Stopped (its stop was decided before tunelab was interrupted)"
            stopped.append(_stopped(store, spec, unfinished, now, message))
            tracker.add(stopped[-1].final_objective_value)
            continue
        if unfinished.pid is not None:
            unfinished = _restarted(unfinished, now)
        definition = spec.definition(unfinished.definition_name)
        params = definition.search_space.parse(unfinished.tuned_hyperparameters)
        relaunch.append(LiveTrial(unfinished, definition, params))
    with store.batch() as batch:
        for done in stopped:
            batch.put_training_job(done)
        for trial in relaunch:
            if trial.job.attempt > 1:
                batch.put_training_job(trial.job)
                batch.delete_metric_points(trial.job.name)
    created = max((j.sequence for j in jobs), default=0)
    stopper = build_stopper(store, spec, strategy, options)
    return Recovered(strategy, tracker, created, relaunch, stopper)


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
        found = parent_events(child.search_space, parent.definitions[0], jobs)
        events += [replace(e, definition_name=child.name) for e in found]
    return events


def _restarted(job: TrainingJob, now: float) -> TrainingJob:
    interrupted = job.transition(
        SecondaryStatus.INTERRUPTED,
        now,
        "tunelab stopped while the training job ran; its outcome is unknown",
    ).transition(SecondaryStatus.RESTARTING, now, f"Restarting as attempt {job.attempt + 1}")
    return interrupted.evolve(
        attempt=job.attempt + 1,
        status=TrainingJobStatus.IN_PROGRESS,
        pid=None,
        pid_start_time=None,
        start_time=None,
    )


def _stopped(
    store: Store, spec: TuningJobSpec, job: TrainingJob, now: float, message: str
) -> TrainingJob:
    """An unfinished job of a tuning job being stopped: Stopped, with the latest
    objective value it reported as its final value (SageMaker's rule)."""
    objective = None
    points = store.metric_points(job.name)
    definition = spec.definition(job.definition_name)
    if definition.objective is not None:
        values = [p.value for p in points if p.metric_name == definition.objective.metric_name]
        objective = values[-1] if values else None
    return job.transition(SecondaryStatus.STOPPED, now, message).evolve(
        status=TrainingJobStatus.STOPPED,
        end_time=now,
        final_objective_value=objective,
        objective_status=ObjectiveStatus.SUCCEEDED
        if objective is not None
        else ObjectiveStatus.FAILED,
    )
