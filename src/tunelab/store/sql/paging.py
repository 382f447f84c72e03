"""The listings' filters and keyset pagination, shared by tuning and training jobs."""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, and_, or_, select

from tunelab.store.base import Page, TrainingJobQuery, TuningJobQuery


def common_filters(
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


def page(
    conn: Connection,
    table: Table,
    where: list[ColumnElement[bool]],
    sort: Any,
    query: TuningJobQuery | TrainingJobQuery,
    convert: Callable[[Any], Any],
    params: dict[str, Any] | None = None,
    columns: Sequence[Any] | None = None,
) -> Page:
    """Keyset pagination on (sort, name), both in the query's order. Appends the
    cursor's condition to ``where``; ``convert`` turns each row into an item."""
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
