"""How long a training job trained and what tunelab "bills" for it, read from its status
history (so nothing is stored for it).

- ``TrainingTimeInSeconds``: wall-clock seconds from ``TrainingStartTime`` to
  ``TrainingEndTime``, spot interruptions and waits for capacity included.
- ``BillableTimeInSeconds``: on-demand, the training time. Managed spot: the seconds the
  job actually held capacity (its attempts' Downloading, Training and Uploading periods;
  waiting for spot capacity is free, as on AWS) times :data:`SPOT_PRICE_RATIO`, the
  price of spot capacity relative to on-demand. SageMaker's savings are then
  ``1 - BillableTimeInSeconds / TrainingTimeInSeconds``.
"""

from __future__ import annotations

import math
from collections.abc import Collection

from tunelab.domain.enums import SecondaryStatus
from tunelab.domain.trial import TrainingJob

SPOT_PRICE_RATIO = 0.3
"""tunelab's spot price: 30% of on-demand (a 70% discount, typical of EC2 spot)."""

HOLDING_CAPACITY = frozenset(
    {SecondaryStatus.DOWNLOADING, SecondaryStatus.TRAINING, SecondaryStatus.UPLOADING}
)


def capacity_seconds(
    job: TrainingJob,
    now: float | None = None,
    statuses: Collection[SecondaryStatus] = HOLDING_CAPACITY,
) -> float:
    """Seconds spent in ``statuses``: each such transition lasts until the next one
    (for the last one, until ``job.end_time``, else ``now``, else it counts 0)."""
    total = 0.0
    transitions = job.transitions
    for index, transition in enumerate(transitions):
        if transition.status not in statuses:
            continue
        if index + 1 < len(transitions):
            end: float | None = transitions[index + 1].start_time
        else:
            end = job.end_time if job.end_time is not None else now
        if end is not None:
            total += max(0.0, end - transition.start_time)
    return total


def training_seconds(job: TrainingJob) -> int | None:
    """``TrainingTimeInSeconds`` (None until the job has started and ended)."""
    if job.start_time is None or job.end_time is None:
        return None
    return max(1, round(job.end_time - job.start_time))


def billable_seconds(job: TrainingJob, spot: bool) -> int | None:
    """``BillableTimeInSeconds`` (see the module docstring)."""
    training = training_seconds(job)
    if training is None or not spot:
        return training
    return max(1, math.ceil(capacity_seconds(job) * SPOT_PRICE_RATIO))


def spot_savings(job: TrainingJob, spot: bool) -> float | None:
    """SageMaker's managed spot savings, ``1 - billable / training`` (None before the
    job ended, 0.0 for an on-demand job)."""
    training, billable = training_seconds(job), billable_seconds(job, spot)
    if training is None or billable is None:
        return None
    return max(0.0, 1.0 - billable / training)
