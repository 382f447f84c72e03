"""The requirements environment's cache key: what changes it and what does not."""

from __future__ import annotations

import shutil
from pathlib import Path

from tunelab.execution.script_env_key import environment_key, local_paths


def project(code: Path, requirements: str = "-e ./mypkg\nnumpy\n") -> Path:
    """A code directory whose requirements.txt names a local package directory."""
    (code / "mypkg" / "src" / "mypkg").mkdir(parents=True)
    (code / "mypkg" / "pyproject.toml").write_text('[project]\nname = "mypkg"\n')
    (code / "mypkg" / "src" / "mypkg" / "__init__.py").write_text("VALUE = 1\n")
    (code / "requirements.txt").write_text(requirements)
    (code / "train.py").write_text("print('train')\n")
    return code


def test_an_edit_inside_a_named_local_directory_changes_the_key(tmp_path: Path) -> None:
    code = project(tmp_path / "code")
    before = environment_key(str(code))
    (code / "mypkg" / "src" / "mypkg" / "__init__.py").write_text("VALUE = 2\n")
    assert environment_key(str(code)) != before


def test_a_new_file_in_a_named_local_directory_changes_the_key(tmp_path: Path) -> None:
    code = project(tmp_path / "code")
    before = environment_key(str(code))
    (code / "mypkg" / "src" / "mypkg" / "extra.py").write_text("")
    assert environment_key(str(code)) != before


def test_caches_and_build_output_do_not_change_the_key(tmp_path: Path) -> None:
    code = project(tmp_path / "code")
    before = environment_key(str(code))
    package = code / "mypkg"
    for folder in ("build/lib", "src/mypkg.egg-info", "src/mypkg/__pycache__", ".git"):
        (package / folder).mkdir(parents=True)
        (package / folder / "file").write_text("written by a build")
    (package / "src" / "mypkg" / "stale.pyc").write_bytes(b"\0")
    assert environment_key(str(code)) == before


def test_files_the_requirements_do_not_name_do_not_change_the_key(tmp_path: Path) -> None:
    code = project(tmp_path / "code")
    before = environment_key(str(code))
    (code / "train.py").write_text("print('changed')\n")
    assert environment_key(str(code)) == before


def test_the_same_sources_elsewhere_give_the_same_key(tmp_path: Path) -> None:
    code = project(tmp_path / "job-1" / "code")
    copy = tmp_path / "job-2" / "code"
    shutil.copytree(code, copy)
    assert environment_key(str(copy)) == environment_key(str(code))


def test_paths_in_nested_requirement_files_count(tmp_path: Path) -> None:
    code = tmp_path / "code"
    (code / "reqs").mkdir(parents=True)
    (code / "requirements.txt").write_text("-r reqs/base.txt\n")
    wheel = "./wheels/a-1-py3-none-any.whl"
    (code / "reqs" / "base.txt").write_text(f"--constraint=pins.txt\n{wheel}\n")
    (code / "reqs" / "pins.txt").write_text("numpy<3\n")
    (code / "wheels").mkdir()
    (code / "wheels" / "a-1-py3-none-any.whl").write_bytes(b"first")
    assert local_paths(str(code), "requirements.txt") == {
        "reqs/base.txt",
        "reqs/pins.txt",
        "wheels/a-1-py3-none-any.whl",
    }
    before = environment_key(str(code))
    (code / "wheels" / "a-1-py3-none-any.whl").write_bytes(b"second")
    changed = environment_key(str(code))
    assert changed != before
    (code / "reqs" / "pins.txt").write_text("numpy<2\n")
    assert environment_key(str(code)) != changed


def test_a_requirement_file_naming_itself_is_read_once(tmp_path: Path) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "requirements.txt").write_text("-r requirements.txt  # loops\nnumpy\n")
    assert local_paths(str(code), "requirements.txt") == {"requirements.txt"}
    assert len(environment_key(str(code))) == 24
