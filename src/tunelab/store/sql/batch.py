"""``SqlStoreBatch``: writes buffered in memory and run in one transaction.

Buffering keeps SQLite's write lock for the few milliseconds of the commit only,
not for the whole ``with`` block (a tick may compute suggestions inside it), so a
second process (``describe``, ``stop``) never waits behind a slow block.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import Connection, Engine, Table, bindparam, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from tunelab.domain.errors import ConflictError, ResourceInUse, ResourceNotFound
from tunelab.domain.trial import MetricPoint, TrainingJob
from tunelab.domain.tuning_job import TuningJob
from tunelab.store import retention
from tunelab.store.base import LeaseLost
from tunelab.store.sql import changes, rows
from tunelab.store.sql.schema import metric_points, strategy_states, training_jobs, tuning_jobs
from tunelab.store.sql.tags import INHERIT_TAGS, TRAINING_JOB

TJ, TR = tuning_jobs.c, training_jobs.c


_TUNING_ID = select(TJ.id).where(TJ.name_key == bindparam("b_key"))
_TRAINING_ID = select(TR.id).where(TR.name_key == bindparam("b_key"))
_TUNING_VERSION = select(TJ.version).where(TJ.id == bindparam("b_id"))
_PUT_TRAINING = update(training_jobs).where(TR.name_key == bindparam("b_key"))
_PUT_TUNING = update(tuning_jobs).where(
    TJ.id == bindparam("b_id"), TJ.version == bindparam("b_version")
)
MP = metric_points.c
_DELETE_POINTS = delete(metric_points).where(MP.training_job_id == bindparam("b_id"))
_DELETE_OFF_STRIDE = delete(metric_points).where(
    MP.training_job_id == bindparam("b_id"),
    MP.metric_name == bindparam("b_metric"),
    MP.step >= retention.STEPS_KEPT,
    (MP.step - retention.STEPS_KEPT) % bindparam("b_stride", type_=MP.step.type) != 0,
)
"""A metric's stored points past ``retention.STEPS_KEPT`` off its thinned series' stride."""
_PUT_STATE = update(strategy_states).where(strategy_states.c.tuning_job_id == bindparam("b_id"))


def _lease_owner(table: Table) -> Any:
    """The lease owner of a job, its row locked until the transaction ends (PostgreSQL;
    SQLite's ``BEGIN IMMEDIATE`` holds the whole database)."""
    c = table.c
    return select(c.lease_owner).where(c.name_key == bindparam("b_key")).with_for_update()


_LEASE_OWNER = {
    "Tuning job": _lease_owner(tuning_jobs),
    "Training job": _lease_owner(training_jobs),
}


def _upsert_state(dialect: Any) -> Any:
    statement = dialect.insert(strategy_states)
    return statement.on_conflict_do_update(
        index_elements=[strategy_states.c.tuning_job_id], set_={"state": statement.excluded.state}
    )


_UPSERT_STATE = {"sqlite": _upsert_state(sqlite), "postgresql": _upsert_state(postgresql)}
"""One statement, so two writers saving a job's first state cannot both insert it
(update-then-insert races under PostgreSQL's read committed); other databases take
update-then-insert."""
# Statements are built once; values travel as execute() parameters, so each call
# skips statement construction and hits SQLAlchemy's compiled cache.


class Flush:
    """One running commit: its connection, ids looked up so far, and what to do
    once it has committed."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.after_commit: list[Callable[[], None]] = []
        self.changed: list[changes.Scope] = []
        """What the commit changes (``tunelab.store.sql.changes``)."""
        self._tuning_ids: dict[str, int] = {}
        self._training_ids: dict[str, int] = {}

    def tuning_job_id(self, name: str) -> int:
        key = rows.key(name)
        if key not in self._tuning_ids:
            found = self.conn.execute(_TUNING_ID, {"b_key": key}).scalar()
            if found is None:
                raise ResourceNotFound(f"Tuning job '{name}' does not exist")
            self._tuning_ids[key] = found
        return self._tuning_ids[key]

    def training_job_id(self, name: str) -> int:
        key = rows.key(name)
        if key not in self._training_ids:
            found = self.conn.execute(_TRAINING_ID, {"b_key": key}).scalar()
            if found is None:
                raise ResourceNotFound(f"Training job '{name}' does not exist")
            self._training_ids[key] = found
        return self._training_ids[key]

    def add_training_job(self, job: TrainingJob) -> None:
        """Insert a training job of a tuning job; it inherits the tuning job's tags
        as they are now (SageMaker: later tags apply to later training jobs)."""
        assert job.tuning_job_name is not None, "use SqlStore.create_training_job"
        values = rows.training_job_values(job, self.tuning_job_id(job.tuning_job_name))
        try:
            result = self.conn.execute(insert(training_jobs), values)
        except IntegrityError:
            raise ResourceInUse(f"Training job '{job.name}' already exists") from None
        self._training_ids[rows.key(job.name)] = result.inserted_primary_key[0]
        key = rows.key(job.name)
        self.changed += changes.training(key, rows.key(job.tuning_job_name))
        self.changed.append(changes.tags(TRAINING_JOB, key))
        self.conn.execute(
            INHERIT_TAGS,
            {"b_training": rows.key(job.name), "b_tuning": rows.key(job.tuning_job_name)},
        )

    def put_training_job(self, job: TrainingJob) -> None:
        values = {**rows.training_job_state(job), "b_key": rows.key(job.name)}
        if self.conn.execute(_PUT_TRAINING, values).rowcount != 1:
            raise ResourceNotFound(f"Training job '{job.name}' does not exist")
        tuning = None if job.tuning_job_name is None else rows.key(job.tuning_job_name)
        self.changed += changes.training(rows.key(job.name), tuning)

    def add_metric_points(self, name: str, points: Sequence[MetricPoint]) -> None:
        """Append ``points``, keeping what :mod:`tunelab.store.retention` keeps."""
        job_id = self.training_job_id(name)
        kept, strides = retention.retained(points)
        for metric, spacing in strides.items():
            self.conn.execute(
                _DELETE_OFF_STRIDE, {"b_id": job_id, "b_metric": metric, "b_stride": spacing}
            )
        values = [rows.metric_point_values(job_id, p) for p in kept]
        self.conn.execute(insert(metric_points), values)
        self.changed += changes.training(rows.key(name))

    def delete_metric_points(self, name: str) -> None:
        self.conn.execute(_DELETE_POINTS, {"b_id": self.training_job_id(name)})
        self.changed += changes.training(rows.key(name))

    def put_tuning_job(self, job: TuningJob, specs: rows.SpecCache) -> None:
        key, job_id = rows.key(job.name), self.tuning_job_id(job.name)
        values: dict[str, Any] = {
            **rows.tuning_job_state(job),
            "version": job.version + 1,
            "b_id": job_id,
            "b_version": job.version,
        }
        cached = specs.latest(key)
        if cached is None or cached[:2] != (job_id, job.version) or cached[2] is not job.spec:
            values["document"] = dict(job.spec.document)  # the request changed (e.g. tags)
            self.changed.append(changes.DOCUMENTS)
        if self.conn.execute(_PUT_TUNING, values).rowcount != 1:
            found = self.conn.execute(_TUNING_VERSION, {"b_id": job_id}).scalar()
            raise conflict(job, found)
        self.after_commit.append(lambda: specs.remember(key, job_id, job.version + 1, job.spec))
        self.changed.append(changes.tuning(key))

    def require_lease(self, what: str, name: str, owner: str) -> None:
        """``LeaseLost`` unless ``owner`` holds the lease of ``what`` ``name`` (``Tuning
        job`` or ``Training job``); the row stays locked until the commit, so a
        concurrent :meth:`~tunelab.store.sql.leases.LeasesMixin.swap_lease` waits for it."""
        found = self.conn.execute(_LEASE_OWNER[what], {"b_key": rows.key(name)}).first()
        if found is None:
            raise ResourceNotFound(f"{what} '{name}' does not exist")
        if found.lease_owner != owner:
            holder = found.lease_owner or "nobody"
            raise LeaseLost(
                f"{what} '{name}': its lease is held by {holder}, not by {owner}; "
                "nothing was written"
            )

    def save_strategy_state(self, name: str, state: Mapping[str, Any]) -> None:
        job_id, value = self.tuning_job_id(name), dict(state)
        upsert = _UPSERT_STATE.get(self.conn.dialect.name)
        if upsert is not None:
            self.conn.execute(upsert, {"tuning_job_id": job_id, "state": value})
        elif self.conn.execute(_PUT_STATE, {"state": value, "b_id": job_id}).rowcount == 0:
            self.conn.execute(insert(strategy_states), {"tuning_job_id": job_id, "state": value})


def conflict(job: TuningJob, found: int | None) -> ConflictError:
    return ConflictError(
        f"Tuning job '{job.name}' was changed by another writer: "
        f"expected version {job.version}, found {found}"
    )


class SqlStoreBatch:
    """Writes that commit together when the ``with`` block ends without error.

    Each call only records the write (argument objects must not be mutated
    afterwards; domain snapshots are frozen). At exit they run in call order (a
    required lease is checked first) in one transaction (``BEGIN IMMEDIATE`` on
    SQLite); any failure rolls all of them back and is raised from the ``with``
    statement: ``ResourceInUse`` (a training job name taken), ``ResourceNotFound``
    (unknown tuning or training job), ``ConflictError`` (``put_tuning_job`` lost a
    race) and ``LeaseLost`` (a required lease is held by another owner).
    Not thread-safe; use one batch per ``with`` block.
    """

    def __init__(
        self,
        writer: Engine,
        specs: rows.SpecCache,
        changed: changes.Changes | None = None,
    ) -> None:
        self._writer, self._specs = writer, specs
        self._changes = changed
        self._ops: list[Callable[[Flush], None]] = []
        self._fences: list[Callable[[Flush], None]] = []
        """Leases the commit requires (:meth:`require_lease`), checked before the writes."""
        self._closed = False

    def _record(self, op: Callable[[Flush], None]) -> None:
        if self._closed:
            raise RuntimeError("this batch has been committed or abandoned already")
        self._ops.append(op)

    def add_training_job(self, job: TrainingJob) -> None:
        """Insert a new training job (its name, in any case, must be new)."""
        self._record(lambda f: f.add_training_job(job))

    def put_training_job(self, job: TrainingJob) -> None:
        """Replace the stored training job of the same name (all but its tuning job)."""
        self._record(lambda f: f.put_training_job(job))

    def add_metric_points(self, training_job_name: str, points: Sequence[MetricPoint]) -> None:
        """Append points to the training job's series (no de-duplication), each metric's
        steps increasing: past ``retention.STEPS_KEPT`` steps the series is thinned, its
        latest point always kept (:mod:`tunelab.store.retention`)."""
        if points:
            frozen = tuple(points)
            self._record(lambda f: f.add_metric_points(training_job_name, frozen))

    def delete_metric_points(self, training_job_name: str) -> None:
        """Forget every point of the training job (its attempt is being run again)."""
        self._record(lambda f: f.delete_metric_points(training_job_name))

    def put_tuning_job(self, job: TuningJob) -> TuningJob:
        """Replace the stored tuning job if its version is still ``job.version``;
        return the snapshot as it will be stored (version + 1). The commit checks the
        version (``ConflictError``: nothing is written) and that the job exists
        (``ResourceNotFound``), in its one transaction."""
        self._record(lambda f: f.put_tuning_job(job, self._specs))
        return replace(job, version=job.version + 1)

    def save_strategy_state(self, tuning_job_name: str, state: Mapping[str, Any]) -> None:
        """Replace the tuning job's strategy state (any JSON object)."""
        self._record(lambda f: f.save_strategy_state(tuning_job_name, state))

    def require_lease(self, tuning_job_name: str, owner: str) -> None:
        """Commit only if ``owner`` holds the tuning job's lease then (checked first,
        inside the transaction; not at all when nothing is written); else ``LeaseLost``
        at exit and nothing is written."""
        self._fences.append(lambda f: f.require_lease("Tuning job", tuning_job_name, owner))

    def require_training_job_lease(self, training_job_name: str, owner: str) -> None:
        """:meth:`require_lease` for a standalone training job's lease."""
        name = training_job_name
        self._fences.append(lambda f: f.require_lease("Training job", name, owner))

    def commit(self) -> None:
        """Run the recorded writes in one transaction (nothing to do if none)."""
        self._closed = True
        if not self._ops:
            return
        with self._writer.connect() as conn, conn.begin():
            flush = Flush(conn)
            for op in [*self._fences, *self._ops]:
                op(flush)
        for done in flush.after_commit:
            done()
        if self._changes is not None:
            self._changes.bump(flush.changed)

    def abandon(self) -> None:
        self._closed = True
        self._ops.clear()
        self._fences.clear()
