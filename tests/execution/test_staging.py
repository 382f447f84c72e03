"""Staging channels: S3Prefix key-prefix semantics, manifests, FileSystemDataSource,
FastFile in place, sharding across hosts, gzip, and every bad input named."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest

from tunelab.domain.definition import DataChannel
from tunelab.domain.enums import TrainingInputMode
from tunelab.execution.contract import LaunchError, prepare_job_dir
from tunelab.execution.errors import LaunchStopped
from tunelab.execution.staging import STOP_CHECK_BYTES, channel_objects, stage_channels
from tunelab.execution.storage import DataPlane, ObjectClash, put_file, resolve
from tunelab.execution.uris import UnsafeS3Uri, local_path

from .test_contract import make_definition, make_request


def store(tmp_path: Path, files: dict[str, bytes]) -> DataPlane:
    """A local object store holding ``files`` (``bucket/key`` -> content)."""
    root = tmp_path / "s3"
    for key, content in files.items():
        (root / key).parent.mkdir(parents=True, exist_ok=True)
        (root / key).write_bytes(content)
    return DataPlane(s3_root=str(root))


def stage(tmp_path: Path, plane: DataPlane, *channels: DataChannel, **changes: object):
    definition = make_definition("file:///bin/true", channels=channels, **changes)
    layout = prepare_job_dir(make_request(tmp_path / "job", definition))
    return layout, stage_channels(definition, layout, plane)


def tree(folder: str) -> dict[str, str]:
    return {
        os.path.relpath(os.path.join(root, name), folder): Path(root, name).read_text()
        for root, _, names in os.walk(folder)
        for name in names
    }


def test_s3_prefix_names_every_key_that_starts_with_it(tmp_path: Path) -> None:
    plane = store(
        tmp_path,
        {
            "bkt/data/train/a.csv": b"a",
            "bkt/data/train/sub/b.csv": b"b",
            "bkt/data/train2/c.csv": b"c",
            "bkt/data/train.csv": b"d",
            "bkt/data/other.csv": b"e",
        },
    )
    names = [name for _, name in channel_objects(DataChannel("t", "s3://bkt/data/train/"), plane)]
    assert names == ["a.csv", "sub/b.csv"]
    prefix = channel_objects(DataChannel("t", "s3://bkt/data/train"), plane)
    assert [location.uri for location, _ in prefix] == [  # in key order, as S3 lists them
        "s3://bkt/data/train.csv",
        "s3://bkt/data/train/a.csv",
        "s3://bkt/data/train/sub/b.csv",
        "s3://bkt/data/train2/c.csv",
    ]
    assert [name for _, name in prefix] == [  # relative to the prefix's folder, data/
        "train.csv",
        "train/a.csv",
        "train/sub/b.csv",
        "train2/c.csv",
    ]
    (tmp_path / "s3" / "bkt" / "data" / "train.csv").unlink()
    (tmp_path / "s3" / "bkt" / "data" / "train2" / "c.csv").unlink()
    (tmp_path / "s3" / "bkt" / "data" / "train2").rmdir()
    folder = channel_objects(DataChannel("t", "s3://bkt/data/train"), plane)
    assert [name for _, name in folder] == ["a.csv", "sub/b.csv"]  # only train/ matches
    layout, pipes = stage(tmp_path, plane, DataChannel("train", "s3://bkt/data/train/"))
    assert pipes == []
    assert tree(layout.channel_dir("train")) == {"a.csv": "a", "sub/b.csv": "b"}


def test_manifest_file_lists_objects_under_its_prefix(tmp_path: Path) -> None:
    manifest = json.dumps([{"prefix": "s3://bkt/images/"}, "cats/1.jpg", "dogs/2.jpg"])
    plane = store(
        tmp_path,
        {
            "bkt/images/cats/1.jpg": b"cat",
            "bkt/images/dogs/2.jpg": b"dog",
            "bkt/images/dogs/3.jpg": b"not listed",
            "bkt/train.manifest": manifest.encode(),
        },
    )
    channel = DataChannel("train", "s3://bkt/train.manifest", s3_data_type="ManifestFile")
    layout, _ = stage(tmp_path, plane, channel)
    assert tree(layout.channel_dir("train")) == {"cats/1.jpg": "cat", "dogs/2.jpg": "dog"}

    bad = json.dumps([{"prefix": "s3://bkt/images/"}, "cats/1.jpg", "cats/missing.jpg"])
    (tmp_path / "s3" / "bkt" / "train.manifest").write_text(bad)
    with pytest.raises(LaunchError) as error:
        stage(tmp_path, plane, channel)
    assert error.value.reason == (
        "channel 'train': s3://bkt/images/cats/missing.jpg (listed in the manifest "
        "s3://bkt/train.manifest) does not exist"
    )
    (tmp_path / "s3" / "bkt" / "train.manifest").write_text('["cats/1.jpg"]')
    with pytest.raises(LaunchError, match="must be a JSON list whose first element is"):
        stage(tmp_path, plane, channel)


def test_file_system_data_source_is_mounted_in_place(tmp_path: Path) -> None:
    shared = tmp_path / "fsx" / "train"
    shared.mkdir(parents=True)
    (shared / "x.csv").write_text("1")
    channel = DataChannel("train", str(shared), s3_data_type="FileSystem")
    layout, _ = stage(tmp_path, DataPlane(), channel)
    assert os.path.islink(layout.channel_dir("train"))
    Path(layout.channel_dir("train"), "written.txt").write_text("seen by the source")
    assert (shared / "written.txt").exists()
    missing = DataChannel("train", str(tmp_path / "nope"), s3_data_type="FileSystem")
    with pytest.raises(LaunchError, match=r"FileSystemDataSource directory .* does not exist"):
        stage(tmp_path, DataPlane(), missing)


def test_fast_file_reads_in_place_without_copying(tmp_path: Path) -> None:
    plane = store(tmp_path, {"bkt/train/a.csv": b"a", "bkt/train/deep/b.csv": b"b"})
    channel = DataChannel("train", "s3://bkt/train/", input_mode=TrainingInputMode.FAST_FILE)
    layout, _ = stage(tmp_path, plane, channel)
    staged = Path(layout.channel_dir("train"))
    assert os.path.realpath(staged / "deep" / "b.csv") == str(
        tmp_path / "s3" / "bkt" / "train" / "deep" / "b.csv"
    )
    assert (staged / "a.csv").is_symlink() and (staged / "a.csv").read_text() == "a"
    copied, _ = stage(tmp_path, plane, DataChannel("train", "s3://bkt/train/"))
    assert not Path(copied.channel_dir("train"), "a.csv").is_symlink()


@pytest.mark.parametrize("distribution", ["ShardedByS3Key", "FullyReplicated"])
def test_sharding_by_key_splits_objects_across_hosts(tmp_path: Path, distribution: str) -> None:
    plane = store(tmp_path, {f"bkt/d/part-{i}.csv": str(i).encode() for i in range(5)})
    channel = DataChannel("train", "s3://bkt/d/", distribution=distribution)
    definition = make_definition("file:///bin/true", channels=(channel,))
    seen = []
    for host in range(2):
        layout = prepare_job_dir(make_request(tmp_path / f"host-{host}", definition))
        stage_channels(definition, layout, plane, host_index=host, host_count=2)
        seen.append(sorted(tree(layout.channel_dir("train"))))
    if distribution == "ShardedByS3Key":
        assert seen == [
            ["part-0.csv", "part-2.csv", "part-4.csv"],
            ["part-1.csv", "part-3.csv"],
        ]
    else:
        assert seen == [[f"part-{i}.csv" for i in range(5)]] * 2


def test_gzip_files_are_delivered_as_stored_in_file_mode(tmp_path: Path) -> None:
    packed = gzip.compress(b"1,2\n")
    plane = store(tmp_path, {"bkt/z/a.csv.gz": packed, "bkt/bad/a.csv": b"plain"})
    layout, _ = stage(tmp_path, plane, DataChannel("train", "s3://bkt/z/", compression="Gzip"))
    assert Path(layout.channel_dir("train"), "a.csv.gz").read_bytes() == packed
    with pytest.raises(LaunchError) as error:
        stage(tmp_path, plane, DataChannel("train", "s3://bkt/bad/", compression="Gzip"))
    assert error.value.reason == (
        "channel 'train': s3://bkt/bad/a.csv is not a gzip file (the channel's "
        "CompressionType is Gzip)"
    )


def test_an_empty_or_missing_channel_is_an_error_not_an_empty_dataset(tmp_path: Path) -> None:
    plane = store(tmp_path, {"bkt/other/a.csv": b"a"})
    (tmp_path / "s3" / "bkt" / "empty").mkdir()
    with pytest.raises(LaunchError) as empty:
        stage(tmp_path, plane, DataChannel("train", "s3://bkt/empty/"))
    assert empty.value.reason == "channel 'train': data source s3://bkt/empty/ holds no files"
    with pytest.raises(LaunchError) as missing:
        stage(tmp_path, plane, DataChannel("validation", "s3://bkt/nothing/"))
    assert missing.value.reason == (
        "channel 'validation': data source s3://bkt/nothing/ does not exist"
    )


def test_a_role_that_may_not_read_a_manifest_prefix_fails_the_launch(tmp_path: Path) -> None:
    manifest = json.dumps([{"prefix": "s3://secret/x/"}, "a.csv"])
    plane = store(tmp_path, {"bkt/m.manifest": manifest.encode(), "secret/x/a.csv": b"a"})

    def authorize(role: str, location: str, access: str) -> str | None:
        allowed = location.startswith("s3://bkt/")
        return None if allowed else f"role {role} may not {access} {location}"

    guarded = DataPlane(s3_root=plane.s3_root, authorize=authorize)
    channel = DataChannel("train", "s3://bkt/m.manifest", s3_data_type="ManifestFile")
    with pytest.raises(LaunchError) as error:
        stage(tmp_path, guarded, channel)
    assert error.value.reason == (
        "channel 'train': role arn:aws:iam::123456789012:role/tunelab may not read s3://secret/x/"
    )


@pytest.mark.parametrize("mode", [TrainingInputMode.FILE, TrainingInputMode.FAST_FILE])
def test_keys_are_named_relative_to_the_prefix_folder_so_none_collide(
    tmp_path: Path, mode: TrainingInputMode
) -> None:
    """``s3://coll/data`` matches ``data/data.csv`` and ``data.csv``: both are staged."""
    plane = store(tmp_path, {"coll/data/data.csv": b"inner", "coll/data.csv": b"outer"})
    layout, _ = stage(tmp_path, plane, DataChannel("train", "s3://coll/data"), input_mode=mode)
    assert tree(layout.channel_dir("train")) == {"data.csv": "outer", "data/data.csv": "inner"}


