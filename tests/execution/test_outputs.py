"""Artifacts: packing, AES-256-GCM encryption under a KmsKeyId and its round trip,
tampering detected, an unknown key failing the job."""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

import pytest

from tunelab.domain.enums import TrainingJobStatus
from tunelab.execution.base import Finished
from tunelab.execution.contract import LaunchError, prepare_job_dir
from tunelab.execution.local import LocalExecutor
from tunelab.execution.outputs import (
    MAGIC,
    decrypt_file,
    encrypted_key_id,
    is_encrypted,
    model_artifacts_uri,
    package_outputs,
)
from tunelab.execution.storage import DataPlane

from .test_contract import PROGRAMS, collect, make_definition, make_request

KEY_ID = "3f1c2a5e-0000-4000-8000-00000000beef"
KEYS = {KEY_ID: os.urandom(32)}


def lookup(name: str) -> tuple[str, bytes]:
    key_id = "3f1c2a5e-0000-4000-8000-00000000beef" if name == "alias/models" else name
    return key_id, KEYS[key_id]


def test_encrypted_artifacts_round_trip(tmp_path: Path) -> None:
    plane = DataPlane(s3_root=str(tmp_path / "s3"), kms=lookup)
    layout = prepare_job_dir(make_request(tmp_path / "job", make_definition("file:///bin/true")))
    Path(layout.model_dir, "weights.bin").write_bytes(b"\x00secret weights" * 1000)
    Path(layout.output_data_dir, "eval.json").write_text('{"auc": 0.9}')
    uri = package_outputs(layout, "s3://bkt/out", "job", plane, "alias/models")
    assert uri == "s3://bkt/out/job/output/model.tar.gz"
    stored = tmp_path / "s3" / "bkt" / "out" / "job" / "output"
    model = stored / "model.tar.gz"
    assert is_encrypted(str(model)) and model.read_bytes().startswith(MAGIC)
    assert b"secret weights" not in model.read_bytes()
    assert encrypted_key_id(str(model)) == KEY_ID  # the key's id, not the alias
    plain = tmp_path / "model.tar.gz"
    assert decrypt_file(str(model), str(plain), lookup) == KEY_ID
    with tarfile.open(plain) as tar:
        member = tar.extractfile("weights.bin")
        assert member is not None and member.read() == b"\x00secret weights" * 1000
    decrypt_file(str(stored / "output.tar.gz"), str(tmp_path / "output.tar.gz"), lookup)
    with tarfile.open(tmp_path / "output.tar.gz") as tar:
        assert tar.getnames() == ["eval.json"]
    assert not list(Path(layout.root).glob(".artifacts-*"))  # the work files are gone


def test_tampering_or_another_key_is_detected(tmp_path: Path) -> None:
    plane = DataPlane(kms=lookup)
    layout = prepare_job_dir(make_request(tmp_path / "job", make_definition("file:///bin/true")))
    Path(layout.model_dir, "m").write_text("model")
    package_outputs(layout, str(tmp_path / "out"), "job", plane, KEY_ID)
    model = tmp_path / "out" / "job" / "output" / "model.tar.gz"
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 1
    altered = tmp_path / "altered"
    altered.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="does not decrypt"):
        decrypt_file(str(altered), str(tmp_path / "plain"), lookup)
    assert not (tmp_path / "plain").exists()
    other = {KEY_ID: os.urandom(32)}
    with pytest.raises(ValueError, match="does not decrypt"):
        decrypt_file(str(model), str(tmp_path / "plain"), lambda k: (k, other[k]))
    with pytest.raises(KeyError):
        decrypt_file(str(model), str(tmp_path / "plain"), lambda k: (k, {}[k]))


def test_an_unknown_key_fails_the_job(tmp_path: Path) -> None:
    layout = prepare_job_dir(make_request(tmp_path / "j", make_definition("file:///bin/true")))
    with pytest.raises(LaunchError, match="'missing' is not a key in tunelab's key store"):
        package_outputs(layout, str(tmp_path / "out"), "j", DataPlane(kms=lookup), "missing")
    definition = make_definition(
        (PROGRAMS / "behave.py").as_uri(),
        output_path=str(tmp_path / "out"),
        document={"OutputDataConfig": {"S3OutputPath": "x", "KmsKeyId": "missing"}},
    )
    executor = LocalExecutor(data=DataPlane(kms=lookup))
    executor.submit(make_request(tmp_path / "job", definition, {"model": "m"}))
    done = collect(executor)[-1]
    executor.close()
    assert isinstance(done, Finished) and done.status is TrainingJobStatus.FAILED
    assert "KmsKeyId 'missing' is not a key in tunelab's key store" in (done.failure_reason or "")
    assert not (tmp_path / "out" / "job" / "output" / "model.tar.gz").exists()


