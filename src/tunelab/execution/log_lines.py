"""A training job's log as lines, the unit metric regexes are applied to.

- ``\\n``, ``\\r\\n`` and a lone ``\\r`` each end a line: a tqdm-style progress bar
  (``\\r``-separated updates, no newline) is one line per update, not one huge line.
  The log file itself keeps the bytes as the program wrote them.
- A line is delivered only once its end has arrived (or at the end of the job): a read
  that stops inside a line never cuts a value in two. A trailing ``\\r`` waits for the
  next byte, which may be the ``\\n`` of a ``\\r\\n``.
- A line longer than :data:`MAX_LINE_BYTES` is split into pieces of at most that size,
  at a UTF-8 character boundary, as SageMaker's log agent splits a longer line into
  several CloudWatch Logs events (256 KiB at most each). So a line costs a regex a
  bounded amount of work, and a program that never ends a line holds at most that much.
"""

from __future__ import annotations

MAX_LINE_BYTES = 256 * 1024


def split_lines(data: bytes, final: bool) -> tuple[list[bytes], bytes]:
    """The lines ``data`` ends (without their line ends) and the bytes of a line not yet
    ended, to be passed again, followed by the next data. With ``final`` every byte is
    delivered (the rest is empty)."""
    pieces = data.splitlines(keepends=True)  # bytes: only \n, \r and \r\n end a line
    rest = b""
    if pieces and not final and not pieces[-1].endswith(b"\n"):
        rest = pieces.pop()  # not ended yet, or a \r that a \n may follow
    lines: list[bytes] = []
    for piece in pieces:
        line = piece.rstrip(b"\r\n")
        while len(line) > MAX_LINE_BYTES:
            cut = _char_boundary(line, MAX_LINE_BYTES)
            lines.append(line[:cut])
            line = line[cut:]
        lines.append(line)
    while len(rest) > MAX_LINE_BYTES:
        cut = _char_boundary(rest, MAX_LINE_BYTES)
        lines.append(rest[:cut])
        rest = rest[cut:]
    return lines, rest


def _char_boundary(data: bytes, limit: int) -> int:
    """The largest cut <= ``limit`` that does not split a UTF-8 character (``limit``
    itself when the bytes there are not UTF-8)."""
    cut = limit
    while cut > limit - 3 and 0x80 <= data[cut] < 0xC0:  # a continuation byte
        cut -= 1
    return cut if not 0x80 <= data[cut] < 0xC0 else limit
