"""A training job's log file read as CloudWatch Logs events.

One event per non-empty line (CloudWatch stores no empty message), without its newline,
decoded as UTF-8 (invalid bytes replaced). An event is identified by the byte offset
where its line starts: a log file only grows, so offsets stay valid, which is what page
tokens hold. A last line without its newline is an event only once the process that
writes it has ended (``readable_end``), as a log agent sends a line once it is complete.

A response holds at most ``limit`` events and about ``MAX_RESPONSE_BYTES`` (CloudWatch
Logs' 1 MB, counting 26 bytes per event besides its message), and at least one event
when any is left, however long its line.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

MAX_RESPONSE_BYTES = 1_048_576
EVENT_OVERHEAD_BYTES = 26
CHUNK_BYTES = 64 * 1024


@dataclass(frozen=True)
class Event:
    offset: int
    """Where the event's line starts in the file."""
    message: str


def file_size(path: str) -> int | None:
    """The size of the file at ``path``; None when it does not exist."""
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return None


def readable_end(path: str, ended: bool) -> int:
    """The offset after the last complete line: the file's size once its writer
    ``ended``, else just after its last newline (0 for a missing file)."""
    try:
        with open(path, "rb") as log:
            size = log.seek(0, os.SEEK_END)
            if ended:
                return size
            position = size
            while position > 0:
                start = max(0, position - CHUNK_BYTES)
                log.seek(start)
                found = log.read(position - start).rfind(b"\n")
                if found >= 0:
                    return start + found + 1
                position = start
            return 0
    except FileNotFoundError:
        return 0


class _Budget:
    """Counts events and bytes against a response's limits."""

    def __init__(self, limit: int, max_bytes: int) -> None:
        self.limit, self.max_bytes = limit, max_bytes
        self.events = self.used = 0

    def take(self, message: str) -> bool:
        """Whether one more event with ``message`` fits (the first always does)."""
        cost = len(message.encode()) + EVENT_OVERHEAD_BYTES
        if self.events >= self.limit or (self.events and self.used + cost > self.max_bytes):
            return False
        self.events, self.used = self.events + 1, self.used + cost
        return True


def _decode(line: bytes) -> str:
    return line.decode("utf-8", errors="replace")


def read_forward(
    path: str, start: int, end: int, limit: int, max_bytes: int = MAX_RESPONSE_BYTES
) -> tuple[list[Event], int]:
    """The events whose lines start at ``start`` or later and end by ``end`` (a line
    start or ``readable_end``), in file order, within the limits; and the offset just
    after the last line read (``start`` when no event was read)."""
    budget, events, position = _Budget(limit, max_bytes), [], start
    if start >= end:
        return [], start
    with open(path, "rb") as log:
        log.seek(start)
        pending, pending_at = b"", start
        while pending_at + len(pending) < end:
            block = log.read(min(CHUNK_BYTES, end - pending_at - len(pending)))
            if not block:
                break
            pending += block
            at_end = pending_at + len(pending) >= end
            lines = pending.split(b"\n")
            rest = b"" if at_end else lines.pop()  # a line still being read
            for line in lines:
                message = _decode(line)
                if line and not budget.take(message):
                    return events, position
                if line:
                    events.append(Event(pending_at, message))
                pending_at += len(line) + 1
                position = min(pending_at, end)
            pending = rest
    return events, (position if events else start)


def read_backward(
    path: str, end: int, limit: int, max_bytes: int = MAX_RESPONSE_BYTES
) -> tuple[list[Event], int]:
    """The last events whose lines end by ``end`` (a line start or ``readable_end``),
    in file order, within the limits; and the offset of the first line read (``end``
    when no event was read)."""
    budget, found = _Budget(limit, max_bytes), []
    buffer, buffer_at, cursor = b"", end, end
    with open(path, "rb") as log:
        while cursor > 0:
            newline = buffer.rfind(b"\n", 0, max(cursor - buffer_at - 1, 0))
            if newline < 0 and buffer_at > 0:
                start = max(0, buffer_at - CHUNK_BYTES)
                log.seek(start)
                buffer, buffer_at = log.read(buffer_at - start) + buffer, start
                continue
            line_start = buffer_at + newline + 1
            line = buffer[line_start - buffer_at : cursor - buffer_at].removesuffix(b"\n")
            message = _decode(line)
            if line and not budget.take(message):
                break
            if line:
                found.append(Event(line_start, message))
            cursor = line_start
            buffer = buffer[: cursor - buffer_at]
    found.reverse()
    return found, (cursor if found else end)
