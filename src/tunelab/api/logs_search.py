"""FilterLogEvents: the events of many streams of the training jobs' log group, in time
order (streams by their attempt's launch, then name; a stream's events in file order),
matching a filter pattern (``tunelab.api.log_filter``), a page at a time.

A page holds at most ``limit`` events and about 1 MB (``tunelab.service.log_files``); its
``nextToken`` is the position of the next matching event, bound to the request's other
members, and is left out when no event is left.
"""

from __future__ import annotations

import zlib
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
)
from tunelab.api.logs_wire import Request, Response, logs_operation
from tunelab.service.log_files import (
    EVENT_OVERHEAD_BYTES,
    MAX_RESPONSE_BYTES,
    Event,
    read_forward,
    readable_end,
)
from tunelab.service.log_streams import LogStream

OPERATION = "FilterLogEvents"
SCAN_EVENTS = 1000
"""Events read from a file at once while looking for matches."""

Cursor = tuple[int, str, int]
"""(stream launch in ms, stream name, offset of the next event in that stream)."""


def _streams(ctx: Context, request: Request) -> list[LogStream]:
    check_window(request)
    jobs = group(ctx, request)
    names, prefix = request.get("logStreamNames"), request.get("logStreamNamePrefix")
    if names is not None and prefix is not None:
        raise invalid("logStreamNames, logStreamNamePrefix: give one of them, not both")
    if names is not None:
        found = []
        for name in dict.fromkeys(names):
            stream = jobs.stream(name)
            if stream is None:
                raise not_found(f"The specified log stream does not exist: {name!r}")
            found.append(stream)
    else:
        found = [
            s
            for job in jobs.named(prefix)
            for s in jobs.streams(job)
            if s.name.startswith(prefix or "")
        ]
    found = [s for s in found if in_window(s, request)]
    return sorted(found, key=lambda s: (s.launched_ms, s.name))


def _cursor(request: Request, bound: str) -> Cursor | None:
    token = request.get("nextToken")
    if token is None:
        return None
    position = unseal(token, OPERATION, bound, "the same members (all but nextToken and limit)")
    kinds = (int, str, int)
    if len(position) != 3 or not all(
        isinstance(v, k) and not isinstance(v, bool) for v, k in zip(position, kinds, strict=True)
    ):
        raise invalid("nextToken: the token does not hold a position in the log group")
    return position[0], position[1], position[2]


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
        self.limit, self.used = limit, 0
        self.events: list[Response] = []
        self.next: Cursor | None = None

    def add(self, stream: LogStream, event: Event) -> bool:
        """Take ``event`` if it fits; else remember it as the next page's start."""
        cost = len(event.message.encode()) + EVENT_OVERHEAD_BYTES
        if len(self.events) >= self.limit or (
            self.events and self.used + cost > MAX_RESPONSE_BYTES
        ):
            self.next = (stream.launched_ms, stream.name, event.offset)
            return False
        self.events.append(_event(stream, event))
        self.used += cost
        return True


def _scan(stream: LogStream, start: int, match: Matcher, page: _Page) -> bool:
    """Add the stream's matching events from ``start``; False once the page is full."""
    end, position = readable_end(stream.path, stream.ended), start
    while position < end:
        batch, position = read_forward(stream.path, position, end, SCAN_EVENTS, 1 << 62)
        if not batch:
            return True
        for event in batch:
            if match(event.message) and not page.add(stream, event):
                return False
    return True


@logs_operation(OPERATION)
def filter_log_events(ctx: Context, request: Request) -> Response:
    match = compile_filter(request.get("filterPattern"))
    filters: dict[str, Any] = {
        k: v for k, v in request.items() if k not in ("nextToken", "limit", "unmask")
    }
    bound = filters_digest(filters)
    cursor = _cursor(request, bound)
    page = _Page(request.get("limit", DEFAULT_EVENTS_LIMIT))
    for stream in _streams(ctx, request):
        start = 0
        if cursor is not None:
            if (stream.launched_ms, stream.name) < cursor[:2]:
                continue
            if (stream.launched_ms, stream.name) == cursor[:2]:
                start = cursor[2]
        if not _scan(stream, start, match, page):
            break
    response: Response = {"events": page.events, "searchedLogStreams": []}
    if page.next is not None:
        response["nextToken"] = seal(OPERATION, bound, list(page.next))
    return response
