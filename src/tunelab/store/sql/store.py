"""``SqlStore``: the :class:`~tunelab.store.base.Store` on SQLAlchemy 2.

One class for SQLite files (WAL; several processes may share a file) and
PostgreSQL, chosen by URL. Opening brings the schema to the newest Alembic
revision. Returned objects are immutable snapshots; the store keeps no
per-call state beyond a cache of parsed request documents, so one instance may
be shared by threads.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Table,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from tunelab.domain.enums import ObjectiveStatus, ObjectiveType, TrainingJobStatus
from tunelab.domain.errors import ResourceInUse, ResourceNotFound, tuning_job_name_taken
from tunelab.domain.trial import MetricPoint, TrainingJob
from tunelab.domain.tuning_job import TuningJob, TuningJobSpec
from tunelab.store.base import (
    JSON,
    Counters,
    Lease,
    Page,
    TrainingJobQuery,
    TuningJobOverview,
    TuningJobQuery,
)
from tunelab.store.sql import changes, rows
from tunelab.store.sql.batch import SqlStoreBatch
from tunelab.store.sql.changes import Changes
from tunelab.store.sql.engine import BEGIN_OPTION, make_engine, upgrade_to_head
from tunelab.store.sql.registry import SqlAccessKeys, SqlAlgorithms
from tunelab.store.sql.schema import metric_points, strategy_states, training_jobs, tuning_jobs
from tunelab.store.sql.tags import TRAINING_JOB, TUNING_JOB, SqlTags, insert_tags

__all__ = ["SqlStore", "SqlStoreBatch"]

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
TUNING_SORT = {"Name": TJ.name, "Status": TJ.status, "CreationTime": TJ.creation_time}
TRAINING_SORT = {
    "Name": TR.name,
    "CreationTime": TR.creation_time,
    "Status": TR.status,
    "FinalObjectiveMetricValue": TR.final_objective_value,
}


class SqlStore:
    """The store in a SQL database given by a SQLAlchemy URL.

    ``sqlite:///path/to/file.db`` (directory created if missing),
    ``sqlite://`` (in memory, for tests) or ``postgresql://user@host/db``.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine = make_engine(url)
        self._writer = self._engine.execution_options(**{BEGIN_OPTION: "IMMEDIATE"})
        self._specs = rows.SpecCache()
        self.migrated = upgrade_to_head(self._engine)
        """True when opening this store ran migrations."""
        self.changes = Changes()
        """What this store committed, per scope (``tunelab.store.sql.changes``)."""
        self.tags = SqlTags(self._engine, self._writer, self.changes)
        self.algorithms = SqlAlgorithms(self._engine, self._writer, self.changes)
        self.access_keys = SqlAccessKeys(self._engine, self._writer)

    # -- tuning jobs -------------------------------------------------------------

    def create_tuning_job(self, job: TuningJob) -> TuningJob:
        """Insert; ``ResourceInUse`` if the name (any case) is taken. Returns ``job``."""
        key = rows.key(job.name)
        try:
            with self._writer.connect() as conn, conn.begin():
                taken = conn.execute(_NAME_BY_KEY, {"key": key}).scalar()
                if taken is not None:
                    raise tuning_job_name_taken(job.name, taken)
                result = conn.execute(insert(tuning_jobs), rows.tuning_job_values(job))
                insert_tags(conn, TUNING_JOB, key, job.spec.tags)
        except IntegrityError:  # another writer won the race (PostgreSQL)
            raise tuning_job_name_taken(job.name, job.name) from None
        self._specs.remember(key, result.inserted_primary_key[0], job.version, job.spec)
        self.changes.bump([changes.tuning(key), changes.tags(TUNING_JOB, key)])
        return job

    def get_tuning_job(self, name: str) -> TuningJob:
        """``ResourceNotFound`` if absent. Lookup ignores case."""
        with self._engine.connect() as conn:
            row = conn.execute(_TUNING_BY_KEY, {"key": rows.key(name)}).mappings().first()
            if row is None:
                raise ResourceNotFound(f"Tuning job '{name}' does not exist")
            return rows.tuning_job_from_row(row, self._spec(conn, row))

    def _spec(self, conn: Connection, row: Any) -> TuningJobSpec:
        """The row's spec: from the cache, or parsed from its document, read in the
        same transaction (rows are read without their document, the largest column)."""
        spec = self._specs.cached(row)
        if spec is None:
            document = conn.execute(_DOCUMENT, {"id": row["id"]}).scalar_one()
            spec = self._specs.spec({**row, "document": document})
        return spec

    def list_tuning_jobs(self, query: TuningJobQuery) -> Page:
        """A page of ``TuningJob`` s; the cursor is (sort value, name) of the last one."""
        where = _common_filters(tuning_jobs, query)
        with self._engine.connect() as conn:
            return _page(
                conn,
                tuning_jobs,
                where,
                TUNING_SORT[query.sort_by],
                query,
                lambda r: rows.tuning_job_from_row(r, self._spec(conn, r)),
                columns=_TUNING_COLUMNS,
            )

    def delete_tuning_job(
        self, name: str, kept_requests: Mapping[str, Mapping[str, Any]] | None = None
    ) -> None:
        """Remove the tuning job, its strategy state and lease. Its training jobs and
        their metric points stay (unlinked, still naming the tuning job), each with
        its entry of ``kept_requests`` (by training job name) as its request."""
        key = rows.key(name)
        with self._writer.connect() as conn, conn.begin():
            job_id = conn.execute(select(TJ.id).where(TJ.name_key == key)).scalar()
            if job_id is None:
                raise ResourceNotFound(f"Tuning job '{name}' does not exist")
            for training_name, request in (kept_requests or {}).items():
                conn.execute(
                    update(training_jobs)
                    .where(TR.name_key == rows.key(training_name), TR.tuning_job_id == job_id)
                    .values(request=dict(request))
                )
            unlinked = conn.execute(select(TR.name_key).where(TR.tuning_job_id == job_id))
            touched = [changes.tuning(key), *(("training", k) for (k,) in unlinked)]
            conn.execute(
                update(training_jobs).where(TR.tuning_job_id == job_id).values(tuning_job_id=None)
            )
            conn.execute(delete(strategy_states).where(strategy_states.c.tuning_job_id == job_id))
            conn.execute(delete(tuning_jobs).where(TJ.id == job_id))
        self._specs.forget(key)
        self.changes.bump(touched)

    # -- training jobs -----------------------------------------------------------

    def get_training_job(self, name: str) -> TrainingJob:
        """``ResourceNotFound`` if absent. Lookup ignores case."""
        with self._engine.connect() as conn:
            row = conn.execute(_TRAINING_BY_KEY, {"key": rows.key(name)}).mappings().first()
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
        where = _common_filters(training_jobs, query)
        if query.tuning_job_name is not None:
            where.append(_OWNED)
        sort = TRAINING_SORT[query.sort_by]
        if query.sort_by == "FinalObjectiveMetricValue":
            where.append(sort.is_not(None))
        with self._engine.connect() as conn:
            return _page(
                conn,
                training_jobs,
                where,
                sort,
                query,
                rows.training_job_from_row,
                {"key": rows.key(query.tuning_job_name or "")},
            )

    def counters(self, tuning_job_name: str) -> Counters:
        """Derived from the training jobs: Failed counts as NonRetryableError,
        Stopping as InProgress."""
        totals: dict[str, int] = {}
        with self._engine.connect() as conn:
            found = conn.execute(_COUNTS, {"key": rows.key(tuning_job_name)})
            for status, objective, count in found:
                for field in (TRAINING_COUNTER.get(status), OBJECTIVE_COUNTER.get(objective)):
                    if field is not None:
                        totals[field] = totals.get(field, 0) + count
        return Counters(**totals)

    def counters_of(self, tuning_job_names: Sequence[str]) -> dict[str, Counters]:
        """:meth:`counters` of several tuning jobs in one query, by the names given."""
        keys = {rows.key(name): name for name in tuning_job_names}
        totals: dict[str, dict[str, int]] = {name: {} for name in tuning_job_names}
        if keys:
            with self._engine.connect() as conn:
                found = conn.execute(_COUNTS_OF, {"keys": list(keys)})
                for tuning_key, status, objective, count in found:
                    into = totals[keys[tuning_key]]
                    for field in (TRAINING_COUNTER.get(status), OBJECTIVE_COUNTER.get(objective)):
                        if field is not None:
                            into[field] = into.get(field, 0) + count
        return {name: Counters(**values) for name, values in totals.items()}

    def tuning_job_overview(self, name: str) -> TuningJobOverview:
        """Everything ``DescribeHyperParameterTuningJob`` needs, read in one transaction
        without loading every training job: the tuning job, its counters, its best
        training job, and the (end time, final objective) of its finished training jobs.
        ``ResourceNotFound`` if absent."""
        params = {"key": rows.key(name)}
        with self._engine.connect() as conn:
            row = conn.execute(_TUNING_BY_KEY, params).mappings().first()
            if row is None:
                raise ResourceNotFound(f"Tuning job '{name}' does not exist")
            job = rows.tuning_job_from_row(row, self._spec(conn, row))
            totals: dict[str, int] = {}
            for status, objective, count in conn.execute(_COUNTS, params):
                for field in (TRAINING_COUNTER.get(status), OBJECTIVE_COUNTER.get(objective)):
                    if field is not None:
                        totals[field] = totals.get(field, 0) + count
            best_row = conn.execute(_BEST[job.spec.objective_type], params).mappings().first()
            ended = tuple((r[0], r[1]) for r in conn.execute(_ENDED, params))
            modified = conn.execute(_LAST_MODIFIED, params).scalar()
        return TuningJobOverview(
            job=job,
            counters=Counters(**totals),
            best=None if best_row is None else rows.training_job_from_row(best_row),
            ended=ended,
            last_modified_time=max(job.last_modified_time, modified or 0.0),
        )

    def best_training_job(
        self, tuning_job_name: str, objective_type: ObjectiveType
    ) -> TrainingJob | None:
        """Among jobs whose objective Succeeded with a value: the best value, then the
        earliest created, then the first name."""
        stmt = _BEST[objective_type]
        with self._engine.connect() as conn:
            row = conn.execute(stmt, {"key": rows.key(tuning_job_name)}).mappings().first()
        return None if row is None else rows.training_job_from_row(row)

    def metric_points(self, training_job_name: str) -> list[MetricPoint]:
        """Every point of the training job in the order they were added ([] if none,
        or if there is no such job)."""
        with self._engine.connect() as conn:
            found = conn.execute(_POINTS, {"key": rows.key(training_job_name)}).mappings()
            return [rows.metric_point_from_row(r) for r in found]

    # -- strategy state and lease ------------------------------------------------

    def strategy_state(self, tuning_job_name: str) -> JSON | None:
        """The last saved state; None if none was saved (or no such tuning job)."""
        with self._engine.connect() as conn:
            state = conn.execute(_STATE, {"key": rows.key(tuning_job_name)}).scalar()
        return None if state is None else dict(state)

    def get_lease(self, tuning_job_name: str) -> Lease | None:
        """The current lease, expired or not (None if nobody holds one).
        ``ResourceNotFound`` if there is no such tuning job."""
        with self._engine.connect() as conn:
            row = conn.execute(_LEASE, {"key": rows.key(tuning_job_name)}).first()
        if row is None:
            raise ResourceNotFound(f"Tuning job '{tuning_job_name}' does not exist")
        return None if row.lease_owner is None else Lease(row.lease_owner, row.lease_expires_at)

    def swap_lease(self, tuning_job_name: str, expected: Lease | None, new: Lease | None) -> bool:
        """Compare-and-set: replace the lease only if it is still ``expected``
        (owner and expiry, exactly). ``ResourceNotFound`` if there is no such
        tuning job. Does not change the tuning job's version."""
        key = rows.key(tuning_job_name)
        if expected is None:
            still = and_(TJ.lease_owner.is_(None), TJ.lease_expires_at.is_(None))
        else:
            still = and_(
                TJ.lease_owner == expected.owner, TJ.lease_expires_at == expected.expires_at
            )
        values = {
            "lease_owner": None if new is None else new.owner,
            "lease_expires_at": None if new is None else new.expires_at,
        }
        with self._writer.connect() as conn, conn.begin():
            stmt = update(tuning_jobs).where(TJ.name_key == key, still).values(values)
            if conn.execute(stmt).rowcount == 1:
                return True
            if conn.execute(select(TJ.id).where(TJ.name_key == key)).first() is None:
                raise ResourceNotFound(f"Tuning job '{tuning_job_name}' does not exist")
            return False

    # -- batches and lifetime ----------------------------------------------------

    @contextmanager
    def batch(self) -> Iterator[SqlStoreBatch]:
        """Writes recorded in the block commit together at its end (see
        :class:`SqlStoreBatch`); if the block raises, nothing is written."""
        batch = SqlStoreBatch(self._writer, self._specs, self._engine, self.changes)
        try:
            yield batch
        except BaseException:
            batch.abandon()
            raise
        batch.commit()

    def close(self) -> None:
        """Release the connections. The store must not be used afterwards."""
        self._engine.dispose()

    def __enter__(self) -> SqlStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _common_filters(
    table: Table, query: TuningJobQuery | TrainingJobQuery
) -> list[ColumnElement[bool]]:
    """The filters both listings share: name contains (any case), status, and the
    creation and modification time windows (exclusive bounds)."""
    columns = table.c
    where: list[ColumnElement[bool]] = []
    if query.name_contains:
        where.append(columns.name_key.contains(query.name_contains.lower(), autoescape=True))
    if query.status is not None:
        where.append(columns.status == query.status.value)
    for value, condition in (
        (query.created_after, lambda v: columns.creation_time > v),
        (query.created_before, lambda v: columns.creation_time < v),
        (query.modified_after, lambda v: columns.last_modified_time > v),
        (query.modified_before, lambda v: columns.last_modified_time < v),
    ):
        if value is not None:
            where.append(condition(value))
    return where


