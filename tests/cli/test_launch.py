"""A Ctrl-C while the ``tunelab`` console script imports the command (about a second)
ends it quietly with exit code 130, as a Ctrl-C later does: no traceback.

The real console script runs in a process of its own and gets a real SIGINT at a
chosen moment of the import: a ``sitecustomize`` module (found first on ``PYTHONPATH``,
imported by Python at start-up) adds an import hook that sends SIGINT to its own process
when the named module is about to be imported. Nothing in tunelab is patched."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

TUNELAB = str(Path(sys.executable).with_name("tunelab"))

INTERRUPT_ON_IMPORT = """\
import os
import signal
import sys


class InterruptOnImport:
    def find_spec(self, name, path=None, target=None):
        if name == {module!r}:
            sys.meta_path.remove(self)
            os.kill(os.getpid(), signal.SIGINT)
        return None


# Ctrl-C reaches a process of the foreground: Python's own handler, also when this test runs
# in the background, whose SIGINT the shell ignores (and the child would inherit)
signal.signal(signal.SIGINT, signal.default_int_handler)
sys.meta_path.insert(0, InterruptOnImport())
"""


def test_the_console_script_is_the_launcher() -> None:
    (script,) = entry_points(group="console_scripts", name="tunelab")
    assert script.value == "tunelab.cli.launch:main"


@pytest.mark.parametrize("module", ["tunelab.cli.app", "typer", "tunelab.cli.run_commands"])
def test_ctrl_c_while_importing_exits_130_quietly(tmp_path: Path, module: str) -> None:
    (tmp_path / "sitecustomize.py").write_text(INTERRUPT_ON_IMPORT.format(module=module))
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "TUNELAB_HOME": str(tmp_path / "home")}
    result = subprocess.run(
        [TUNELAB, "list"], env=env, capture_output=True, text=True, timeout=120
    )
    assert (result.returncode, result.stdout, result.stderr) == (130, "", "")
    assert not (tmp_path / "home").exists()  # interrupted before the command ran


def test_the_command_runs_when_not_interrupted(tmp_path: Path) -> None:
    (tmp_path / "sitecustomize.py").write_text(INTERRUPT_ON_IMPORT.format(module="no.such"))
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "TUNELAB_HOME": str(tmp_path / "home")}
    result = subprocess.run(
        [TUNELAB, "list"], env=env, capture_output=True, text=True, timeout=120
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "No tuning jobs.\n")


def test_python_dash_m_runs_the_command(tmp_path: Path) -> None:
    env = {**os.environ, "TUNELAB_HOME": str(tmp_path / "home")}
    for module in ("tunelab.cli.app", "tunelab.cli.launch"):
        result = subprocess.run(
            [sys.executable, "-m", module, "list"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert (result.returncode, result.stderr) == (0, "No tuning jobs.\n"), module
