"""The read statements of ``SqlStore``, built once (values travel as ``execute()``
parameters, mostly ``:key``, a lower-cased name), and the counter tallies of
training job statuses."""

from __future__ import annotations

from sqlalchemy import and_, bindparam, func, or_, select

from tunelab.domain.enums import ObjectiveStatus, ObjectiveType, TrainingJobStatus
from tunelab.store.sql.schema import metric_points, strategy_states, training_jobs, tuning_jobs

TJ, TR, MP = tuning_jobs.c, training_jobs.c, metric_points.c

TRAINING_COUNTER = {
    "Completed": "completed",
    "InProgress": "in_progress",
    "Stopping": "in_progress",
    "Failed": "non_retryable_error",
    "Stopped": "stopped",
}
OBJECTIVE_COUNTER = {
    "Succeeded": "objective_succeeded",
    "Pending": "objective_pending",
    "Failed": "objective_failed",
}


def count_into(totals: dict[str, int], status: str, objective: str, count: int) -> None:
    """Add ``count`` training jobs with this status and objective status to the
    ``Counters`` fields in ``totals`` (statuses without a counter are ignored)."""
    for field in (TRAINING_COUNTER.get(status), OBJECTIVE_COUNTER.get(objective)):
        if field is not None:
            totals[field] = totals.get(field, 0) + count


OWNED = and_(
    TR.tuning_job_key == bindparam("key"),
    TR.tuning_job_id.is_not_distinct_from(
        select(TJ.id).where(TJ.name_key == bindparam("key")).scalar_subquery()
    ),
)
"""Training jobs of the live tuning job named ``:key``, or, when there is none, the
ones left behind by deleted tuning jobs of that name."""
COUNTS = (
    select(TR.status, TR.objective_status, func.count())
    .where(OWNED)
    .group_by(TR.status, TR.objective_status)
)
COUNTS_OF = (
    select(TR.tuning_job_key, TR.status, TR.objective_status, func.count())
    .where(
        TR.tuning_job_key.in_(bindparam("keys", expanding=True)),
        TR.tuning_job_id.is_not_distinct_from(
            select(TJ.id).where(TJ.name_key == TR.tuning_job_key).scalar_subquery()
        ),
    )
    .group_by(TR.tuning_job_key, TR.status, TR.objective_status)
)
"""``COUNTS`` for several tuning jobs (``:keys``), each by the same ownership rule."""
TERMINAL = [s.value for s in TrainingJobStatus if s.is_terminal]
ENDED = (
    select(TR.end_time, TR.final_objective_value)
    .where(OWNED, or_(*(TR.status == status for status in TERMINAL)))  # no expanding IN
    .order_by(func.coalesce(TR.end_time, 0.0), TR.name)
)
"""(end time, final objective) of the finished training jobs, in the order they ended
(ties: by name)."""
LAST_MODIFIED = select(func.max(TR.last_modified_time)).where(OWNED)
BEST = {
    direction: select(training_jobs)
    .where(
        OWNED,
        TR.objective_status == ObjectiveStatus.SUCCEEDED.value,
        TR.final_objective_value.is_not(None),
    )
    .order_by(
        TR.final_objective_value.desc()
        if direction is ObjectiveType.MAXIMIZE
        else TR.final_objective_value.asc(),
        TR.creation_time.asc(),
        TR.name.asc(),
    )
    .limit(1)
    for direction in ObjectiveType
}
NAME_BY_KEY = select(TJ.name).where(TJ.name_key == bindparam("key"))
TUNING_COLUMNS = [column for column in tuning_jobs.c if column.name != "document"]
"""Every tuning job column but its request document (the largest one)."""
TUNING_BY_KEY = select(*TUNING_COLUMNS).where(TJ.name_key == bindparam("key"))
DOCUMENT = select(TJ.document).where(TJ.id == bindparam("id"))
TRAINING_BY_KEY = select(training_jobs).where(TR.name_key == bindparam("key"))
POINTS = (
    select(metric_points)
    .join(training_jobs, TR.id == MP.training_job_id)
    .where(TR.name_key == bindparam("key"))
    .order_by(MP.id)
)
METRIC_POINTS = POINTS.where(MP.metric_name == bindparam("metric"))
TRAINING_ID = select(TR.id).where(TR.name_key == bindparam("key"))
_LATER = metric_points.alias("later")
_NAMES = (
    select(func.min(MP.metric_name).label("name"))
    .where(MP.training_job_id == bindparam("job"))
    .cte("metric_names", recursive=True)
)
_NEXT_NAME = (
    select(func.min(MP.metric_name))
    .where(MP.training_job_id == bindparam("job"), MP.metric_name > _NAMES.c.name)
    .scalar_subquery()
)
_NAMES = _NAMES.union_all(select(_NEXT_NAME).where(_NAMES.c.name.is_not(None)))
_LATEST_ID = (
    select(_LATER.c.id)
    .where(_LATER.c.training_job_id == bindparam("job"), _LATER.c.metric_name == _NAMES.c.name)
    .order_by(_LATER.c.step.desc(), _LATER.c.id.desc())
    .limit(1)
    .scalar_subquery()
)
LATEST_POINTS = (
    select(metric_points)
    .where(MP.id.in_(select(_LATEST_ID).where(_NAMES.c.name.is_not(None))))
    .order_by(MP.metric_name)
)
"""The latest point (highest step, then last added) of each metric of training job
``:job`` (an id), by metric name. Each step walks the ``(training_job_id, metric_name,
step)`` index: the metric names one after the other (a recursive skip scan), then each
one's highest step, so the cost grows with the number of metrics, not of points."""
STATE = (
    select(strategy_states.c.state)
    .join(tuning_jobs, TJ.id == strategy_states.c.tuning_job_id)
    .where(TJ.name_key == bindparam("key"))
)