def _page(
    conn: Connection,
    table: Table,
    where: list[ColumnElement[bool]],
    sort: Any,
    query: TuningJobQuery | TrainingJobQuery,
    convert: Callable[[Any], Any],
    params: dict[str, Any] | None = None,
    columns: Sequence[Any] | None = None,
) -> Page:
    """Keyset pagination on (sort, name), both in the query's order."""
    name = table.c.name
    descending = query.sort_order == "Descending"
    before_or_after = operator.lt if descending else operator.gt
    if query.after is not None:
        value, last = query.after
        if sort is name:
            where.append(before_or_after(name, last))
        else:
            where.append(
                or_(before_or_after(sort, value), and_(sort == value, before_or_after(name, last)))
            )
    keys: Sequence[Any] = [name] if sort is name else [sort, name]
    stmt = (select(table) if columns is None else select(*columns)).where(*where)
    stmt = stmt.order_by(*(k.desc() if descending else k.asc() for k in keys))
    if query.limit is not None:
        stmt = stmt.limit(query.limit + 1)
    found = conn.execute(stmt, params or {}).mappings().all()
    cursor = None
    if query.limit is not None and len(found) > query.limit:
        found = found[: query.limit]
        cursor = (found[-1][sort.name], found[-1]["name"])
    return Page([convert(r) for r in found], cursor)


