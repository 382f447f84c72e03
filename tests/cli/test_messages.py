"""Messages carry user text as it is: brackets in a rule, a name or a value are never read
as markup, and a long message is one line even when the output is not a terminal."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from tests.factories import make_document
from tunelab.cli.app import app
from tunelab.store.sql.schema import VERSION_TABLE

NAME_RULE = "must match the pattern [a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}; got 'bad_name!'"


def run(tmp_path: Path, *args: str) -> tuple[int, str]:
    env = {"TUNELAB_HOME": str(tmp_path / "home"), "COLUMNS": None}
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.stderr


def test_a_refusal_shows_its_rule_whole_on_one_line(tmp_path: Path) -> None:
    job = tmp_path / "job.json"
    job.write_text(json.dumps(make_document(name="bad_name!")))
    code, stderr = run(tmp_path, "validate", str(job))
    assert code == 2
    line = next(line for line in stderr.splitlines() if "HyperParameterTuningJobName" in line)
    assert line == f"error (ValidationException): HyperParameterTuningJobName: {NAME_RULE}"


def test_a_name_that_looks_like_markup_is_an_unknown_job(tmp_path: Path) -> None:
    for name in ("[/x]", "[bold]zz"):
        code, stderr = run(tmp_path, "describe", name)
        assert code == 3, stderr
        assert f"'{name}'" in stderr


def test_a_database_a_newer_tunelab_wrote_is_one_line_and_exit_2(tmp_path: Path) -> None:
    assert run(tmp_path, "list")[0] == 0  # creates the home's database
    with sqlite3.connect(tmp_path / "home" / "tunelab.db") as db:
        db.execute(f"UPDATE {VERSION_TABLE} SET version_num = '9999'")
    code, stderr = run(tmp_path, "list")
    assert code == 2
    assert stderr.startswith("error (DatabaseVersionMismatch): the tunelab database sqlite:")
    assert "has schema revision 9999, newer than this tunelab's" in " ".join(stderr.split())
    assert "Traceback" not in stderr
