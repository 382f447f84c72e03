"""Files a training program controls, read after it ran: ``output/failure`` as a FIFO, a
symlink out of the job directory, a large file; the helpers on their own."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tunelab.domain.enums import TrainingJobStatus
from tunelab.execution.base import Finished
from tunelab.execution.local import LocalExecutor
from tunelab.execution.program_files import read_regular_file

from .test_contract import collect, make_definition, make_request


def _run(executor: LocalExecutor, tmp_path: Path, body: str) -> Finished:
    program = tmp_path / "prog.py"
    program.write_text(
        f"#!{sys.executable}\nimport os, sys\n"
        'failure = os.path.join(os.environ["SM_OUTPUT_DIR"], "failure")\n' + body
    )
    program.chmod(0o755)
    executor.submit(make_request(tmp_path / "job", make_definition(program.as_uri())))
    done = collect(executor)[-1]
    assert isinstance(done, Finished)
    return done


@pytest.mark.timeout(30)
def test_a_fifo_as_the_failure_file_does_not_block_the_job(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    body = 'os.mkfifo(failure)\nprint("loss=0.5", flush=True)\nsys.exit(1)\n'
    done = _run(executor, tmp_path, body)
    assert done.status is TrainingJobStatus.FAILED
    assert done.failure_reason == (
        "AlgorithmError: program exited with code 1; last log lines: loss=0.5"
    )


def test_a_failure_file_linked_out_of_the_job_is_not_read(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("outside text")
    body = f"os.symlink({str(secret)!r}, failure)\nsys.exit(2)\n"
    done = _run(executor, tmp_path, body)
    assert done.failure_reason == "AlgorithmError: program exited with code 2"


def test_a_failure_file_linked_inside_the_job_is_read(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    body = (
        'mine = os.path.join(os.environ["SM_MODEL_DIR"], "why.txt")\n'
        'open(mine, "w").write("ValueError: bad data")\n'
        "os.symlink(mine, failure)\nsys.exit(2)\n"
    )
    assert _run(executor, tmp_path, body).failure_reason == "ValueError: bad data"


def test_a_large_failure_file_gives_its_first_1024_characters(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    body = 'open(failure, "w").write("é" * 10_000)\nsys.exit(2)\n'
    assert _run(executor, tmp_path, body).failure_reason == "é" * 1024


def test_terminal_codes_are_left_out_of_the_failure_reason(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    """Colours and cursor moves a program writes would garble the CLI and the console
    that show the reason; tabs and newlines stay."""
    body = (
        'open(failure, "w").write("\\x1b[31mboom\\x1b[0m\\tat\\x07 line\\n2\\x1b[2K")\n'
        "sys.exit(2)\n"
    )
    assert _run(executor, tmp_path, body).failure_reason == "boom\tat line\n2"


def test_read_regular_file(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"0123456789")
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "in").symlink_to(tmp_path / "f")
    (tmp_path / "out").symlink_to("/dev/zero")
    (tmp_path / "dir").mkdir()
    root = str(tmp_path)
    assert read_regular_file(str(tmp_path / "f"), root, 4) == b"0123"
    assert read_regular_file(str(tmp_path / "f"), root, 4, tail=True) == b"6789"
    assert read_regular_file(str(tmp_path / "in"), root, 100) == b"0123456789"
    for name in ("fifo", "out", "dir", "missing"):
        assert read_regular_file(str(tmp_path / name), root, 100) is None, name
    assert read_regular_file(str(tmp_path / "f"), str(tmp_path / "dir"), 100) is None
