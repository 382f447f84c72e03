"""tunelab's local object store behind s3:// URIs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tunelab.domain.errors import ResourceNotFound, ValidationError
from tunelab.service.object_store import LocalObjectStore


def test_put_list_get_round_trip(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "s3")
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    (data / "a.csv").write_text("1,2\n")
    (data / "sub" / "b.csv").write_text("3,4\n")
    assert store.put(data, "s3://bucket/train/") == [
        "s3://bucket/train/a.csv",
        "s3://bucket/train/sub/b.csv",
    ]
    assert store.put(data / "a.csv", "s3://bucket/one/") == ["s3://bucket/one/a.csv"]
    assert store.put(data / "a.csv", "s3://bucket/exact.csv") == ["s3://bucket/exact.csv"]
    assert store.list("s3://bucket/train") == [
        ("s3://bucket/train/a.csv", 4),
        ("s3://bucket/train/sub/b.csv", 4),
    ]
    assert store.list("s3://bucket/nothing/") == []
    out = tmp_path / "out"
    copied = store.get("s3://bucket/train/", out)
    assert sorted(p.relative_to(out).as_posix() for p in copied) == ["a.csv", "sub/b.csv"]
    assert (out / "sub" / "b.csv").read_text() == "3,4\n"


@pytest.mark.parametrize("uri", ["file:///x", "s3://", "s3://bucket/../etc/passwd", "s3://../x"])
def test_locations_outside_the_store_are_refused(tmp_path: Path, uri: str) -> None:
    with pytest.raises(ValidationError, match="an object store location is s3://bucket/key"):
        LocalObjectStore(tmp_path).path(uri)


def test_missing_things_are_not_found(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "s3")
    with pytest.raises(ResourceNotFound, match="no such file or folder"):
        store.put(tmp_path / "missing", "s3://b/k")
    with pytest.raises(ResourceNotFound, match="no such object or prefix"):
        store.get("s3://b/k", tmp_path)
