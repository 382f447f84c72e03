"""A log file read as CloudWatch Logs events: offsets, empty lines, a line still being
written, the 1 MB response budget, and reading backward across read chunks."""

from __future__ import annotations

from pathlib import Path

from tunelab.service.log_files import (
    CHUNK_BYTES,
    EVENT_OVERHEAD_BYTES,
    read_backward,
    read_forward,
    readable_end,
)


def test_events_are_non_empty_lines_at_their_offsets(tmp_path: Path) -> None:
    log = tmp_path / "attempt-1.log"
    log.write_bytes(b"one\n\ntwo \xff\nthree\n")
    end = readable_end(str(log), ended=True)
    events, after = read_forward(str(log), 0, end, limit=10)
    assert [(e.offset, e.message) for e in events] == [
        (0, "one"),
        (5, "two \ufffd"),
        (11, "three"),
    ]
    assert after == end == log.stat().st_size
    assert read_forward(str(log), after, end, limit=10) == ([], after)


def test_a_line_still_being_written_waits_for_its_newline(tmp_path: Path) -> None:
    log = tmp_path / "attempt-1.log"
    log.write_bytes(b"done\nhalf a li")
    running = readable_end(str(log), ended=False)
    assert running == 5
    events, after = read_forward(str(log), 0, running, limit=10)
    assert [e.message for e in events] == ["done"] and after == 5
    assert [e.message for e in read_backward(str(log), running, limit=10)[0]] == ["done"]
    with log.open("ab") as more:
        more.write(b"ne\n")
    events, _ = read_forward(str(log), after, readable_end(str(log), ended=False), limit=10)
    assert [e.message for e in events] == ["half a line"]
    # once the writer ended, a last line without its newline is an event
    log.write_bytes(b"done\nlast words")
    ended = readable_end(str(log), ended=True)
    assert [e.message for e in read_forward(str(log), 0, ended, limit=10)[0]] == [
        "done",
        "last words",
    ]
    assert [e.message for e in read_backward(str(log), ended, limit=1)[0]] == ["last words"]


def test_limit_and_byte_budget(tmp_path: Path) -> None:
    log = tmp_path / "attempt-1.log"
    lines = [f"line {k:04d}" for k in range(100)]
    log.write_text("".join(f"{line}\n" for line in lines))
    end = readable_end(str(log), ended=True)
    events, after = read_forward(str(log), 0, end, limit=7)
    assert [e.message for e in events] == lines[:7] and after == events[-1].offset + 10
    cost = len(lines[0]) + EVENT_OVERHEAD_BYTES
    events, _ = read_forward(str(log), 0, end, limit=100, max_bytes=3 * cost + 1)
    assert [e.message for e in events] == lines[:3]
    events, first = read_backward(str(log), end, limit=100, max_bytes=3 * cost)
    assert [e.message for e in events] == lines[-3:] and first == events[0].offset
    # a line longer than the budget still comes, alone
    log.write_text("x" * 50 + "\nshort\n")
    events, _ = read_forward(str(log), 0, readable_end(str(log), True), 10, max_bytes=10)
    assert [len(e.message) for e in events] == [50]


def test_backward_across_chunks(tmp_path: Path) -> None:
    log = tmp_path / "attempt-1.log"
    long_line = "y" * (CHUNK_BYTES + 123)
    lines = ["first", long_line, "", "middle", long_line + "z", "last"]
    log.write_text("".join(f"{line}\n" for line in lines))
    end = readable_end(str(log), ended=False)
    found, position, collected = [], end, []
    while True:
        events, position = read_backward(str(log), position, limit=1)
        if not events:
            break
        collected = [e.message for e in events] + collected
        found = events + found
    assert collected == [line for line in lines if line]
    forward, _ = read_forward(str(log), 0, end, limit=100)
    assert [e.offset for e in forward] == [e.offset for e in found]