def gzip_name(path: Path) -> bytes | None:
    """The FNAME field of a gzip file's header (None when it records no name)."""
    data = path.read_bytes()
    assert data[:3] == b"\x1f\x8b\x08" and not data[3] & 0x04  # no FEXTRA
    return data[10 : data.index(b"\0", 10)] if data[3] & 0x08 else None


def test_the_gzip_header_names_the_artifact_not_a_temporary_file(tmp_path: Path) -> None:
    layout = prepare_job_dir(make_request(tmp_path / "job", make_definition("file:///bin/true")))
    Path(layout.model_dir, "m").write_text("model")
    for output in (str(tmp_path / "out"), "s3://bkt/out"):
        package_outputs(layout, output, "job", DataPlane(s3_root=str(tmp_path / "s3")))
    for stored in (tmp_path / "out", tmp_path / "s3" / "bkt" / "out"):
        for name in ("model.tar.gz", "output.tar.gz"):
            assert gzip_name(stored / "job" / "output" / name) == name[:-3].encode()
    with tarfile.open(tmp_path / "out" / "job" / "output" / "model.tar.gz") as tar:
        assert tar.getnames() == ["m"]


def test_compression_none_puts_the_files_as_they_are(tmp_path: Path) -> None:
    plane = DataPlane(s3_root=str(tmp_path / "s3"), kms=lookup)
    layout = prepare_job_dir(make_request(tmp_path / "job", make_definition("file:///bin/true")))
    Path(layout.model_dir, "sub").mkdir()
    Path(layout.model_dir, "weights.bin").write_bytes(b"\x00weights")
    Path(layout.model_dir, "sub", "config.json").write_text("{}")
    Path(layout.output_data_dir, "eval.json").write_text('{"auc": 0.9}')
    uri = package_outputs(layout, "s3://bkt/out", "job", plane, compression="NONE")
    expected = model_artifacts_uri("s3://bkt/out/", "job", "NONE")
    assert uri == "s3://bkt/out/job/output/model/" == expected
    stored = tmp_path / "s3" / "bkt" / "out" / "job" / "output"
    files = sorted(str(p.relative_to(stored)) for p in stored.rglob("*") if p.is_file())
    assert files == ["data/eval.json", "model/sub/config.json", "model/weights.bin"]
    assert (stored / "model" / "weights.bin").read_bytes() == b"\x00weights"
    assert (stored / "data" / "eval.json").read_text() == '{"auc": 0.9}'
    local = package_outputs(layout, str(tmp_path / "out"), "job", plane, compression="NONE")
    assert local == (tmp_path / "out" / "job" / "output" / "model").as_uri() + "/"
    # encrypted under a KmsKeyId: each file, keeping its name
    package_outputs(layout, "s3://bkt/enc", "job", plane, KEY_ID, compression="NONE")
    weights = tmp_path / "s3" / "bkt" / "enc" / "job" / "output" / "model" / "weights.bin"
    assert is_encrypted(str(weights))
    decrypt_file(str(weights), str(tmp_path / "plain"), lookup)
    assert (tmp_path / "plain").read_bytes() == b"\x00weights"
    assert (
        model_artifacts_uri("s3://bkt/out", "job", "GZIP")
        == "s3://bkt/out/job/output/model.tar.gz"
    )


def test_a_job_with_compression_none_reports_the_model_prefix(tmp_path: Path) -> None:
    out = tmp_path / "out"
    document = {"OutputDataConfig": {"S3OutputPath": str(out), "CompressionType": "NONE"}}
    definition = make_definition(
        (PROGRAMS / "behave.py").as_uri(), output_path=str(out), document=document
    )
    executor = LocalExecutor()
    executor.submit(make_request(tmp_path / "job", definition, {"model": "m"}))
    done = collect(executor)[-1]
    executor.close()
    assert isinstance(done, Finished) and done.status is TrainingJobStatus.COMPLETED
    model = out / "job" / "output" / "model"
    assert done.model_artifacts == model.as_uri() + "/"
    assert not (out / "job" / "output" / "model.tar.gz").exists()
    assert (model / "model.txt").read_text() == "m"


CLASH_TAIL = (
    "exists, and a key cannot be both an object and a prefix in tunelab's local object store"
)


