"""Server-side paging for the console's tables, on the store's keyset pagination:
a page is fetched with ``after`` = (sort value, name) of the previous page's last
row, so page 200 costs what page 1 costs. "Previous" asks the store for the
rows before the first one, in the opposite order, and turns them around.

The tag filter of the jobs list is a narrow helper over the SQL store's tables
(the store's query has no tag member yet); other stores fall back to scanning.
"""

from __future__ import annotations

import base64
import json
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import and_, or_, select

from tunelab.domain.enums import TrainingJobStatus, TuningJobStatus
from tunelab.domain.trial import TrainingJob
from tunelab.domain.tuning_job import TuningJob
from tunelab.store.base import Page, Store, TrainingJobQuery, TuningJobQuery
from tunelab.store.sql.schema import tags, tuning_jobs
from tunelab.store.sql.tags import TUNING_JOB

PAGE_SIZES = (10, 25, 50, 100)
TUNING_SORTS = ("CreationTime", "Name", "Status")
TRAINING_SORTS = ("Name", "CreationTime", "Status", "FinalObjectiveMetricValue")
ORDERS = ("Descending", "Ascending")
Cursor = tuple[Any, str]


def encode_cursor(cursor: Cursor | None) -> str:
    if cursor is None:
        return ""
    return base64.urlsafe_b64encode(json.dumps(list(cursor)).encode()).decode().rstrip("=")


def decode_cursor(text: str | None) -> Cursor | None:
    """The cursor in a URL; None when absent or unreadable (the first page)."""
    if not text:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        first, name = value
    except (ValueError, TypeError):
        return None
    return (first, name) if isinstance(name, str) else None


def _choice(value: str | None, allowed: tuple[str, ...], default: str) -> str:
    return value if value in allowed else default


def page_size(value: str | None, default: int = 25) -> int:
    try:
        size = int(value or default)
    except ValueError:
        return default
    return size if size in PAGE_SIZES else default


@dataclass
class Paged:
    """One page of rows and the cursors of the pages around it (None: no such page)."""

    items: list[Any]
    next_cursor: str | None
    previous_cursor: str | None


def paged(
    fetch: Callable[[Any], Page],
    query: Any,
    key: Callable[[Any], Cursor],
    after: Cursor | None,
    before: Cursor | None,
) -> Paged:
    """Fetch the page after ``after`` (or, given ``before``, the page before it)."""
    if before is not None:
        flipped = "Ascending" if query.sort_order == "Descending" else "Descending"
        page = fetch(replace(query, sort_order=flipped, after=before))
        items = list(reversed(page.items))
        previous = encode_cursor(key(items[0])) if page.next_cursor and items else None
        following = encode_cursor(key(items[-1])) if items else encode_cursor(before)
        return Paged(items, following, previous)
    page = fetch(replace(query, after=after))
    items = list(page.items)
    following = encode_cursor(key(items[-1])) if page.next_cursor and items else None
    previous = encode_cursor(key(items[0])) if after is not None and items else None
    return Paged(items, following, previous)


def tuning_key(sort_by: str) -> Callable[[TuningJob], Cursor]:
    values: dict[str, Callable[[TuningJob], Any]] = {
        "Name": lambda j: j.name,
        "Status": lambda j: str(j.status),
        "CreationTime": lambda j: j.creation_time,
    }
    return lambda job: (values[sort_by](job), job.name)


def training_key(sort_by: str) -> Callable[[TrainingJob], Cursor]:
    values: dict[str, Callable[[TrainingJob], Any]] = {
        "Name": lambda j: j.name,
        "Status": lambda j: str(j.status),
        "CreationTime": lambda j: j.creation_time,
        "FinalObjectiveMetricValue": lambda j: j.final_objective_value,
    }
    return lambda job: (values[sort_by](job), job.name)


@dataclass(frozen=True)
class JobsFilter:
    """The jobs list's controls, read from the URL."""

    q: str = ""
    status: str = ""
    tag: str = ""
    sort: str = "CreationTime"
    order: str = "Descending"
    limit: int = 25

    @classmethod
    def of(cls, params: Mapping[str, str]) -> JobsFilter:
        status = params.get("status", "")
        return cls(
            q=params.get("q", "").strip(),
            status=status if status in {s.value for s in TuningJobStatus} else "",
            tag=params.get("tag", "").strip(),
            sort=_choice(params.get("sort"), TUNING_SORTS, "CreationTime"),
            order=_choice(params.get("order"), ORDERS, "Descending"),
            limit=page_size(params.get("limit")),
        )

    def query(self) -> TuningJobQuery:
        return TuningJobQuery(
            name_contains=self.q or None,
            status=TuningJobStatus(self.status) if self.status else None,
            sort_by=self.sort,  # type: ignore[arg-type]
            sort_order=self.order,  # type: ignore[arg-type]
            limit=self.limit,
        )

    def tag_pair(self) -> tuple[str, str | None] | None:
        """``key`` or ``key=value`` of the tag filter."""
        if not self.tag:
            return None
        key, sep, value = self.tag.partition("=")
        return key.strip(), value.strip() if sep else None


