"""Packing what a program left: a ``model/`` or ``output/data/`` replaced by a link out of
the job directory is refused (never pulls in outside files), a link inside it is
followed; a pack that fails half way leaves no ``.partial`` file in the output path."""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

import pytest

from tunelab.execution.contract import JobLayout, prepare_job_dir
from tunelab.execution.outputs import package_outputs

from .test_contract import make_definition, make_request


def _layout(tmp_path: Path) -> JobLayout:
    definition = make_definition("file:///bin/true")
    return prepare_job_dir(make_request(tmp_path / "job", definition))


def _outside(tmp_path: Path) -> Path:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("not the job's")
    return outside


def test_a_model_dir_linked_out_of_the_job_is_refused(tmp_path: Path) -> None:
    layout = _layout(tmp_path)
    os.rmdir(layout.model_dir)
    os.symlink(_outside(tmp_path), layout.model_dir)
    out = tmp_path / "out"
    with pytest.raises(ValueError) as raised:
        package_outputs(layout, str(out), "job")
    assert str(raised.value) == (
        f"model is a symbolic link to {tmp_path / 'outside'}, outside the job directory: "
        "only what is inside it is packed (as SageMaker packs /opt/ml/model and "
        "/opt/ml/output/data)"
    )
    assert not out.exists() or not any(p.is_file() for p in out.rglob("*"))


def test_output_data_linked_out_of_the_job_is_refused(tmp_path: Path) -> None:
    layout = _layout(tmp_path)
    os.rmdir(layout.output_data_dir)
    os.symlink("/proc/self", layout.output_data_dir)
    with pytest.raises(ValueError, match=r"^output/data is a symbolic link to /proc/"):
        package_outputs(layout, str(tmp_path / "out"), "job")


def test_a_model_dir_linked_inside_the_job_is_packed(tmp_path: Path) -> None:
    layout = _layout(tmp_path)
    best = Path(layout.root, "checkpoints", "best")
    best.mkdir(parents=True)
    (best / "weights.bin").write_bytes(b"w")
    os.rmdir(layout.model_dir)
    os.symlink(best, layout.model_dir)
    uri = package_outputs(layout, str(tmp_path / "out"), "job")
    assert uri is not None
    with tarfile.open(tmp_path / "out" / "job" / "output" / "model.tar.gz") as tar:
        assert tar.getnames() == ["weights.bin"]


def test_uncompressed_output_does_not_put_a_linked_outside_file(tmp_path: Path) -> None:
    layout = _layout(tmp_path)
    Path(layout.model_dir, "weights.bin").write_bytes(b"w")
    os.symlink(_outside(tmp_path) / "secret.txt", Path(layout.model_dir, "leak.txt"))
    out = tmp_path / "out"
    with pytest.raises(ValueError, match=r"^model/leak.txt is a symbolic link to .*outside"):
        package_outputs(layout, str(out), "job", compression="NONE")
    assert not list(out.rglob("leak.txt"))


def test_a_pack_that_fails_half_way_leaves_no_partial_file(tmp_path: Path) -> None:
    """A model folder nested deeper than PATH_MAX (4096 bytes) lets tarfile, which reads
    entries by their full path, write part of the archive and then fail."""
    layout = _layout(tmp_path)
    Path(layout.model_dir, "a.bin").write_bytes(os.urandom(1 << 16))
    deep = os.open(layout.model_dir, os.O_RDONLY)
    try:
        for _ in range(25):  # 25 levels of 200 characters: a path of over 5000
            os.mkdir("d" * 200, dir_fd=deep)
            inner = os.open("d" * 200, os.O_RDONLY, dir_fd=deep)
            os.close(deep)
            deep = inner
    finally:
        os.close(deep)
    out = tmp_path / "out"
    with pytest.raises(OSError, match="File name too long"):
        package_outputs(layout, str(out), "job")
    assert [p.name for p in (out / "job" / "output").iterdir()] == []