def test_a_manifest_prefix_is_completed_by_its_entries_as_they_are(tmp_path: Path) -> None:
    manifest = json.dumps([{"prefix": "s3://shard/p/part-"}, "1.csv", "2.csv"])
    plane = store(
        tmp_path,
        {"shard/p/part-1.csv": b"1", "shard/p/part-2.csv": b"2", "shard/m": manifest.encode()},
    )
    channel = DataChannel("train", "s3://shard/m", s3_data_type="ManifestFile")
    layout, _ = stage(tmp_path, plane, channel)
    assert tree(layout.channel_dir("train")) == {"part-1.csv": "1", "part-2.csv": "2"}


DUPLICATED = json.dumps([{"prefix": "s3://dup/d/"}, "a.csv", "b.csv", "a.csv", "c.csv"])


@pytest.mark.parametrize("mode", [TrainingInputMode.FILE, TrainingInputMode.FAST_FILE])
def test_a_key_listed_twice_in_a_manifest_is_one_file(
    tmp_path: Path, mode: TrainingInputMode
) -> None:
    """A manifest names a set of objects: FastFile once failed on the second entry of a key
    ("File exists") while File copied it twice to the same path."""
    files = {f"dup/d/{n}.csv": n.encode() for n in "abc"} | {"dup/m": DUPLICATED.encode()}
    plane = store(tmp_path, files)
    channel = DataChannel("train", "s3://dup/m", s3_data_type="ManifestFile", input_mode=mode)
    assert [name for _, name in channel_objects(channel, plane)] == ["a.csv", "b.csv", "c.csv"]
    layout, _ = stage(tmp_path, plane, channel)
    assert tree(layout.channel_dir("train")) == {"a.csv": "a", "b.csv": "b", "c.csv": "c"}
    fast = mode is TrainingInputMode.FAST_FILE
    assert Path(layout.channel_dir("train"), "a.csv").is_symlink() is fast


