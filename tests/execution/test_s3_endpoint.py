"""A real S3 API (moto's server) behind AWS_ENDPOINT_URL_S3: channels in every input
mode, script-mode code, outputs (encrypted too) and checkpoints through s3fs."""

from __future__ import annotations

import gzip
import io
import json
import os
import tarfile
from pathlib import Path
from typing import Any

import pytest

from tunelab.domain.definition import DataChannel
from tunelab.domain.enums import TrainingInputMode, TrainingJobStatus
from tunelab.execution.base import Finished
from tunelab.execution.checkpoints import CheckpointSync
from tunelab.execution.contract import LaunchError, prepare_job_dir
from tunelab.execution.local import LocalExecutor
from tunelab.execution.outputs import decrypt_file
from tunelab.execution.staging import channel_objects, stage_channels
from tunelab.execution.storage import DataPlane

from .s3server import keys, new_bucket
from .test_contract import PROGRAMS, collect, lines_of, make_definition, make_request
from .test_script_mode import SCRIPT_DIR, SKLEARN, training_data

KEY = ("6a0b6c1e-1111-4111-8111-000000000001", os.urandom(32))


def test_channels_in_file_fast_file_and_manifest(s3: Any, tmp_path: Path) -> None:
    bucket = new_bucket(s3, "data-bkt")
    for key in ("d/train/a.csv", "d/train/sub/b.csv", "d/train2/c.csv", "d/x.csv"):
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    manifest = json.dumps([{"prefix": f"s3://{bucket}/d/"}, "train/a.csv", "x.csv"])
    s3.put_object(Bucket=bucket, Key="m.manifest", Body=manifest.encode())
    plane = DataPlane(s3_endpoint=os.environ["AWS_ENDPOINT_URL_S3"])
    channels = (
        DataChannel("prefix", f"s3://{bucket}/d/train"),
        DataChannel("fast", f"s3://{bucket}/d/train/", input_mode=TrainingInputMode.FAST_FILE),
        DataChannel("listed", f"s3://{bucket}/m.manifest", s3_data_type="ManifestFile"),
    )
    definition = make_definition("file:///bin/true", channels=channels)
    layout = prepare_job_dir(make_request(tmp_path / "job", definition))
    assert stage_channels(definition, layout, plane) == []

    def files(channel: str) -> dict[str, str]:
        root = Path(layout.channel_dir(channel))
        return {str(p.relative_to(root)): p.read_text() for p in root.rglob("*") if p.is_file()}

    assert files("prefix") == {  # train2/ matches too: named relative to d/
        "train/a.csv": "d/train/a.csv",
        "train/sub/b.csv": "d/train/sub/b.csv",
        "train2/c.csv": "d/train2/c.csv",
    }
    assert files("fast") == {"a.csv": "d/train/a.csv", "sub/b.csv": "d/train/sub/b.csv"}
    assert files("listed") == {"train/a.csv": "d/train/a.csv", "x.csv": "d/x.csv"}


def test_folder_markers_and_partial_prefixes_on_s3(s3: Any, tmp_path: Path) -> None:
    """Keys ending in ``/`` (the console's "folders") are no objects; ``s3://b/data``
    stages ``data.csv`` and ``data/data.csv`` side by side."""
    bucket = new_bucket(s3, "marker-bkt")
    for key in ("data/", "data/data.csv", "data.csv", "empty/", "empty/sub/", "m/", "m/a.csv"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"" if key.endswith("/") else key.encode())
    plane = DataPlane(s3_endpoint=os.environ["AWS_ENDPOINT_URL_S3"])
    for uri in (f"s3://{bucket}/empty/", f"s3://{bucket}/empty"):
        with pytest.raises(LaunchError, match=f"data source {uri} holds no files"):
            channel_objects(DataChannel("train", uri), plane)
    marked = channel_objects(DataChannel("train", f"s3://{bucket}/m/"), plane)
    assert [name for _, name in marked] == ["a.csv"]
    channels = (
        DataChannel("file", f"s3://{bucket}/data"),
        DataChannel("fast", f"s3://{bucket}/data", input_mode=TrainingInputMode.FAST_FILE),
    )
    definition = make_definition("file:///bin/true", channels=channels)
    layout = prepare_job_dir(make_request(tmp_path / "job", definition))
    stage_channels(definition, layout, plane)
    for channel in ("file", "fast"):
        root = Path(layout.channel_dir(channel))
        staged = {str(p.relative_to(root)): p.read_text() for p in root.rglob("*") if p.is_file()}
        assert staged == {"data.csv": "data.csv", "data/data.csv": "data/data.csv"}
    with pytest.raises(LaunchError, match=r"tunelab refuses '\.', '\.\.' and empty segments"):
        channel_objects(DataChannel("train", f"s3://{bucket}/data/../m/"), plane)


