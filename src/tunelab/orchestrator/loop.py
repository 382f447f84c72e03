"""The tuning loop: drives one tuning job to a terminal status.

Each tick: poll the executor -> extract metrics -> let the strategy observe ->
ask the early-stopping rule (median rule, or Hyperband's rungs) about the new
reports -> honour stop requests and the completion criteria -> ask the strategy
for new configurations -> persist everything of the tick in ONE store batch ->
only then stop the jobs the rule condemned and launch the new ones. Because
decisions, new training jobs and the strategy state are committed before any
process is signalled or started, a crash at any point loses no suggestion or
decision and acts on none twice; :mod:`tunelab.orchestrator.recovery` picks up
from the store.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from tunelab.domain.enums import (
    SecondaryStatus,
    TrainingJobStatus,
    TuningJobStatus,
)
from tunelab.domain.errors import ConflictError
from tunelab.domain.names import training_job_arn, training_job_name
from tunelab.domain.progress import ImprovementTracker
from tunelab.domain.trial import MetricPoint, TrainingJob, TrialEvent
from tunelab.domain.tuning_job import TuningJob
from tunelab.execution.base import Executor, Finished, LaunchRequest, OutputLines, StatusChanged
from tunelab.execution.clock import Clock
from tunelab.execution.contract import training_job_dir
from tunelab.orchestrator.attempts import launch_limits, next_attempt
from tunelab.orchestrator.lease import LeaseKeeper
from tunelab.orchestrator.progress import Progress
from tunelab.orchestrator.recovery import recover
from tunelab.orchestrator.stoppers import DECIDED, REQUESTED, EarlyStoppingOptions
from tunelab.orchestrator.trials import LiveTrial
from tunelab.stopping.base import EarlyStopper
from tunelab.store.base import Store, TrainingJobQuery, iterate_training_jobs
from tunelab.strategies.base import ConvergenceSignal, Strategy


@dataclass(frozen=True)
class LoopSettings:
    jobs_root: str
    """Training job directories live in ``<jobs_root>/<tuning job>/<training job>``."""
    poll_interval: float = 0.5
    """Longest wait between two ticks when nothing happens."""
    lease_ttl: float = 30.0
    early_stopping: EarlyStoppingOptions = field(default_factory=EarlyStoppingOptions)
    status_poll_interval: float = 0.5
    """How often the loop re-reads its tuning job for a stop request made elsewhere
    (``tunelab stop``, StopHyperParameterTuningJob): at most this late."""


class TuningLoop:
    """Runs one tuning job. Not thread-safe; one loop per tuning job at a time
    (a lease in the store makes sure of it, across processes)."""

    strategy: Strategy
    stopper: EarlyStopper | None
    tracker: ImprovementTracker
    created: int
    """Training jobs created so far; the next one gets sequence ``created + 1``."""

    def __init__(
        self,
        store: Store,
        executor: Executor,
        clock: Clock,
        name: str,
        settings: LoopSettings,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> None:
        self.store, self.executor, self.clock = store, executor, clock
        self.settings = settings
        self.on_progress = on_progress
        self.lease = LeaseKeeper(store, name, clock, settings.lease_ttl)
        self.job: TuningJob = store.get_tuning_job(name)
        self.live: dict[str, LiveTrial] = {}
        self.finishing: str | None = None
        """Why no more training jobs start (completion criterion, failures)."""
        self.failure: str | None = None
        self.exhausted = False
        """The strategy has nothing more to propose."""
        self.started_at = self.job.creation_time
        self._stop_requested = False
        self._next_status_read = 0.0
        self._stop_jobs: set[str] = set()
        self._relaunch: list[LiveTrial] = []
        """Jobs whose attempt ended without ending them (spot, RetryStrategy): their next
        attempt is committed in this tick and launched after it."""
        self._unlaunched: list[Finished] = []
        """Ends of next attempts that were stopped before they were launched."""
        self.stopped_early = 0
        """Training jobs this loop stopped on a rule's decision (Hyperband's too)."""
        self._convergence_checked_at = -1
        """How many jobs had ended when the strategy was last asked if it converged."""
        self._converged_at: float | None = None
        """When this loop saw the strategy converge (stored with the next commit)."""

    # -- the loop -------------------------------------------------------------------

    def run(self) -> TuningJob:
        """Drive the job to a terminal status and return its final snapshot.
        Raises ``ConflictError`` when another live process holds the job."""
        self.start()
        try:
            while not self.tick():
                self.executor.wait(self._wait_time())
        finally:
            self.lease.release()
        return self.job

    def start(self) -> None:
        """Take the lease, restore the strategy and relaunch unfinished jobs."""
        self.lease.acquire()
        try:
            state = recover(
                self.store, self.executor, self.job, self.clock, self.settings.early_stopping
            )
        except BaseException:
            self.lease.release()
            raise
        self.strategy, self.tracker, self.created = state.strategy, state.tracker, state.created
        self.stopper = state.stopper
        for trial in state.relaunch:
            self._launch(trial)

    def tick(self) -> bool:
        """One round; True once the tuning job reached a terminal status."""
        now = self.clock.now()
        changed, points, events = self._collect()
        self.strategy.observe(events)
        stops = self._early_stops(events, changed, now)
        self._check_stop_request()
        if self.job.status is TuningJobStatus.IN_PROGRESS and self.finishing is None:
            self._check_completion(now)
        new = self._suggest(now) if self._may_launch() else []
        terminal = self._terminal_status()
        try:
            self._commit(changed, points, new, bool(events or new), terminal)
        except ConflictError:  # the tuning job changed meanwhile (a stop request)
            self.job = self.store.get_tuning_job(self.job.name)
            self._commit(changed, points, new, bool(events or new), None)
        relaunch, self._relaunch = self._relaunch, []
        for trial in relaunch:
            if trial.job.status is TrainingJobStatus.STOPPING:  # stopped before it ran again
                stopped = Finished(
                    trial.job.name, now, TrainingJobStatus.STOPPED, SecondaryStatus.STOPPED
                )
                self._unlaunched.append(stopped)  # ends it at the next tick, never launched
            else:
                self._launch(trial)
        for name in stops:
            self.executor.stop(name)
        for trial in new:
            self._launch(trial)
        self.lease.renew()
        self._report()
        return self.job.status.is_terminal

    def _commit(
        self,
        changed: dict[str, TrainingJob],
        points: list[tuple[str, list[MetricPoint]]],
        new: list[LiveTrial],
        save_state: bool,
        terminal: TuningJob | None,
    ) -> None:
        """Write the tick in one transaction."""
        with self.store.batch() as batch:
            for job in changed.values():
                batch.put_training_job(job)
            for name, batch_points in points:
                batch.add_metric_points(name, batch_points)
            for trial in new:
                batch.add_training_job(trial.job)
            if save_state:
                batch.save_strategy_state(self.job.name, self.strategy.state())
            if terminal is not None:
                self.job = batch.put_tuning_job(terminal)
            elif self._converged_at is not None and self.job.convergence_detected_time is None:
                converged = self.job.evolve(convergence_detected_time=self._converged_at)
                self.job = batch.put_tuning_job(converged)

    def _collect(
        self,
    ) -> tuple[dict[str, TrainingJob], list[tuple[str, list[MetricPoint]]], list[TrialEvent]]:
        changed: dict[str, TrainingJob] = {}
        points: list[tuple[str, list[MetricPoint]]] = []
        events: list[TrialEvent] = []
        unlaunched, self._unlaunched = self._unlaunched, []
        for event in [*unlaunched, *self.executor.poll()]:
            trial = self.live.get(event.name)
            if trial is None:
                continue
            if isinstance(event, StatusChanged):
                trial.on_status(event)
            elif isinstance(event, OutputLines):
                new_points, reports = trial.on_output(event)
                if new_points:
                    points.append((event.name, new_points))
                events += reports
            elif isinstance(event, Finished):
                retry = next_attempt(trial.job, trial.definition, event)
                if retry is not None:  # spot interruption or RetryStrategy: run it again
                    trial.job = retry
                    self._relaunch.append(trial)
                else:
                    events.append(trial.on_finished(event))
                    self.tracker.add(trial.job.final_objective_value)
                    del self.live[event.name]
            changed[event.name] = trial.job
        return changed, points, events

    # -- decisions --------------------------------------------------------------------

    def _early_stops(
        self, events: list[TrialEvent], changed: dict[str, TrainingJob], now: float
    ) -> list[str]:
        """Apply the rule's decisions and the StopTrainingJob requests to the running
        jobs (recorded in their status history, committed with this tick); return
        the jobs to stop once the tick is committed."""
        decided = list(self.stopper.decide(events)) if self.stopper and events else []
        requested = sorted(self._stop_jobs)
        self._stop_jobs.difference_update(requested)
        stops: list[str] = []
        for name, stop, message in [
            *((d.trial_id, d.stop, d.reason) for d in decided),
            *((name, True, None) for name in requested),
        ]:
            trial = self.live.get(name)
            if trial is None or trial.job.status is not TrainingJobStatus.IN_PROGRESS:
                continue  # finished meanwhile, or already being stopped
            if not stop:  # a promotion
                trial.job = trial.job.transition(SecondaryStatus.TRAINING, now, message or "")
            else:
                why = REQUESTED if message is None else f"{DECIDED}{message}"
                trial.job = trial.job.evolve(status=TrainingJobStatus.STOPPING).transition(
                    SecondaryStatus.STOPPING, now, why
                )
                self.stopped_early += message is not None
                stops.append(name)
            changed[name] = trial.job
        return stops

    def request_stop_training_job(self, name: str) -> None:
        """Stop one running training job at the next tick (``StopTrainingJob``). Only
        adds to a set, so it may be called from another thread."""
        self._stop_jobs.add(name)

    def request_stop(self) -> None:
        """Stop the tuning job at the next tick. Only sets a flag, so it is safe
        to call from a signal handler."""
        self._stop_requested = True

    def _check_stop_request(self) -> None:
        if self.job.status is not TuningJobStatus.IN_PROGRESS:
            return
        now = self.clock.now()
        if not self._stop_requested and now < self._next_status_read:
            return
        self._next_status_read = now + self.settings.status_poll_interval
        stored = self.store.get_tuning_job(self.job.name)
        while self._stop_requested and stored.status is TuningJobStatus.IN_PROGRESS:
            stopping = stored.evolve(
                status=TuningJobStatus.STOPPING, last_modified_time=self.clock.now()
            )
            try:
                with self.store.batch() as batch:
                    stored = batch.put_tuning_job(stopping)
            except ConflictError:
                stored = self.store.get_tuning_job(self.job.name)
        self.job = stored
        if stored.status is TuningJobStatus.STOPPING:
            self._stop_running("Stopped: the tuning job was stopped")

    def _check_completion(self, now: float) -> None:
        spec, tracker = self.job.spec, self.tracker
        criteria, limits = spec.completion, spec.limits
        if tracker.reached(criteria.target_objective_value):
            self.finishing = (
                f"TargetObjectiveMetricValue {criteria.target_objective_value} reached"
            )
        elif criteria.max_jobs_not_improving and tracker.streak >= criteria.max_jobs_not_improving:
            self.finishing = (
                f"the best objective did not improve in {tracker.streak} training jobs "
                "(BestObjectiveNotImproving)"
            )
        elif self._converged(now):
            self.finishing = "the strategy's model detected convergence (CompleteOnConvergence)"
        elif limits.max_runtime_seconds and now - self.started_at >= limits.max_runtime_seconds:
            self.finishing = f"MaxRuntimeInSeconds ({limits.max_runtime_seconds} s) reached"
        elif tracker.succeeded == 0 and tracker.failed >= self._failure_limit():
            self.failure = f"the first {tracker.failed} training jobs failed"
            self.finishing = self.failure
            return  # let the running ones finish: they may still succeed
        else:
            return
        self._stop_running(f"Stopped: the tuning job completed: {self.finishing}")

    def _converged(self, now: float) -> bool:
        """``CompleteOnConvergence``: asked once per newly ended job (the question
        costs an acquisition optimization), and true at once after a restart when
        the stored job already recorded convergence."""
        if not self.job.spec.completion.complete_on_convergence:
            return False
        if self.job.convergence_detected_time is not None:
            return True
        ended = self.tracker.succeeded + self.tracker.failed
        if ended == self._convergence_checked_at:
            return False
        self._convergence_checked_at = ended
        strategy = self.strategy
        if isinstance(strategy, ConvergenceSignal) and strategy.converged():
            self._converged_at = now
            return True
        return False

    def _failure_limit(self) -> int:
        budget = self.job.spec.max_jobs or 3
        return min(budget, max(3, self.job.spec.limits.max_parallel_training_jobs))

    def _stop_running(self, message: str) -> None:
        for trial in self.live.values():
            if trial.job.status is TrainingJobStatus.IN_PROGRESS:
                trial.job = trial.job.evolve(status=TrainingJobStatus.STOPPING).transition(
                    SecondaryStatus.STOPPING, self.clock.now(), message
                )
                self.executor.stop(trial.job.name)

    def _may_launch(self) -> bool:
        return (
            self.job.status is TuningJobStatus.IN_PROGRESS
            and self.finishing is None
            and not self.exhausted
        )

    def _suggest(self, now: float) -> list[LiveTrial]:
        spec = self.job.spec
        slots = spec.limits.max_parallel_training_jobs - len(self.live)
        budget = spec.max_jobs
        if budget is not None:
            slots = min(slots, budget - self.created)
        if slots <= 0:
            return []
        suggestions = self.strategy.suggest(slots)
        if not suggestions and not self.live:
            self.exhausted = True  # nothing running and nothing more to try
        trials = []
        for suggestion in suggestions:
            self.created += 1
            definition = spec.definition(suggestion.definition_name)
            name = training_job_name(spec.name, self.created, secrets.token_hex(4))
            job = TrainingJob(
                name=name,
                tuning_job_name=spec.name,
                sequence=self.created,
                definition_name=suggestion.definition_name,
                tuned_hyperparameters=definition.search_space.format(suggestion.params),
                creation_time=now,
                last_modified_time=now,
            ).transition(SecondaryStatus.STARTING, now, "Launching the training job")
            trial = LiveTrial(job, definition, dict(suggestion.params))
            self.live[name] = trial
            trials.append(trial)
        return trials

    def _terminal_status(self) -> TuningJob | None:
        if self.live or self.job.status.is_terminal:
            return None
        now = self.clock.now()
        status = self.job.status
        if status is TuningJobStatus.STOPPING:
            return self._ended(TuningJobStatus.STOPPED, now, None)
        budget = self.job.spec.max_jobs
        done = self.finishing is not None or self.exhausted
        if not done and (budget is None or self.created < budget):
            return None
        if self.failure is not None or self.tracker.succeeded == 0:
            return self._ended(TuningJobStatus.FAILED, now, self._failure_reason())
        return self._ended(TuningJobStatus.COMPLETED, now, None)

    def _failure_reason(self) -> str:
        if self.failure is not None:  # counted now: jobs running at the time failed too
            head = f"the first {self.tracker.failed} training jobs failed"
        else:
            head = "no training job reported the objective metric"
        for job in self._finished_jobs():
            if job.failure_reason:
                return f"{head}; e.g. {job.name}: {job.failure_reason}"[:1024]
        return head

    def _finished_jobs(self) -> list[TrainingJob]:
        query = TrainingJobQuery(self.job.name, sort_by="CreationTime")
        return [j for j in iterate_training_jobs(self.store, query) if j.status.is_terminal]

    def _ended(self, status: TuningJobStatus, now: float, reason: str | None) -> TuningJob:
        return self.job.evolve(
            status=status,
            last_modified_time=now,
            end_time=now,
            failure_reason=reason,
            jobs_not_improving=self.tracker.streak,
            convergence_detected_time=self.job.convergence_detected_time or self._converged_at,
        )

    # -- launching and reporting ----------------------------------------------------------

    def _launch(self, trial: LiveTrial) -> None:
        self.live[trial.job.name] = trial
        job, definition = trial.job, trial.definition
        not_after, runtime_used = launch_limits(job, definition)
        self.executor.submit(
            LaunchRequest(
                training_job_name=job.name,
                training_job_arn=training_job_arn(job.name),
                definition=definition,
                hyperparameters=definition.hyperparameters_for(job.tuned_hyperparameters),
                job_dir=training_job_dir(self.settings.jobs_root, self.job.name, job.name),
                attempt=job.attempt,
                tuning_job_name=self.job.name,
                not_after=not_after,
                runtime_used=runtime_used,
            )
        )

    def _wait_time(self) -> float:
        wait = self.settings.poll_interval
        limit = self.job.spec.limits.max_runtime_seconds
        if limit:
            wait = min(wait, max(0.0, self.started_at + limit - self.clock.now()))
        return wait

    def _report(self) -> None:
        if self.on_progress is not None:
            self.on_progress(
                Progress(
                    name=self.job.name,
                    status=self.job.status,
                    created=self.created,
                    running=len(self.live),
                    max_jobs=self.job.spec.max_jobs,
                    best=self.tracker.best,
                    succeeded=self.tracker.succeeded,
                    failed=self.tracker.failed,
                    finishing=self.finishing,
                )
            )


__all__ = ["ConflictError", "LoopSettings", "TuningLoop"]