_OWNED = and_(
    TR.tuning_job_key == bindparam("key"),
    TR.tuning_job_id.is_not_distinct_from(
        select(TJ.id).where(TJ.name_key == bindparam("key")).scalar_subquery()
    ),
)
"""Training jobs of the live tuning job named ``:key``, or, when there is none, the
ones left behind by deleted tuning jobs of that name."""
_COUNTS = (
    select(TR.status, TR.objective_status, func.count())
    .where(_OWNED)
    .group_by(TR.status, TR.objective_status)
)
_COUNTS_OF = (
    select(TR.tuning_job_key, TR.status, TR.objective_status, func.count())
    .where(
        TR.tuning_job_key.in_(bindparam("keys", expanding=True)),
        TR.tuning_job_id.is_not_distinct_from(
            select(TJ.id).where(TJ.name_key == TR.tuning_job_key).scalar_subquery()
        ),
    )
    .group_by(TR.tuning_job_key, TR.status, TR.objective_status)
)
"""``_COUNTS`` for several tuning jobs (``:keys``), each by the same ownership rule."""
_TERMINAL = [s.value for s in TrainingJobStatus if s.is_terminal]
_ENDED = (
    select(TR.end_time, TR.final_objective_value)
    .where(_OWNED, or_(*(TR.status == status for status in _TERMINAL)))  # no expanding IN
    .order_by(func.coalesce(TR.end_time, 0.0), TR.name)
)
"""(end time, final objective) of the finished training jobs, in the order they ended
(ties: by name)."""
_LAST_MODIFIED = select(func.max(TR.last_modified_time)).where(_OWNED)
_BEST = {
    direction: select(training_jobs)
    .where(
        _OWNED,
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
_NAME_BY_KEY = select(TJ.name).where(TJ.name_key == bindparam("key"))
_TUNING_COLUMNS = [column for column in tuning_jobs.c if column.name != "document"]
_TUNING_BY_KEY = select(*_TUNING_COLUMNS).where(TJ.name_key == bindparam("key"))
_DOCUMENT = select(TJ.document).where(TJ.id == bindparam("id"))
_TRAINING_BY_KEY = select(training_jobs).where(TR.name_key == bindparam("key"))
_POINTS = (
    select(metric_points)
    .join(training_jobs, TR.id == MP.training_job_id)
    .where(TR.name_key == bindparam("key"))
    .order_by(MP.id)
)
_STATE = (
    select(strategy_states.c.state)
    .join(tuning_jobs, TJ.id == strategy_states.c.tuning_job_id)
    .where(TJ.name_key == bindparam("key"))
)
_LEASE = select(TJ.lease_owner, TJ.lease_expires_at).where(TJ.name_key == bindparam("key"))