def test_a_key_listed_twice_in_a_manifest_goes_to_one_host_when_sharded(tmp_path: Path) -> None:
    files = {f"dup/d/{n}.csv": n.encode() for n in "abc"} | {"dup/m": DUPLICATED.encode()}
    plane = store(tmp_path, files)
    channel = DataChannel(
        "train", "s3://dup/m", s3_data_type="ManifestFile", distribution="ShardedByS3Key"
    )
    definition = make_definition("file:///bin/true", channels=(channel,))
    seen = []
    for host in range(2):
        layout = prepare_job_dir(make_request(tmp_path / f"host-{host}", definition))
        stage_channels(definition, layout, plane, host_index=host, host_count=2)
        seen.append(sorted(tree(layout.channel_dir("train"))))
    assert seen == [["a.csv", "c.csv"], ["b.csv"]]  # each object on one host only


@pytest.mark.parametrize(
    "uri", ["s3://bkt/../secret/", "s3://bkt/a/../../secret/s.csv", "s3://bkt//x", "s3://../x"]
)
def test_no_s3_uri_maps_outside_its_bucket(tmp_path: Path, uri: str) -> None:
    plane = store(tmp_path, {"bkt/a/x.csv": b"a"})
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret" / "s.csv").write_text("secret")
    with pytest.raises(UnsafeS3Uri, match=r"tunelab refuses|is not a bucket name"):
        local_path(uri, plane.s3_root)
    with pytest.raises(LaunchError) as error:
        stage(tmp_path, plane, DataChannel("train", uri))
    assert error.value.reason.startswith(f"channel 'train': {uri}: ")
    manifest = json.dumps([{"prefix": "s3://bkt/a/"}, "../../secret/s.csv"])
    (tmp_path / "s3" / "bkt" / "m").write_text(manifest)
    with pytest.raises(LaunchError, match="not a relative key to append to its prefix"):
        stage(tmp_path, plane, DataChannel("train", "s3://bkt/m", s3_data_type="ManifestFile"))


