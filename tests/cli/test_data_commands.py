"""``tunelab data put|ls|get``, run as commands (in process, typer's runner): a round trip
through tunelab's local object store under ``$TUNELAB_HOME/s3``, and the refusals (a
missing source or object, a location outside the store, a real S3 endpoint configured)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from tunelab.cli.app import app


def flat(text: str) -> str:
    """Rich wraps long messages: compare them with their whitespace collapsed."""
    return " ".join(text.split())


class Tunelab:
    """The ``tunelab`` command on a private ``TUNELAB_HOME``, in this process."""

    def __init__(self, root: Path) -> None:
        self.home = root / "home"
        self.vars: dict[str, str | None] = {
            "TUNELAB_HOME": str(self.home),
            "AWS_ENDPOINT_URL_S3": None,  # s3:// is the local object store
            "COLUMNS": "200",
        }

    def run(self, *args: str) -> Result:
        return CliRunner().invoke(app, list(args), env=self.vars)


@pytest.fixture
def tunelab(tmp_path: Path) -> Tunelab:
    return Tunelab(tmp_path)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.csv").write_text("1,2\n0,3\n")
    (folder / "sub" / "b.csv").write_bytes(b"\x00\x01binary\n")
    return folder


def test_put_ls_get_round_trip(tunelab: Tunelab, data: Path, tmp_path: Path) -> None:
    put = tunelab.run("data", "put", str(data), "s3://bucket/train/")
    assert put.exit_code == 0, put.stderr
    assert put.stdout.splitlines() == ["s3://bucket/train/a.csv", "s3://bucket/train/sub/b.csv"]
    assert (tunelab.home / "s3" / "bucket" / "train" / "sub" / "b.csv").read_bytes() == (
        data / "sub" / "b.csv"
    ).read_bytes()
    one = tunelab.run("data", "put", str(data / "a.csv"), "s3://bucket/one/")
    assert one.stdout.splitlines() == ["s3://bucket/one/a.csv"]  # a prefix: the name is kept
    renamed = tunelab.run("data", "put", str(data / "a.csv"), "s3://bucket/exact.csv")
    assert renamed.stdout.splitlines() == ["s3://bucket/exact.csv"]

    listed = tunelab.run("data", "ls", "s3://bucket/")
    assert listed.exit_code == 0, listed.stderr
    assert [line.split() for line in listed.stdout.splitlines()] == [
        ["8", "s3://bucket/exact.csv"],
        ["8", "s3://bucket/one/a.csv"],
        ["8", "s3://bucket/train/a.csv"],
        ["9", "s3://bucket/train/sub/b.csv"],
    ]
    assert tunelab.run("data", "ls", "s3://bucket/train/sub/b.csv").stdout.split() == [
        "9",
        "s3://bucket/train/sub/b.csv",
    ]
    empty = tunelab.run("data", "ls", "s3://bucket/nothing/")
    assert (empty.exit_code, empty.stdout) == (0, "")

    out = tmp_path / "out"
    got = tunelab.run("data", "get", "s3://bucket/train/", str(out))
    assert got.exit_code == 0, got.stderr
    assert got.stdout.splitlines() == [str(out / "a.csv"), str(out / "sub" / "b.csv")]
    for name in ("a.csv", "sub/b.csv"):
        assert (out / name).read_bytes() == (data / name).read_bytes()
    single = tunelab.run("data", "get", "s3://bucket/exact.csv", str(out))  # into a folder
    assert single.stdout.splitlines() == [str(out / "exact.csv")]
    file = tunelab.run("data", "get", "s3://bucket/one/a.csv", str(tmp_path / "copy.csv"))
    assert file.stdout.splitlines() == [str(tmp_path / "copy.csv")]
    assert (tmp_path / "copy.csv").read_text() == "1,2\n0,3\n"
    fresh = tmp_path / "fresh"
    into = tunelab.run("data", "get", "s3://bucket/one/a.csv", f"{fresh}/")  # a new folder
    assert into.stdout.splitlines() == [str(fresh / "a.csv")]
    assert (fresh / "a.csv").read_text() == "1,2\n0,3\n"


def test_put_again_replaces_the_object(tunelab: Tunelab, data: Path) -> None:
    assert tunelab.run("data", "put", str(data / "a.csv"), "s3://bucket/k.csv").exit_code == 0
    (data / "a.csv").write_text("changed\n")
    assert tunelab.run("data", "put", str(data / "a.csv"), "s3://bucket/k.csv").exit_code == 0
    assert (tunelab.home / "s3" / "bucket" / "k.csv").read_text() == "changed\n"


def test_missing_things_are_not_found(tunelab: Tunelab, tmp_path: Path) -> None:
    missing = tunelab.run("data", "put", str(tmp_path / "missing"), "s3://bucket/x")
    assert missing.exit_code == 3, missing.output
    assert f"error (ResourceNotFound): {tmp_path / 'missing'}: no such file or folder" in flat(
        missing.stderr
    )
    nothing = tunelab.run("data", "get", "s3://bucket/nothing", str(tmp_path / "out"))
    assert nothing.exit_code == 3, nothing.output
    assert "error (ResourceNotFound): s3://bucket/nothing: no such object or prefix" in flat(
        nothing.stderr
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "args",
    [
        ("put", "DATA", "file:///tmp/x"),
        ("put", "DATA", "s3://bucket/../../etc/"),
        ("ls", "https://bucket/key"),
        ("ls", "s3://"),
        ("get", "s3://../x", "OUT"),
    ],
)
def test_locations_outside_the_store_are_refused(
    tunelab: Tunelab, data: Path, tmp_path: Path, args: tuple[str, ...]
) -> None:
    places = {"DATA": str(data), "OUT": str(tmp_path / "out")}
    result = tunelab.run("data", *(places.get(arg, arg) for arg in args))
    assert result.exit_code == 2, result.output
    assert "error (ValidationException):" in flat(result.stderr)
    assert "an object store location is s3://bucket/key" in flat(result.stderr)
    assert not (tunelab.home / "s3").exists()  # nothing written
    assert not (tmp_path / "out").exists()


def test_with_a_real_s3_endpoint_the_local_store_is_refused(tunelab: Tunelab, data: Path) -> None:
    tunelab.vars["AWS_ENDPOINT_URL_S3"] = "http://127.0.0.1:9"
    for args in (("put", str(data), "s3://bucket/"), ("ls", "s3://bucket/")):
        result = tunelab.run("data", *args)
        assert result.exit_code == 2, result.output
        assert (
            "error: AWS_ENDPOINT_URL_S3 is set: s3:// names a real S3 endpoint, not tunelab's "
            "local object store"
        ) in flat(result.stderr)
    assert not (tunelab.home / "s3").exists()


def test_a_key_is_never_both_an_object_and_a_prefix(
    tunelab: Tunelab, data: Path, tmp_path: Path
) -> None:
    """The store keeps keys as files: ``s3://kk/d`` cannot be written when ``s3://kk/d/x``
    exists (it was written to ``s3://kk/d/a.csv`` and printed as ``s3://kk/d``), nor
    ``s3://kk/k/x`` when the object ``s3://kk/k`` exists (a traceback)."""
    store = tunelab.home / "s3" / "kk"
    assert tunelab.run("data", "put", str(data / "a.csv"), "s3://kk/d/x").exit_code == 0
    assert tunelab.run("data", "put", str(data / "a.csv"), "s3://kk/k").exit_code == 0
    for target, other in (
        ("s3://kk/d", "s3://kk/d/x exists"),
        ("s3://kk/k/x", "the object s3://kk/k exists"),
    ):
        result = tunelab.run("data", "put", str(data / "a.csv"), target)
        assert result.exit_code == 2, result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
        assert (
            f"error (ValidationException): {target}: {other}, and a key cannot be both an "
            "object and a prefix in tunelab's local object store"
        ) in flat(result.stderr)
    folder = tunelab.run("data", "put", str(data), "s3://kk/k/")  # checked before any copy
    assert folder.exit_code == 2, folder.output
    assert "s3://kk/k/a.csv: the object s3://kk/k exists" in flat(folder.stderr)
    assert sorted(p.relative_to(store).as_posix() for p in store.rglob("*")) == ["d", "d/x", "k"]
    escape = tunelab.run("data", "put", str(data / "a.csv"), "s3://kk//" + str(tmp_path / "e"))
    assert escape.exit_code == 2, escape.output
    assert "an object store location is s3://bucket/key" in flat(escape.stderr)
    assert not (tmp_path / "e").exists()
