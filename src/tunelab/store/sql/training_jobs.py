"""``SqlStore``'s methods on training jobs: create, read, list, the counters and best
training job of a tuning job, a training job's metric points, and StopTrainingJob
requests for the process that runs the job."""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Engine, and_, insert, select, tuple_, update
from sqlalchemy.exc import IntegrityError

from tunelab.domain.enums import ObjectiveType
from tunelab.domain.errors import ResourceInUse, ResourceNotFound
from tunelab.domain.trial import MetricPoint, TrainingJob
from tunelab.store.base import JSON, Counters, LogOrderQuery, Page, TrainingJobQuery
from tunelab.store.sql import changes, paging, queries, rows
from tunelab.store.sql.changes import Changes
from tunelab.store.sql.schema import LOG_STREAM_ORDER, training_jobs
from tunelab.store.sql.tags import TRAINING_JOB, insert_tags

TR = training_jobs.c

TRAINING_SORT = {
    "Name": TR.name,
    "CreationTime": TR.creation_time,
    "Status": TR.status,
    "FinalObjectiveMetricValue": TR.final_objective_value,
}
AFTER_EVERY_CHARACTER = "\U0010ffff"
"""Sorts after every character a name can hold: ``prefix + this`` bounds the names
starting with ``prefix``."""