def test_a_key_cannot_be_written_as_both_an_object_and_a_prefix(tmp_path: Path) -> None:
    plane = store(tmp_path, {"kk/k": b"object", "kk/d/x": b"inside"})
    source = tmp_path / "file"
    source.write_text("new")
    with pytest.raises(ObjectClash) as below_object:  # an OSError: outputs and checkpoints
        put_file(str(source), resolve("s3://kk/k/job/output/model.tar.gz", plane))
    assert str(below_object.value) == (
        "s3://kk/k/job/output/model.tar.gz: the object s3://kk/k exists, and a key cannot be "
        "both an object and a prefix in tunelab's local object store"
    )
    with pytest.raises(ObjectClash, match=r"^s3://kk/d: s3://kk/d/x exists, and a key cannot"):
        put_file(str(source), resolve("s3://kk/d", plane))
    assert (tmp_path / "s3" / "kk" / "k").read_text() == "object"
    assert os.listdir(tmp_path / "s3" / "kk" / "d") == ["x"]


def test_a_stop_ends_the_copy_of_a_large_file_half_way(tmp_path: Path) -> None:
    size = 40 << 20
    plane = store(tmp_path, {"bkt/big/data.bin": b"\0" * size})
    channel = DataChannel("train", "s3://bkt/big/")
    definition = make_definition("file:///bin/true", channels=(channel,))
    layout = prepare_job_dir(make_request(tmp_path / "job", definition))
    asked = []

    def stopped() -> bool:
        asked.append(1)
        return len(asked) > 3  # before the channel, before the file, before each piece

    with pytest.raises(LaunchStopped):
        stage_channels(definition, layout, plane, stopped=stopped)
    copied = Path(layout.channel_dir("train"), "data.bin").stat().st_size
    assert copied == STOP_CHECK_BYTES < size
    stage_channels(definition, layout, plane, stopped=lambda: False)  # whole when not stopped
    assert Path(layout.channel_dir("train"), "data.bin").stat().st_size == size
