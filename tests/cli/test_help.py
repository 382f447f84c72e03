"""Every command's ``--help`` works, and the list of a group's commands shows each
command's first paragraph as flowing text: a docstring's line breaks do not cut a
sentence short in the middle of a line."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from pathlib import Path

import typer
from typer.testing import CliRunner

# imported first, as the console's tests import it: its commands register after the
# rest of tunelab.cli.app has run
from tunelab.cli import serve_commands  # noqa: F401  # isort: skip
from tunelab.cli.app import app


def commands(group: typer.Typer, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple, str]]:
    """(the words that name a command, its docstring) for every command of ``group``."""
    for command in group.registered_commands:
        name = command.name or command.callback.__name__.replace("_", "-")
        yield (*path, name), inspect.getdoc(command.callback) or ""
    for sub in group.registered_groups:
        assert sub.typer_instance is not None and sub.name is not None
        yield from commands(sub.typer_instance, (*path, sub.name))


def test_every_help_works_and_lists_commands_in_flowing_sentences(tmp_path: Path) -> None:
    env = {"TUNELAB_HOME": str(tmp_path / "home"), "COLUMNS": "250"}
    found = list(commands(app))
    assert len(found) > 20
    for words, doc in found:
        own = CliRunner().invoke(app, [*words, "--help"], env=env)
        assert own.exit_code == 0, (words, own.output)
        listing = CliRunner().invoke(app, [*words[:-1], "--help"], env=env)
        first_paragraph = " ".join(doc.split("\n\n")[0].split())
        lines = [" ".join(line.strip("│ ").split()) for line in listing.stdout.splitlines()]
        assert f"{words[-1]} {first_paragraph}" in lines, (words, listing.stdout)


def test_run_help_says_what_ctrl_c_and_sigterm_do(tmp_path: Path) -> None:
    env = {"TUNELAB_HOME": str(tmp_path / "home"), "COLUMNS": "250"}
    text = " ".join(CliRunner().invoke(app, ["run", "--help"], env=env).stdout.split())
    assert "Ctrl-C stops the tuning job (its training jobs get SIGTERM, then SIGKILL" in text
    assert (
        "A second Ctrl-C, or SIGTERM, ends this command at once (exit 130, or 143) and "
        "leaves the job unfinished: `tunelab resume NAME` continues it (with --endpoint, the "
        "server carries on running it)."
    ) in text
    assert "leaves it running" not in text