class TrainingJobsMixin:
    """The training job methods of :class:`~tunelab.store.sql.store.SqlStore`, which
    sets the attributes declared here."""

    _engine: Engine
    _writer: Engine
    """``_engine`` beginning its transactions with ``BEGIN IMMEDIATE`` on SQLite."""
    changes: Changes

    def get_training_job(self, name: str) -> TrainingJob:
        """``ResourceNotFound`` if absent. Lookup ignores case."""
        with self._engine.connect() as conn:
            found = conn.execute(queries.TRAINING_BY_KEY, {"key": rows.key(name)})
            row = found.mappings().first()
        if row is None:
            raise ResourceNotFound(f"Training job '{name}' does not exist")
        return rows.training_job_from_row(row)

    def create_training_job(
        self, job: TrainingJob, request: Mapping[str, Any], created_by: str | None = None
    ) -> None:
        """Insert a training job created on its own (``CreateTrainingJob``), with its
        request document and ``Tags``; ``ResourceInUse`` if the name (any case) is
        taken."""
        key = rows.key(job.name)
        values = rows.training_job_values(job, None, request, created_by)
        pairs = [(t["Key"], t.get("Value", "")) for t in request.get("Tags", ())]
        try:
            with self._writer.connect() as conn, conn.begin():
                conn.execute(insert(training_jobs), values)
                insert_tags(conn, TRAINING_JOB, key, pairs)
        except IntegrityError:
            raise ResourceInUse(f"Training job '{job.name}' already exists") from None
        self.changes.bump([*changes.training(key), changes.tags(TRAINING_JOB, key)])

    def request_training_job_stop(self, name: str, at: float) -> None:
        """Record a StopTrainingJob request made at ``at`` for whichever process runs
        the job (it polls :meth:`stop_requested`); a later request keeps the first
        one's time. Changes nothing else. ``ResourceNotFound`` if absent."""
        key = rows.key(name)
        unset = and_(TR.name_key == key, TR.stop_requested_time.is_(None))
        with self._writer.connect() as conn, conn.begin():
            if conn.execute(
                update(training_jobs).where(unset).values(stop_requested_time=at)
            ).rowcount:
                return
            if conn.execute(select(TR.id).where(TR.name_key == key)).first() is None:
                raise ResourceNotFound(f"Training job '{name}' does not exist")

    def stop_requested(self, names: Sequence[str]) -> set[str]:
        """Those of ``names`` (as given) with a StopTrainingJob request recorded."""
        by_key = {rows.key(n): n for n in names}
        if not by_key:
            return set()
        asked = and_(TR.name_key.in_(list(by_key)), TR.stop_requested_time.is_not(None))
        with self._engine.connect() as conn:
            found = conn.execute(select(TR.name_key).where(asked)).scalars().all()
        return {by_key[k] for k in found}

    def training_job_request(self, name: str) -> JSON | None:
        """The ``CreateTrainingJob`` document of a training job created on its own;
        None for one launched by a tuning job. ``ResourceNotFound`` if absent."""
        stmt = select(TR.request).where(TR.name_key == rows.key(name))
        with self._engine.connect() as conn:
            found = conn.execute(stmt).first()
        if found is None:
            raise ResourceNotFound(f"Training job '{name}' does not exist")
        return None if found.request is None else dict(found.request)

    def list_training_jobs(self, query: TrainingJobQuery) -> Page:
        """A page of training jobs: of one tuning job (the live one with that name;
        after it was deleted, the deleted one(s)), or of all when
        ``query.tuning_job_name`` is None."""
        where = paging.common_filters(training_jobs, query)
        if query.tuning_job_name is not None:
            where.append(queries.OWNED)
        sort = TRAINING_SORT[query.sort_by]
        if query.sort_by == "FinalObjectiveMetricValue":
            where.append(sort.is_not(None))
        with self._engine.connect() as conn:
            return paging.page(
                conn,
                training_jobs,
                where,
                sort,
                query,
                rows.training_job_from_row,
                {"key": rows.key(query.tuning_job_name or "")},
            )

    def training_jobs_in_log_order(self, query: LogOrderQuery) -> list[TrainingJob]:
        """Up to ``query.limit`` training jobs after ``query.after``: by the names their
        log streams start with (``LOG_STREAM_ORDER``, indexed), or by (creation time,
        name) (``creation_time`` indexed, compared as a row value so that the index
        serves the cursor too); reads about as many rows as it returns."""
        later = operator.lt if query.descending else operator.gt
        streams_start = LOG_STREAM_ORDER
        where: list[ColumnElement[bool]] = []
        if query.name_prefix:
            where.append(streams_start >= query.name_prefix)
            where.append(streams_start < query.name_prefix + AFTER_EVERY_CHARACTER)
        keys: list[Any] = [TR.creation_time, TR.name] if query.by_creation else [streams_start]
        if query.after is not None and query.by_creation:
            where.append(later(tuple_(*keys), tuple_(*query.after)))
        elif query.after is not None:
            where.append(later(streams_start, f"{query.after[0]}/"))
        order = [key.desc() if query.descending else key.asc() for key in keys]
        stmt = select(training_jobs).where(*where).order_by(*order).limit(query.limit)
        with self._engine.connect() as conn:
            found = conn.execute(stmt).mappings().all()
        return [rows.training_job_from_row(row) for row in found]

    def counters(self, tuning_job_name: str) -> Counters:
        """Derived from the training jobs: Failed counts as NonRetryableError,
        Stopping as InProgress."""
        totals: dict[str, int] = {}
        with self._engine.connect() as conn:
            found = conn.execute(queries.COUNTS, {"key": rows.key(tuning_job_name)})
            for status, objective, count in found:
                queries.count_into(totals, status, objective, count)
        return Counters(**totals)

    def counters_of(self, tuning_job_names: Sequence[str]) -> dict[str, Counters]:
        """:meth:`counters` of several tuning jobs in one query, by the names given."""
        keys = {rows.key(name): name for name in tuning_job_names}
        totals: dict[str, dict[str, int]] = {name: {} for name in tuning_job_names}
        if keys:
            with self._engine.connect() as conn:
                found = conn.execute(queries.COUNTS_OF, {"keys": list(keys)})
                for tuning_key, status, objective, count in found:
                    queries.count_into(totals[keys[tuning_key]], status, objective, count)
        return {name: Counters(**values) for name, values in totals.items()}

    def best_training_job(
        self, tuning_job_name: str, objective_type: ObjectiveType
    ) -> TrainingJob | None:
        """Among jobs whose objective Succeeded with a value: the best value, then the
        earliest created, then the first name."""
        stmt = queries.BEST[objective_type]
        with self._engine.connect() as conn:
            row = conn.execute(stmt, {"key": rows.key(tuning_job_name)}).mappings().first()
        return None if row is None else rows.training_job_from_row(row)

    def metric_points(
        self, training_job_name: str, metric_name: str | None = None
    ) -> list[MetricPoint]:
        """Every stored point of the training job (of ``metric_name`` only, if given) in
        the order they were added ([] if none, or if there is no such job); what is
        stored is bounded by ``tunelab.store.retention``."""
        params = {"key": rows.key(training_job_name)}
        with self._engine.connect() as conn:
            if metric_name is None:
                found = conn.execute(queries.POINTS, params)
            else:
                found = conn.execute(queries.METRIC_POINTS, {**params, "metric": metric_name})
            return [rows.metric_point_from_row(r) for r in found.mappings()]

    def latest_metric_points(self, training_job_name: str) -> list[MetricPoint]:
        """The latest point (highest step; of those, the last added) of each metric of
        the training job, by metric name ([] if none, or if there is no such job). Reads
        one point per metric, however many the job stored."""
        with self._engine.connect() as conn:
            key = {"key": rows.key(training_job_name)}
            job_id = conn.execute(queries.TRAINING_ID, key).scalar()
            if job_id is None:
                return []
            latest = conn.execute(queries.LATEST_POINTS, {"job": job_id})
            return [rows.metric_point_from_row(r) for r in latest.mappings()]
