"""Which metric points the store keeps, per training job and metric.

A program may print its metric millions of times; every point kept would make the
database grow without bound and every read of the series slow. The rule:

- every point with ``step`` below :data:`STEPS_KEPT` is kept: the first 20,000 reports,
  as many as the largest Hyperband ``MaxResource`` (the resource is the number of
  reports of the objective), so the value at every step Hyperband and the median
  stopping rule judge, and every running average up to it, can be read back;
- past it, a thinned series: the steps ``STEPS_KEPT + i * stride``, at most
  :data:`THINNED_KEPT` of them. The stride is the smallest power of two that keeps
  them within that number up to the latest step, so it doubles as the series grows
  (the points off the new stride are deleted) and the kept ones stay evenly spaced;
- the latest point (highest step) is always kept, so the final value, its step and its
  time stay exact (``FinalMetricDataList``, a stopped job's objective).

A metric thus keeps at most ``STEPS_KEPT + THINNED_KEPT + 1`` points.
"""

from __future__ import annotations

from collections.abc import Sequence

from tunelab.domain.hyperband_rules import MAX_HYPERBAND_RESOURCE
from tunelab.domain.trial import MetricPoint

STEPS_KEPT = MAX_HYPERBAND_RESOURCE
"""Points of a metric kept one by one: steps ``0 .. STEPS_KEPT - 1``."""
THINNED_KEPT = 1_000
"""At most this many evenly spaced points past :data:`STEPS_KEPT`, besides the latest."""
MAX_POINTS_PER_METRIC = STEPS_KEPT + THINNED_KEPT + 1


def stride(latest_step: int) -> int:
    """The spacing of the thinned series while ``latest_step`` is the latest step (1
    while it is below :data:`STEPS_KEPT`): the smallest power of two ``s`` with at most
    :data:`THINNED_KEPT` steps ``STEPS_KEPT + i * s`` up to ``latest_step``."""
    past = latest_step - STEPS_KEPT
    spacing = 1
    while past // spacing >= THINNED_KEPT:
        spacing *= 2
    return spacing


def on_stride(step: int, spacing: int) -> bool:
    """Whether a point at ``step`` belongs to the series kept at stride ``spacing``
    (latest point aside)."""
    return step < STEPS_KEPT or (step - STEPS_KEPT) % spacing == 0


def retained(points: Sequence[MetricPoint]) -> tuple[list[MetricPoint], dict[str, int]]:
    """What to store of ``points``, new points of one training job in the order they
    were reported (steps increasing per metric, after every stored one): the points to
    insert, in order, and for each metric with points past :data:`STEPS_KEPT` the
    stride of its series after them. The caller deletes that metric's stored points
    past :data:`STEPS_KEPT` off that stride (the previous latest, or those a doubled
    stride leaves out) before inserting."""
    latest: dict[str, MetricPoint] = {}
    for point in points:
        if point.step >= STEPS_KEPT:
            latest[point.metric_name] = point
    strides = {name: stride(point.step) for name, point in latest.items()}
    kept = [
        point
        for point in points
        if point.step < STEPS_KEPT
        or on_stride(point.step, strides[point.metric_name])
        or point is latest[point.metric_name]
    ]
    return kept, strides
