"""``SqlStore``'s methods on tuning jobs: create, read, list, delete, the overview
``DescribeHyperParameterTuningJob`` needs, and each job's strategy state (its lease:
``leases``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from tunelab.domain.enums import TuningJobStatus
from tunelab.domain.errors import ResourceNotFound, tuning_job_name_taken
from tunelab.domain.tuning_job import TuningJob, TuningJobSpec
from tunelab.store.base import JSON, Counters, Page, TuningJobOverview, TuningJobQuery
from tunelab.store.sql import changes, paging, queries, rows
from tunelab.store.sql.changes import Changes
from tunelab.store.sql.schema import strategy_states, training_jobs, tuning_jobs
from tunelab.store.sql.tags import TUNING_JOB, delete_all_tags, insert_tags

TJ, TR = tuning_jobs.c, training_jobs.c

TUNING_SORT = {"Name": TJ.name, "Status": TJ.status, "CreationTime": TJ.creation_time}
_CREATE_LOCK = 0x74756E656C6162  # "tunelab": PostgreSQL's advisory lock of creations


class TuningJobsMixin:
    """The tuning job methods of :class:`~tunelab.store.sql.store.SqlStore`, which
    sets the attributes declared here."""

    _engine: Engine
    _writer: Engine
    """``_engine`` beginning its transactions with ``BEGIN IMMEDIATE`` on SQLite."""
    _specs: rows.SpecCache
    changes: Changes

    def create_tuning_job(
        self, job: TuningJob, admit: Callable[[int], None] | None = None
    ) -> TuningJob:
        """Insert; ``ResourceInUse`` if the name (any case) is taken. Returns ``job``.
        ``admit`` gets the number of tuning jobs not ended (InProgress, Stopping) in the
        insert's transaction, creations being serialized, so that a quota it enforces by
        raising holds however many create at once."""
        key = rows.key(job.name)
        try:
            with self._writer.connect() as conn, conn.begin():
                if conn.dialect.name == "postgresql":  # SQLite: BEGIN IMMEDIATE serializes
                    conn.execute(select(func.pg_advisory_xact_lock(_CREATE_LOCK)))
                taken = conn.execute(queries.NAME_BY_KEY, {"key": key}).scalar()
                if taken is not None:
                    raise tuning_job_name_taken(job.name, taken)
                if admit is not None:
                    unended = (TuningJobStatus.IN_PROGRESS.value, TuningJobStatus.STOPPING.value)
                    count = select(func.count()).where(TJ.status.in_(unended))
                    admit(conn.execute(count).scalar_one())
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
            row = conn.execute(queries.TUNING_BY_KEY, {"key": rows.key(name)}).mappings().first()
            if row is None:
                raise ResourceNotFound(f"Tuning job '{name}' does not exist")
            return rows.tuning_job_from_row(row, self._spec(conn, row))

    def _spec(self, conn: Connection, row: Any) -> TuningJobSpec:
        """The row's spec: from the cache, or parsed from its document, read in the
        same transaction (rows are read without their document, the largest column)."""
        spec = self._specs.cached(row)
        if spec is None:
            document = conn.execute(queries.DOCUMENT, {"id": row["id"]}).scalar_one()
            spec = self._specs.spec({**row, "document": document})
        return spec

    def list_tuning_jobs(self, query: TuningJobQuery) -> Page:
        """A page of ``TuningJob`` s; the cursor is (sort value, name) of the last one."""
        where = paging.common_filters(tuning_jobs, query)
        with self._engine.connect() as conn:
            return paging.page(
                conn,
                tuning_jobs,
                where,
                TUNING_SORT[query.sort_by],
                query,
                lambda r: rows.tuning_job_from_row(r, self._spec(conn, r)),
                columns=queries.TUNING_COLUMNS,
            )

    def delete_tuning_job(
        self, name: str, kept_requests: Mapping[str, Mapping[str, Any]] | None = None
    ) -> None:
        """Remove the tuning job, its strategy state, lease and tags. Its training jobs
        and their metric points (and tags) stay (unlinked, still naming the tuning job),
        each with its entry of ``kept_requests`` (by training job name) as its request."""
        key = rows.key(name)
        with self._writer.connect() as conn, conn.begin():
            owner = select(TJ.id).where(TJ.name_key == key).with_for_update()
            job_id = conn.execute(owner).scalar()
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
            delete_all_tags(conn, TUNING_JOB, key)
        self._specs.forget(key)
        self.changes.bump([*touched, changes.tags(TUNING_JOB, key)])

    def tuning_job_overview(self, name: str) -> TuningJobOverview:
        """Everything ``DescribeHyperParameterTuningJob`` needs, read in one transaction
        without loading every training job: the tuning job, its counters, its best
        training job, and the (end time, final objective) of its finished training jobs.
        ``ResourceNotFound`` if absent."""
        params = {"key": rows.key(name)}
        with self._engine.connect() as conn:
            row = conn.execute(queries.TUNING_BY_KEY, params).mappings().first()
            if row is None:
                raise ResourceNotFound(f"Tuning job '{name}' does not exist")
            job = rows.tuning_job_from_row(row, self._spec(conn, row))
            totals: dict[str, int] = {}
            for status, objective, count in conn.execute(queries.COUNTS, params):
                queries.count_into(totals, status, objective, count)
            best_stmt = queries.BEST[job.spec.objective_type]
            best_row = conn.execute(best_stmt, params).mappings().first()
            ended = tuple((r[0], r[1]) for r in conn.execute(queries.ENDED, params))
            modified = conn.execute(queries.LAST_MODIFIED, params).scalar()
        return TuningJobOverview(
            job=job,
            counters=Counters(**totals),
            best=None if best_row is None else rows.training_job_from_row(best_row),
            ended=ended,
            last_modified_time=max(job.last_modified_time, modified or 0.0),
        )

    # -- strategy state -----------------------------------------------------------

    def strategy_state(self, tuning_job_name: str) -> JSON | None:
        """The last saved state; None if none was saved (or no such tuning job)."""
        with self._engine.connect() as conn:
            state = conn.execute(queries.STATE, {"key": rows.key(tuning_job_name)}).scalar()
        return None if state is None else dict(state)
