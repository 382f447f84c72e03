"""A program whose #! interpreter is missing, and a folder given as the program: refused
at create time naming the program and the interpreter, and failed with that reason when
the interpreter went away after create."""

from __future__ import annotations

from pathlib import Path

from tunelab.domain.enums import TrainingJobStatus
from tunelab.domain.errors import Violation
from tunelab.execution.base import Finished
from tunelab.execution.interpreter import interpreter_problem
from tunelab.execution.local import LocalExecutor
from tunelab.execution.preflight import launch_problems

from .test_contract import collect, make_definition, make_request

WHERE = "AlgorithmSpecification.TrainingImage"


def _script(tmp_path: Path, first_line: str) -> Path:
    program = tmp_path / "train.sh"
    program.write_text(f"{first_line}\necho loss=0.5\n")
    program.chmod(0o755)
    return program


def test_a_missing_interpreter_fails_the_job_naming_it(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    program = _script(tmp_path, "#!/nonexistent/interp -x")
    executor.submit(make_request(tmp_path / "job", make_definition(program.as_uri())))
    done = collect(executor)[-1]  # the launch runs in a worker thread (launch_pool.py)
    assert isinstance(done, Finished) and done.status is TrainingJobStatus.FAILED
    assert done.failure_reason == (
        f"TrainingImage program {program} cannot run: its #! line names the interpreter "
        "/nonexistent/interp, which does not exist"
    )


def test_a_missing_interpreter_is_refused_at_create(tmp_path: Path) -> None:
    program = _script(tmp_path, "#!/nonexistent/interp")
    assert launch_problems(make_definition(program.as_uri()), "") == [
        Violation(
            WHERE,
            f"the program {program.as_uri()} cannot run: its #! line names the interpreter "
            "/nonexistent/interp, which does not exist",
        )
    ]


def test_a_folder_as_the_program_is_refused_as_a_folder(tmp_path: Path) -> None:
    assert launch_problems(make_definition(tmp_path.as_uri()), "") == [
        Violation(WHERE, f"the program {tmp_path.as_uri()} is a directory, not a program file")
    ]


def test_interpreter_problems(tmp_path: Path) -> None:
    def problem(first_line: str, path: str | None = "/usr/bin:/bin") -> str | None:
        return interpreter_problem(str(_script(tmp_path, first_line)), path)

    assert problem("#!/bin/sh") is None
    assert problem("#!/usr/bin/env sh") is None
    assert problem("#!/usr/bin/env -S sh -e") is None
    assert problem("echo no #! line") is None
    assert problem("#!/usr/bin/env no-such-tool-xyz") == (
        "its #! line runs no-such-tool-xyz through /usr/bin/env, and no no-such-tool-xyz "
        "is on the PATH"
    )
    assert problem("#!/usr/bin/env sh", path="/nowhere") == (
        "its #! line runs sh through /usr/bin/env, and no sh is on the PATH"
    )
    text = tmp_path / "text"
    text.write_text("plain")
    assert problem(f"#!{text}") == (
        f"its #! line names the interpreter {text}, which is not executable"
    )
    assert problem("#!   ") == "its #! line names no interpreter"
    assert interpreter_problem(str(tmp_path / "missing"), None) is None
