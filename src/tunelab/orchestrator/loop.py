"""The tuning loop: drives one tuning job to a terminal status.

Each tick: poll the executor -> extract metrics -> let the strategy observe -> ask the
early-stopping rule (median rule, or Hyperband's rungs) about the new reports -> honour
stop requests and the completion criteria (kept by
:mod:`tunelab.orchestrator.completion_state`) -> ask the strategy for new configurations
-> persist everything of the tick in ONE store batch -> only then stop the jobs the rule
condemned and launch the new ones. Because decisions, new training jobs and the strategy
state are committed before any process is signalled or started, a crash at any point loses
no suggestion or decision and acts on none twice; :mod:`tunelab.orchestrator.recovery`
picks up from the store. The commit is :mod:`tunelab.orchestrator.tick_commit`'s; the next
attempts of spot-interrupted or retried jobs wait in a
:class:`~tunelab.orchestrator.executor_events.RelaunchQueue` until it is done, and jobs a
crashed driver left running wait there until their leftover process is gone
(:mod:`tunelab.orchestrator.orphans`: ended in the background, the loop goes on).

Every write of the loop is fenced on its lease (:mod:`tunelab.orchestrator.lease`),
which a heartbeat keeps while the loop lives: a loop that another process took over
(its process stalled past the lease) writes nothing more, launches nothing, and its
tick raises ``ConflictError``; the new holder ends and reruns what it left running.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from tunelab.domain.enums import TuningJobStatus
from tunelab.domain.errors import ConflictError
from tunelab.domain.progress import ImprovementTracker
from tunelab.domain.trial import TrainingJob, TrialEvent
from tunelab.domain.tuning_job import TuningJob
from tunelab.execution.base import Executor
from tunelab.execution.clock import Clock
from tunelab.orchestrator.completion import end_unrunnable, jobs_not_improving
from tunelab.orchestrator.completion_state import CompletionState
from tunelab.orchestrator.executor_events import RelaunchQueue
from tunelab.orchestrator.launches import launch_request, new_trial, open_slots
from tunelab.orchestrator.lease import LeaseKeeper
from tunelab.orchestrator.orphans import OrphanReaper
from tunelab.orchestrator.progress import Progress
from tunelab.orchestrator.recovery import Ending, StrategyUnavailable, recover, stop_when_gone
from tunelab.orchestrator.stoppers import EarlyStoppingOptions
from tunelab.orchestrator.stopping_jobs import StopRequests, apply_stops, stop_running
from tunelab.orchestrator.tick_commit import TickWrites, commit_tick_or_retry
from tunelab.orchestrator.trials import LiveTrial
from tunelab.stopping.base import EarlyStopper
from tunelab.store.base import LeaseLost, Store
from tunelab.strategies.base import Strategy


@dataclass(frozen=True)
class LoopSettings:
    jobs_root: str
    """Training job directories live in ``<jobs_root>/<tuning job>/<training job>``."""
    poll_interval: float = 0.5
    """Longest wait between two ticks when nothing happens."""
    lease_ttl: float = 30.0
    """Seconds a lease lasts unrenewed; a heartbeat thread renews it every third of it."""
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
        ttl = settings.lease_ttl
        self.lease = LeaseKeeper(store, name, clock, ttl, heartbeat=ttl / 3)
        self._orphans = OrphanReaper(executor.terminate_orphans)
        """Processes of training jobs a crashed driver left running, being ended."""
        self._ending: list[Ending] = []
        """Jobs to end Stopped once their leftover process is gone."""
        self.job: TuningJob = store.get_tuning_job(name)
        self.live: dict[str, LiveTrial] = {}
        self._completion = CompletionState(self.job.creation_time)
        """Why no more training jobs start, and the status the job ends with."""
        self._stop_requests = StopRequests(settings.status_poll_interval)
        self._relaunches = RelaunchQueue()
        """Jobs whose attempt ended without ending them (spot, RetryStrategy): their next
        attempt is committed in this tick and launched after it."""
        self.stopped_early = 0
        """Training jobs this loop stopped early on a rule's decision (Hyperband's too;
        not its stops at MaxResource)."""
        self._unrunnable = False
        """The strategy could not be built: the job ended at :meth:`start`."""

    @property
    def finishing(self) -> str | None:
        """Why no more training jobs start (completion criterion, failures), or None."""
        return self._completion.finishing

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
        """Take the lease, restore the strategy and relaunch unfinished jobs (those a
        crashed driver left running once their process is gone: see
        :mod:`tunelab.orchestrator.orphans`; returns without waiting). A job whose
        strategy cannot be built ends here (``Failed`` with that reason, or ``Stopped``
        when it was being stopped): :meth:`tick` returns True once no process is left."""
        self.lease.acquire()
        try:
            self._recover()
        except LeaseLost:
            raise self.lease.taken_over() from None
        except BaseException:
            self.lease.release()
            raise

    def _recover(self) -> None:
        try:
            options, fence = self.settings.early_stopping, self.lease.fence
            state = recover(
                self.store,
                self.executor,
                self.job,
                self.clock,
                options,
                self._orphans,
                fence,
                self.settings.jobs_root,
            )
        except StrategyUnavailable as error:
            self._unrunnable = True
            self.tracker, self.created, self._ending = error.tracker, error.created, error.ending
            self.job = end_unrunnable(
                self.store, self.clock, self.job, error.reason, self.tracker, self.lease.fence
            )
            return
        self.strategy, self.tracker, self.created = state.strategy, state.tracker, state.created
        self.stopper, self._ending = state.stopper, state.ending
        for trial in state.relaunch:
            name = trial.job.name
            if self._orphans.gone(name):
                self._launch(trial)
            else:  # launched by a tick once its leftover process is gone
                self.live[name] = trial
                self._relaunches.hold(trial, partial(self._orphans.gone, name))

    def tick(self) -> bool:
        """One round; True once the tuning job reached a terminal status. Raises
        ``ConflictError`` once another process took the job over (nothing written)."""
        self.lease.check()
        now = self.clock.now()
        if self._unrunnable:
            self._commit(TickWrites(self._end_leftovers(now), [], [], None), None, progress=False)
            self._report()
            return not self._ending
        polled = self._relaunches.poll(self.executor, self.live, self.tracker)
        changed, points, events = polled.changed, polled.points, polled.events
        changed.update(self._end_leftovers(now))
        observed = self._completion.call_strategy(self.job, self.strategy.observe, events)
        stops = self._early_stops(events, changed, now) if observed else []
        changed.update(self._check_stop_request())
        completed = self._completion.check(self.job, self.tracker, self.strategy, now)
        if completed is not None:  # a completion criterion is met: stop the running jobs
            changed.update(stop_running(self.live, self.executor, self.clock, completed))
        new = self._suggest(now) if self._completion.may_launch(self.job) else []
        if self._completion.broken is not None:  # the strategy failed: stop what runs
            message = f"Stopped: {self._completion.broken}"
            changed.update(stop_running(self.live, self.executor, self.clock, message))
        terminal = self._terminal_status(changed)
        state_changed = (events or new) and self._completion.broken is None
        writes = TickWrites(changed, points, new, self.strategy if state_changed else None)
        self._commit(writes, terminal)
        for trial in self._relaunches.take(now):
            self._launch(trial)
        for name in stops:
            self.executor.stop(name)
        for trial in new:
            self._launch(trial)
        self.lease.renew()
        self._report()
        return self.job.status.is_terminal

    def _commit(
        self, writes: TickWrites, terminal: TuningJob | None, progress: bool = True
    ) -> None:
        """Commit the tick (with the tuning job's progress fields unless not
        ``progress``), fenced on the lease: ``ConflictError`` when it was lost."""
        converged_at = self._completion.convergence.detected_at
        streak: int | None = jobs_not_improving(self.job, self.tracker)
        if not progress:
            converged_at, streak = None, None
        try:
            self.job = commit_tick_or_retry(
                self.store, self.job, writes, terminal, converged_at, streak, self.lease.fence
            )
        except LeaseLost:
            raise self.lease.taken_over() from None

    def _end_leftovers(self, now: float) -> dict[str, TrainingJob]:
        """The jobs to stop whose leftover process is now gone, Stopped."""
        if not self._ending:
            return {}
        spec, tracker = self.job.spec, self.tracker
        return stop_when_gone(self.store, spec, self._ending, self._orphans, now, tracker)

    # -- decisions --------------------------------------------------------------------

    def _early_stops(
        self, events: list[TrialEvent], changed: dict[str, TrainingJob], now: float
    ) -> list[str]:
        """Apply the rule's decisions and the StopTrainingJob requests to the running
        jobs (recorded in their status history, committed with this tick); return
        the jobs to stop once the tick is committed."""
        decided = list(self.stopper.decide(events)) if self.stopper and events else []
        requested = self._stop_requests.take_training_jobs(self.store, now, self.live)
        stops, stopped_early = apply_stops(self.live, decided, requested, changed, now)
        self.stopped_early += stopped_early
        return stops

    def request_stop_training_job(self, name: str) -> None:
        """Stop one running training job at the next tick (``StopTrainingJob``). Only
        adds to a set, so it may be called from another thread."""
        self._stop_requests.training_jobs.add(name)

    def request_stop(self) -> None:
        """Stop the tuning job at the next tick. Only sets a flag, so it is safe
        to call from a signal handler."""
        self._stop_requests.tuning_job = True

    def _check_stop_request(self) -> dict[str, TrainingJob]:
        """While the tuning job is being stopped (asked here or elsewhere, seen now or by a
        commit that found it stored so), stop every running job not stopped yet; returns
        the jobs marked ``Stopping``."""
        if self.job.status is TuningJobStatus.IN_PROGRESS:
            stored = self._stop_requests.read_tuning_job(self.store, self.clock, self.job.name)
            self.job = stored or self.job
        if self.job.status is not TuningJobStatus.STOPPING:
            return {}
        message = "Stopped: the tuning job was stopped"
        return stop_running(self.live, self.executor, self.clock, message)

    def _suggest(self, now: float) -> list[LiveTrial]:
        """Ask the strategy to fill the open slots; the new trials join ``live``."""
        spec = self.job.spec
        slots = open_slots(spec, len(self.live) + len(self._ending), self.created)
        if slots <= 0:
            return []
        suggestions = self._completion.call_strategy(self.job, self.strategy.suggest, slots)
        if suggestions is None:
            return []
        if not suggestions and not self.live:
            self._completion.exhausted = True  # nothing running and nothing more to try
        try:
            trials = [
                new_trial(spec, suggestion, self.created + k, now)
                for k, suggestion in enumerate(suggestions, start=1)
            ]
        except ValueError as error:  # a stored definition this version refuses to run
            self._completion.fail(f"its training jobs cannot be run: {error}")
            return []
        self.created += len(trials)
        self.live.update((trial.job.name, trial) for trial in trials)
        return trials

    def _terminal_status(self, changed: dict[str, TrainingJob]) -> TuningJob | None:
        """The job's terminal snapshot once nothing runs and nothing more will start
        (``changed``: the training jobs this tick commits with it), and no process a
        crashed driver left is still being ended."""
        if self.live or self._ending or self.job.status.is_terminal:
            return None
        return self._completion.terminal(
            self.store, self.clock, self.job, self.tracker, self.created, changed
        )

    # -- launching and reporting ----------------------------------------------------------

    def _launch(self, trial: LiveTrial) -> None:
        self.live[trial.job.name] = trial
        self.executor.submit(launch_request(trial, self.settings.jobs_root, self.job.name))

    def _wait_time(self) -> float:
        return self._completion.wait_time(self.job, self.settings.poll_interval, self.clock)

    def _report(self) -> None:
        if self.on_progress is not None:
            running = len(self.live)
            self.on_progress(
                Progress.of(self.job, self.tracker, self.created, running, self.finishing)
            )


__all__ = ["ConflictError", "LoopSettings", "TuningLoop"]
