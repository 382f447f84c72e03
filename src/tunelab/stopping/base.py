"""The early-stopping interface.

A rule is pure: it never sees the executor, a clock or the store. The tuning loop
hands it, once per tick, the batch of :class:`TrialEvent` s it collected (the same
batch the strategy observes: one intermediate event per report of the objective,
``step`` = k-1 for the k-th report, and final events) and gets back explicit
decisions. The loop acts on them (it stops the training job) and persists them in
the same store batch as the events, so a decision is never lost nor taken twice.
After a crash the loop rebuilds a rule from what the store holds (e.g. the metric
points of every training job), so a rule needs no saved state of its own.

A strategy may be a rule too (Hyperband decides at its rungs): it then returns its
own decision objects, which only need the attributes of :class:`Decision`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from tunelab.domain.trial import TrialEvent


class Decision(Protocol):
    """What a rule decided about one report of a running training job."""

    @property
    def trial_id(self) -> str: ...

    @property
    def step(self) -> int:
        """The report the decision was taken at (0 for the first report)."""

    @property
    def stop(self) -> bool:
        """True: stop the job now. False: a recorded verdict to go on (a promotion)."""

    @property
    def reason(self) -> str:
        """One sentence for the training job's status history."""


@dataclass(frozen=True)
class StopDecision:
    """The plain :class:`Decision`."""

    trial_id: str
    step: int
    stop: bool
    reason: str


@runtime_checkable
class EarlyStopper(Protocol):
    """Contract: ``decide(events)`` takes only new events (delta semantics, in the
    order they happened; events of unknown trials are accepted) and returns the
    decisions they lead to, in event order: every stop, and for rules with
    milestones every verdict to go on. A trial is stopped at most once; reports of a
    trial after its stop (a process may print one more line before it exits) lead to
    nothing. An empty list means: let every job run on."""

    def decide(self, events: Sequence[TrialEvent]) -> Sequence[Decision]: ...
