"""The log group's streams in a listing's order from a position, a training job at a time:
what DescribeLogStreams and FilterLogEvents page through, reading about as many jobs as a
page needs (never every job of the group).

Orders (``StreamOrder``), each reversed when descending:

- by name: streams by name. Jobs come from the store in the order of ``<name>/``
  (indexed), which is their streams' order, so a job's streams follow one another.
- by time: jobs by creation time, then name (indexed); a job's streams by launch, then
  name. Not the order of the streams' launches across jobs (an attempt of a job created
  earlier may launch after a later job's): that order needs every job read to serve one
  page. A job's streams launch after it was created, and its key never changes, so a
  listing paged while jobs run neither repeats nor skips a stream that existed when it
  began.

A ``Position`` is where a listing stopped: the key of a job, and of a stream within it
(None: past all the job's streams). Keys are JSON-friendly tuples, for page tokens.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tunelab.domain.trial import TrainingJob
from tunelab.service.log_streams import LogStream, TrainingLogs
from tunelab.store.base import LogOrderQuery

BATCH_JOBS = 64
"""Training jobs read from the store at once."""
JOBS_PER_PAGE = 500
"""At most this many training jobs are looked at for one page; a page that stops there
(its jobs had too few streams) carries a token to go on from where it stopped."""

Key = tuple[Any, ...]


@dataclass(frozen=True)
class Position:
    job: Key
    """``(name,)`` by name, ``(creation time, name)`` by time."""
    stream: Key | None
    """``(name,)`` by name, ``(launch ms, name)`` by time; None: past the whole job."""


@dataclass(frozen=True)
class StreamOrder:
    by_time: bool
    descending: bool

    def job_key(self, job: TrainingJob) -> Key:
        return (job.creation_time, job.name) if self.by_time else (job.name,)

    def stream_key(self, stream: LogStream) -> Key:
        return (stream.launched_ms, stream.name) if self.by_time else (stream.name,)

    def beyond(self, key: Key, mark: Key) -> bool:
        """Whether ``key`` comes after ``mark`` in this order."""
        return key < mark if self.descending else key > mark

    def ordered(self, streams: list[LogStream]) -> list[LogStream]:
        return sorted(streams, key=self.stream_key, reverse=self.descending)


def walk(
    logs: TrainingLogs,
    order: StreamOrder,
    prefix: str | None,
    start: Position | None,
    inclusive: bool = False,
) -> Iterator[tuple[Key, list[LogStream]]]:
    """Each training job from ``start`` on, by key, with its streams whose names start
    with ``prefix``, in ``order``: first ``start``'s own job, its streams after
    ``start.stream`` (from it, when ``inclusive``), then each later job."""
    if start is not None and start.stream is not None:
        job = logs.job(str(start.job[-1]))
        if job is not None and order.job_key(job) == start.job:
            mark, rest = start.stream, []
            for stream in _streams(logs, order, job, prefix):
                key = order.stream_key(stream)
                if order.beyond(key, mark) or (inclusive and key == mark):
                    rest.append(stream)
            yield start.job, rest
    for job in _jobs(logs, order, prefix, None if start is None else start.job):
        yield order.job_key(job), _streams(logs, order, job, prefix)


def _streams(
    logs: TrainingLogs, order: StreamOrder, job: TrainingJob, prefix: str | None
) -> list[LogStream]:
    found = logs.streams(job)
    return order.ordered([s for s in found if s.name.startswith(prefix or "")])


def _jobs(
    logs: TrainingLogs, order: StreamOrder, prefix: str | None, after: Key | None
) -> Iterator[TrainingJob]:
    """The jobs whose stream names may start with ``prefix``, after the job keyed
    ``after``, read from the store a batch at a time as they are consumed."""
    if prefix and "/" in prefix:  # one job's streams
        job = logs.job(prefix.split("/", 1)[0])
        if job is not None and (after is None or order.beyond(order.job_key(job), after)):
            yield job
        return
    query = LogOrderQuery(order.by_time, order.descending, prefix or None, after, BATCH_JOBS)
    while True:
        batch = logs.training.store.training_jobs_in_log_order(query)
        yield from batch
        if len(batch) < query.limit:
            return
        query = dataclasses.replace(query, after=order.job_key(batch[-1]))


def page_of_streams(
    logs: TrainingLogs,
    order: StreamOrder,
    prefix: str | None,
    start: Position | None,
    limit: int,
    max_jobs: int = JOBS_PER_PAGE,
) -> tuple[list[LogStream], Position | None]:
    """Up to ``limit`` streams from ``start`` (exclusive), and where the next page
    starts: None when no stream is left. Looks at ``max_jobs`` jobs at most; a page that
    stops there may hold fewer than ``limit`` streams (even none) and goes on later."""
    page: list[LogStream] = []
    covered = start
    for jobs_seen, (job, streams) in enumerate(walk(logs, order, prefix, start), start=1):
        for stream in streams:
            if len(page) == limit:
                return page, covered
            page.append(stream)
            covered = Position(job, order.stream_key(stream))
        covered = Position(job, None)
        if jobs_seen >= max_jobs:
            return page, covered
    return page, None