def test_pipe_mode_streams_from_s3(s3: Any, tmp_path: Path) -> None:
    bucket = new_bucket(s3, "pipe-bkt")
    s3.put_object(Bucket=bucket, Key="z/a.gz", Body=gzip.compress(b"abc" * 1000))
    channel = DataChannel(
        "train", f"s3://{bucket}/z/", compression="Gzip", input_mode=TrainingInputMode.PIPE
    )
    definition = make_definition(
        (PROGRAMS / "pipe_reader.py").as_uri(), channels=(channel,), output_path="/nonexistent"
    )
    executor = LocalExecutor(data=DataPlane(s3_endpoint=os.environ["AWS_ENDPOINT_URL_S3"]))
    executor.submit(make_request(tmp_path / "job", definition, {"epochs": "2"}))
    events = collect(executor, timeout=30)
    executor.close()
    assert isinstance(events[-1], Finished)
    assert events[-1].status is TrainingJobStatus.COMPLETED, events[-1].failure_reason
    assert lines_of(events) == ["epoch=0 bytes=3000;", "epoch=1 bytes=3000;"]


def test_script_code_data_and_encrypted_outputs_on_s3(s3: Any, tmp_path: Path) -> None:
    bucket = new_bucket(s3, "ml-bkt")
    source = io.BytesIO()
    with tarfile.open(fileobj=source, mode="w:gz") as tar:
        for name in ("train.py", "helper.py"):
            tar.add(SCRIPT_DIR / name, arcname=name)
    s3.put_object(Bucket=bucket, Key="code/sourcedir.tar.gz", Body=source.getvalue())
    data = training_data(tmp_path / "data") / "train.csv"
    s3.put_object(Bucket=bucket, Key="train/train.csv", Body=data.read_bytes())
    static = {
        "sagemaker_program": '"train.py"',
        "sagemaker_submit_directory": f'"s3://{bucket}/code/sourcedir.tar.gz"',
    }
    definition = make_definition(
        SKLEARN,
        static_hyperparameters=static,
        channels=(DataChannel("train", f"s3://{bucket}/train/"),),
        output_path=f"s3://{bucket}/out/",
        document={"OutputDataConfig": {"S3OutputPath": "-", "KmsKeyId": "alias/k"}},
    )
    plane = DataPlane(s3_endpoint=os.environ["AWS_ENDPOINT_URL_S3"], kms=lambda _: KEY)
    executor = LocalExecutor(data=plane)
    executor.submit(make_request(tmp_path / "job", definition, {**static, "epochs": "2"}))
    done = collect(executor, timeout=30)[-1]
    executor.close()
    assert isinstance(done, Finished)
    assert done.status is TrainingJobStatus.COMPLETED, done.failure_reason
    assert done.model_artifacts == f"s3://{bucket}/out/job/output/model.tar.gz"
    assert keys(s3, bucket, "out/") == [
        "out/job/output/model.tar.gz",
        "out/job/output/output.tar.gz",
    ]
    encrypted = tmp_path / "model.enc"
    encrypted.write_bytes(
        s3.get_object(Bucket=bucket, Key="out/job/output/model.tar.gz")["Body"].read()
    )
    decrypt_file(str(encrypted), str(tmp_path / "model.tar.gz"), lambda _: KEY)
    with tarfile.open(tmp_path / "model.tar.gz") as tar:
        assert sorted(tar.getnames()) == ["run.json", "weights.npy"]


def test_checkpoints_sync_to_s3(s3: Any, tmp_path: Path) -> None:
    bucket = new_bucket(s3, "ck-bkt")
    s3.put_object(Bucket=bucket, Key="ck/old.pt", Body=b"old")
    local = tmp_path / "checkpoints"
    plane = DataPlane(s3_endpoint=os.environ["AWS_ENDPOINT_URL_S3"])
    sync = CheckpointSync(str(local), f"s3://{bucket}/ck", plane, interval=60)
    assert sync.restore() == 1 and (local / "old.pt").read_bytes() == b"old"
    (local / "old.pt").unlink()
    (local / "epoch-1.pt").write_bytes(b"weights")
    assert sync.close() is None
    assert keys(s3, bucket) == ["ck/epoch-1.pt"]
