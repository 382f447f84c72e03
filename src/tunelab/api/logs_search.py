"""FilterLogEvents: the events of many streams of the training jobs' log group matching a
filter pattern (``tunelab.api.log_filter``), a page at a time, in the order of
``tunelab.service.log_walk`` by time: training jobs by creation time then name, a job's
streams by their attempt's launch then name, a stream's events in file order.

A page holds at most ``limit`` events and about 1 MB (``tunelab.service.log_files``), and
stops once it has read ``SCAN_BYTES_PER_PAGE`` of logs or looked at ``JOBS_PER_PAGE``
training jobs, as CloudWatch stops after searching part of the group: then it may hold
fewer events than asked (even none) and carries a ``nextToken``. The token is where the
search goes on (a job, a stream, an offset in its file), bound to the request's other
members; it is left out once the whole group (or the streams asked for) was searched.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator
from typing import Any

from tunelab.api.handlers import Context
from tunelab.api.log_filter import Matcher, compile_filter
from tunelab.api.log_tokens import filters_digest, seal, unseal
from tunelab.api.logs_handlers import (
    DEFAULT_EVENTS_LIMIT,
    check_window,
    group,
    in_window,
    invalid,
    not_found,
    position_json,
    walk_position,
)
from tunelab.api.logs_wire import Request, Response, logs_operation
from tunelab.service.log_files import (
    EVENT_OVERHEAD_BYTES,
    MAX_RESPONSE_BYTES,
    Event,
    read_forward,
    readable_end,
)
from tunelab.service.log_streams import LogStream, TrainingLogs
from tunelab.service.log_walk import JOBS_PER_PAGE, Key, Position, StreamOrder, walk

OPERATION = "FilterLogEvents"
SCAN_EVENTS = 1000
"""Events read from a file at once while looking for matches."""
SCAN_BYTES_PER_PAGE = 8 * 1024 * 1024
"""Bytes of logs one page reads at most (it stops after the read that passes it)."""
ORDER = StreamOrder(by_time=True, descending=False)

Stop = tuple[Position, int]
"""Where a page stopped: the stream (``Position``, None for past a whole job) and the
offset of the next event to read in it."""


def _named(
    jobs: TrainingLogs, names: list[str], start: Position | None
) -> Iterator[tuple[Key, list[LogStream]]]:
    """The streams ``names`` (each must exist) grouped by job, in ``ORDER``, from
    ``start`` (its stream included)."""
    by_job: dict[Key, list[LogStream]] = {}
    for name in dict.fromkeys(names):
        found = jobs.job_and_stream(name)
        if found is None:
            raise not_found(f"The specified log stream does not exist: {name!r}")
        job, stream = found
        by_job.setdefault(ORDER.job_key(job), []).append(stream)
    for key in sorted(by_job):
        streams = ORDER.ordered(by_job[key])
        if start is None or ORDER.beyond(key, start.job):
            yield key, streams
        elif key == start.job and start.stream is not None:
            mark = start.stream
            yield key, [s for s in streams if not ORDER.beyond(mark, ORDER.stream_key(s))]


def _cursor(request: Request, bound: str) -> Stop | None:
    token = request.get("nextToken")
    if token is None:
        return None
    found = unseal(token, OPERATION, bound, "the same members (all but nextToken and limit)")
    offset = found[-1] if found else None
    if len(found) != 3 or not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise invalid("nextToken: the token does not hold a position in the log group")
    return walk_position(found[:2], ORDER), offset


def _event(stream: LogStream, event: Event) -> Response:
    return {
        "logStreamName": stream.name,
        "timestamp": stream.launched_ms,
        "message": event.message,
        "ingestionTime": stream.launched_ms,
        "eventId": f"{stream.launched_ms:013d}{zlib.crc32(stream.name.encode()):010d}"
        f"{event.offset:016d}",
    }


class _Page:
    def __init__(self, limit: int) -> None:
        self.limit, self.used, self.read = limit, 0, 0
        self.events: list[Response] = []

    def add(self, stream: LogStream, event: Event) -> bool:
        """Take ``event`` if it fits in the response."""
        cost = len(event.message.encode()) + EVENT_OVERHEAD_BYTES
        if len(self.events) >= self.limit or (
            self.events and self.used + cost > MAX_RESPONSE_BYTES
        ):
            return False
        self.events.append(_event(stream, event))
        self.used += cost
        return True


def _scan(stream: LogStream, start: int, match: Matcher, page: _Page) -> int | None:
    """Add the stream's matching events from offset ``start``; the offset to go on from
    once the page is full or has read its bytes, None when the stream is read through."""
    end, position = readable_end(stream.path, stream.ended), start
    while position < end:
        if page.read >= SCAN_BYTES_PER_PAGE:
            return position
        batch, after = read_forward(stream.path, position, end, SCAN_EVENTS, 1 << 62)
        if not batch:
            return None
        for event in batch:
            if match(event.message) and not page.add(stream, event):
                return event.offset
        page.read += after - position
        position = after
    return None


def _search(
    source: Iterable[tuple[Key, list[LogStream]]],
    cursor: Stop | None,
    request: Request,
    match: Matcher,
    page: _Page,
) -> Stop | None:
    """Fill ``page`` from the streams of ``source`` (from ``cursor``); where the next
    page goes on, or None when every stream was searched."""
    for jobs_seen, (job, streams) in enumerate(source, start=1):
        for stream in streams:
            if not in_window(stream, request):
                continue
            here = Position(job, ORDER.stream_key(stream))
            start = cursor[1] if cursor is not None and cursor[0] == here else 0
            stopped = _scan(stream, start, match, page)
            if stopped is not None:
                return here, stopped
        if jobs_seen >= JOBS_PER_PAGE:
            return Position(job, None), 0
    return None


@logs_operation(OPERATION)
def filter_log_events(ctx: Context, request: Request) -> Response:
    match = compile_filter(request.get("filterPattern"))
    check_window(request)
    jobs = group(ctx, request)
    names, prefix = request.get("logStreamNames"), request.get("logStreamNamePrefix")
    if names is not None and prefix is not None:
        raise invalid("logStreamNames, logStreamNamePrefix: give one of them, not both")
    filters: dict[str, Any] = {
        k: v for k, v in request.items() if k not in ("nextToken", "limit", "unmask")
    }
    bound = filters_digest(filters)
    cursor = _cursor(request, bound)
    start = None if cursor is None else cursor[0]
    source = (
        _named(jobs, names, start)
        if names is not None
        else walk(jobs, ORDER, prefix, start, inclusive=True)
    )
    page = _Page(request.get("limit", DEFAULT_EVENTS_LIMIT))
    stopped = _search(source, cursor, request, match, page)
    response: Response = {"events": page.events, "searchedLogStreams": []}
    if stopped is not None:
        response["nextToken"] = seal(OPERATION, bound, [*position_json(stopped[0]), stopped[1]])
    return response