def list_tuning_jobs(store: Store, jobs: JobsFilter, after: str, before: str) -> Paged:
    tag = jobs.tag_pair()
    fetch = store.list_tuning_jobs if tag is None else _tagged(store, *tag)
    key = tuning_key(jobs.sort)
    return paged(fetch, jobs.query(), key, decode_cursor(after), decode_cursor(before))


def _tagged(store: Store, key: str, value: str | None) -> Callable[[TuningJobQuery], Page]:
    """``list_tuning_jobs`` restricted to jobs with tag ``key`` (and ``value``): the
    page of names in one keyset query joining the tags, then each job by name."""
    engine = getattr(store, "_engine", None)
    if engine is None:  # not the SQL store: scan its pages
        return lambda query: _scan_tagged(store, query, key, value)
    column = tuning_jobs.c
    condition = [tags.c.resource_type == TUNING_JOB, tags.c.key == key]
    if value is not None:
        condition.append(tags.c.value == value)
    tagged = select(tags.c.resource_key).where(*condition)

    def fetch(query: TuningJobQuery) -> Page:
        sort = {"Name": column.name, "Status": column.status}.get(
            query.sort_by, column.creation_time
        )
        where = [column.name_key.in_(tagged)]
        if query.status is not None:
            where.append(column.status == query.status.value)
        if query.name_contains:
            where.append(column.name_key.contains(query.name_contains.lower(), autoescape=True))
        descending = query.sort_order == "Descending"
        beyond = operator.lt if descending else operator.gt
        if query.after is not None:
            last_value, last_name = query.after
            where.append(
                or_(
                    beyond(sort, last_value),
                    and_(sort == last_value, beyond(column.name, last_name)),
                )
            )
        keys = [sort, column.name] if sort is not column.name else [column.name]
        limit = query.limit or 25
        stmt = (
            select(column.name)
            .where(*where)
            .order_by(*(k.desc() if descending else k.asc() for k in keys))
            .limit(limit + 1)
        )
        with engine.connect() as conn:
            names = list(conn.execute(stmt).scalars())
        jobs = [store.get_tuning_job(n) for n in names[:limit]]
        cursor = tuning_key(query.sort_by)(jobs[-1]) if len(names) > limit else None
        return Page(jobs, cursor)

    return fetch


def _scan_tagged(store: Store, query: TuningJobQuery, key: str, value: str | None) -> Page:
    """The tag filter by reading each job's tags (stores without SQL tables)."""
    limit = query.limit or 25
    found: list[TuningJob] = []
    cursor = query.after
    while True:
        page = store.list_tuning_jobs(replace(query, after=cursor, limit=200))
        for job in page.items:
            pairs = store.tags.list(TUNING_JOB, job.name)
            if any(k == key and (value is None or v == value) for k, v in pairs):
                found.append(job)
                if len(found) > limit:
                    return Page(found[:limit], tuning_key(query.sort_by)(found[limit - 1]))
        if page.next_cursor is None:
            return Page(found, None)
        cursor = page.next_cursor


@dataclass(frozen=True)
class TrainingFilter:
    """The training jobs tab's controls, read from the URL."""

    q: str = ""
    status: str = ""
    sort: str = "CreationTime"
    order: str = "Descending"
    limit: int = 25

    @classmethod
    def of(cls, params: Mapping[str, str]) -> TrainingFilter:
        status = params.get("status", "")
        return cls(
            q=params.get("q", "").strip(),
            status=status if status in {s.value for s in TrainingJobStatus} else "",
            sort=_choice(params.get("sort"), TRAINING_SORTS, "CreationTime"),
            order=_choice(params.get("order"), ORDERS, "Descending"),
            limit=page_size(params.get("limit")),
        )

    def query(self, tuning_job_name: str) -> TrainingJobQuery:
        return TrainingJobQuery(
            tuning_job_name,
            status=TrainingJobStatus(self.status) if self.status else None,
            name_contains=self.q or None,
            sort_by=self.sort,  # type: ignore[arg-type]
            sort_order=self.order,  # type: ignore[arg-type]
            limit=self.limit,
        )