@pytest.mark.parametrize("kms_key_id", [None, KEY_ID], ids=["plain", "encrypted"])
@pytest.mark.parametrize(
    ("in_the_way", "held"),
    [
        ("out", "the object s3://bkt/out"),  # an object where the output prefix is needed
        ("out/job/output/model.tar.gz/x", "s3://bkt/out/job/output/model.tar.gz/x"),
    ],
    ids=["object-above", "prefix-at-artifact"],
)
def test_an_object_prefix_clash_fails_the_job_with_the_clash_message(
    tmp_path: Path, kms_key_id: str | None, in_the_way: str, held: str
) -> None:
    """An object or prefix that appeared in the output's way after the job was created
    fails it with the store's clash message, encrypted or not (the plain path once raised
    a bare NotADirectoryError / IsADirectoryError)."""
    s3 = tmp_path / "s3"
    blocker = s3 / "bkt" / in_the_way
    blocker.parent.mkdir(parents=True)
    blocker.write_text("in the way")
    output = {"S3OutputPath": "s3://bkt/out"} | ({"KmsKeyId": kms_key_id} if kms_key_id else {})
    definition = make_definition(
        (PROGRAMS / "behave.py").as_uri(),
        output_path="s3://bkt/out",
        document={"OutputDataConfig": output},
    )
    executor = LocalExecutor(data=DataPlane(s3_root=str(s3), kms=lookup))
    executor.submit(make_request(tmp_path / "job", definition, {"model": "m"}))
    done = collect(executor)[-1]
    executor.close()
    assert isinstance(done, Finished) and done.status is TrainingJobStatus.FAILED
    assert done.failure_reason == (
        "could not write the model artifacts to s3://bkt/out: "
        f"s3://bkt/out/job/output/model.tar.gz: {held} {CLASH_TAIL}"
    )
    assert blocker.read_text() == "in the way"
    assert not list(s3.rglob("*.partial"))


@pytest.mark.parametrize("as_uri", [False, True], ids=["absolute-path", "file-uri"])
@pytest.mark.parametrize(
    ("in_the_way", "held"),
    [
        ("out", "the file {out}"),  # a file where the output folder is needed
        ("out/job/output/model.tar.gz/x", "{out}/job/output/model.tar.gz/x"),
    ],
    ids=["file-above", "folder-at-artifact"],
)
def test_a_file_folder_clash_at_a_local_output_path_names_no_object_store(
    tmp_path: Path, as_uri: bool, in_the_way: str, held: str
) -> None:
    """A local output path (an absolute path or a ``file://`` URI) is no object store: its
    clash is a path that cannot be both a file and a folder."""
    blocker = tmp_path / in_the_way
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_text("in the way")
    out = (tmp_path / "out").as_uri() if as_uri else str(tmp_path / "out")
    definition = make_definition(
        (PROGRAMS / "behave.py").as_uri(),
        output_path=out,
        document={"OutputDataConfig": {"S3OutputPath": out}},
    )
    executor = LocalExecutor()
    executor.submit(make_request(tmp_path / "job", definition, {"model": "m"}))
    done = collect(executor)[-1]
    executor.close()
    assert isinstance(done, Finished) and done.status is TrainingJobStatus.FAILED
    assert done.failure_reason == (
        f"could not write the model artifacts to {out}: {out}/job/output/model.tar.gz: "
        f"{held.format(out=out)} exists, and a local path cannot be both a file and a folder"
    )
    assert blocker.read_text() == "in the way"


def test_a_killed_writers_half_archive_is_removed_at_the_next_packing(tmp_path: Path) -> None:
    layout = prepare_job_dir(make_request(tmp_path / "job", make_definition("file:///bin/true")))
    Path(layout.model_dir, "m").write_text("model")
    target = tmp_path / "out" / "job" / "output"
    target.mkdir(parents=True)
    dead = target / "model.tar.gz.999999999-0123456789ab.partial"  # no such process
    alive = target / f"model.tar.gz.{os.getpid()}-0123456789ab.partial"  # a live writer's
    other = target / "model.tar.gz.notes.partial"  # not a temporary name of tunelab's
    for path in (dead, alive, other):
        path.write_bytes(b"half")
    package_outputs(layout, str(tmp_path / "out"), "job", DataPlane())
    assert not dead.exists() and alive.exists() and other.exists()
    assert sorted(p.name for p in target.iterdir() if p.suffix == ".gz") == [
        "model.tar.gz",
        "output.tar.gz",
    ]
