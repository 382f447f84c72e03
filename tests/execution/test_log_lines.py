"""A job's log as lines: line ends (\\n, \\r\\n, \\r), lines held until they end, the
256 KiB cap; with real programs whose output arrives over several reads."""

from __future__ import annotations

import sys
from pathlib import Path

from tunelab.domain.definition import MetricDefinition
from tunelab.domain.enums import TrainingJobStatus
from tunelab.execution.base import Finished
from tunelab.execution.local import LocalExecutor
from tunelab.execution.log_lines import MAX_LINE_BYTES, split_lines
from tunelab.metrics.extract import MetricExtractor

from .test_contract import collect, lines_of, make_definition, make_request


def feed(chunks: list[bytes]) -> list[bytes]:
    """Every line of ``chunks`` read one after the other, then the end of the job."""
    lines: list[bytes] = []
    rest = b""
    for chunk in chunks:
        found, rest = split_lines(rest + chunk, final=False)
        lines += found
    found, rest = split_lines(rest, final=True)
    assert rest == b""
    return lines + found


def test_newline_crlf_and_a_lone_cr_each_end_a_line() -> None:
    assert feed([b"a\nb\r\nc\rd"]) == [b"a", b"b", b"c", b"d"]
    assert feed([b"\r 10%|#\r 20%|##\r", b"\nloss=1\n"]) == [b"", b" 10%|#", b" 20%|##", b"loss=1"]


def test_a_crlf_split_between_two_reads_is_one_line_end() -> None:
    assert feed([b"loss=1\r", b"\nacc=2\r", b"\n"]) == [b"loss=1", b"acc=2"]
    assert split_lines(b"loss=1\r", final=False) == ([], b"loss=1\r")


def test_a_line_is_delivered_only_once_it_ended() -> None:
    assert split_lines(b"loss=0.9", final=False) == ([], b"loss=0.9")
    assert feed([b"x" * 70_000 + b" loss=0.9", b"87654\n"]) == [b"x" * 70_000 + b" loss=0.987654"]


def test_a_line_over_the_cap_is_split_at_the_cap() -> None:
    line = b"y" * (2 * MAX_LINE_BYTES + 10)
    assert feed([line[:100_000], line[100_000:], b"\n"]) == [
        line[:MAX_LINE_BYTES],
        line[MAX_LINE_BYTES : 2 * MAX_LINE_BYTES],
        b"y" * 10,
    ]
    lines, rest = split_lines(line, final=False)
    assert [len(x) for x in lines] == [MAX_LINE_BYTES] * 2 and rest == b"y" * 10


def test_the_cap_never_splits_a_utf8_character() -> None:
    line = b"a" * (MAX_LINE_BYTES - 2) + "🎉".encode() + b"b"  # 4 bytes across the cap
    lines = feed([line + b"\n"])
    assert lines == [b"a" * (MAX_LINE_BYTES - 2), "🎉b".encode()]
    assert all(x.decode() for x in lines)  # each piece is valid UTF-8


def _program(tmp_path: Path, body: str) -> str:
    program = tmp_path / "prog.py"
    program.write_text(f"#!{sys.executable}\nimport sys, time\nout = sys.stdout\n{body}")
    program.chmod(0o755)
    return program.as_uri()


def test_a_value_written_across_two_reads_is_read_whole(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    """The program flushes 100 KB of a line ending in ``loss=0.9`` and the rest of the
    value a second later: the executor has read the first part meanwhile."""
    body = (
        'out.write("\\r" + "epoch 1: 100%|##########| " * 4000 + " loss=0.9"); out.flush()\n'
        'time.sleep(1)\nout.write("87654 acc=0.5\\n"); out.flush()\n'
    )
    executor.submit(make_request(tmp_path / "job", make_definition(_program(tmp_path, body))))
    events = collect(executor)
    assert isinstance(events[-1], Finished) and events[-1].status is TrainingJobStatus.COMPLETED
    loss = MetricDefinition("loss", r"loss=([0-9.]+)")
    points = MetricExtractor([loss]).feed(lines_of(events), 0.0)
    assert [p.value for p in points] == [0.987654]


def test_a_progress_bar_without_newline_is_one_line_per_update(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    """A tqdm-style bar (1.1 MB of ``\\r`` updates, no newline) gives short lines, so that
    SageMaker's ``.*``-prefixed regexes read what follows it quickly."""
    body = (
        "for i in range(20000):\n"
        '    out.write(f"\\r 45%|####      | {i}/20000 [00:01<00:02, 9000.00it/s]")\n'
        "    if i % 2000 == 0: out.flush()\n"
        'out.write("\\nloss=0.3\\n")\n'
    )
    executor.submit(make_request(tmp_path / "job", make_definition(_program(tmp_path, body))))
    lines = lines_of(collect(executor))
    assert len(lines) == 20002 and lines[0] == "" and lines[-1] == "loss=0.3"
    assert max(len(line) for line in lines) < 60
    loss = MetricDefinition("loss", r".*loss=([0-9.]+)")
    extractor = MetricExtractor([loss])
    assert [p.value for p in extractor.feed(lines, 0.0)] == [0.3]
    assert extractor.disabled == {}
    log = (tmp_path / "job" / "logs" / "attempt-1.log").read_bytes()
    assert log.count(b"\r") == 20000 and log.endswith(b"\nloss=0.3\n")  # kept as written
