"""Pipe input mode with real FIFOs and a real program reading two epochs."""

from __future__ import annotations

import gzip
import json
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.execution.conftest import shut_down
from tunelab.domain.definition import DataChannel
from tunelab.domain.enums import TrainingInputMode, TrainingJobStatus
from tunelab.execution.base import Finished
from tunelab.execution.contract import prepare_job_dir
from tunelab.execution.local import LocalExecutor
from tunelab.execution.pipes import PipeFeeder, epoch_order, recordio
from tunelab.execution.staging import stage_channels
from tunelab.execution.storage import DataPlane

from .test_contract import PROGRAMS, collect, lines_of, make_definition, make_request

READER = (PROGRAMS / "pipe_reader.py").as_uri()
PIPE = TrainingInputMode.PIPE


@pytest.fixture
def plane(tmp_path: Path) -> DataPlane:
    return DataPlane(s3_root=str(tmp_path / "s3"))


@pytest.fixture
def executor(plane: DataPlane) -> Iterator[LocalExecutor]:
    ex = LocalExecutor(stop_grace_seconds=1, data=plane)
    yield ex
    shut_down(ex)


def put(plane: DataPlane, key: str, content: bytes) -> None:
    path = Path(str(plane.s3_root), key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


def run(
    executor: LocalExecutor,
    tmp_path: Path,
    *channels: DataChannel,
    epochs: int = 2,
    program: str = READER,
    head: int | None = None,
):
    definition = make_definition(program, channels=channels, output_path=str(tmp_path / "out"))
    hyperparameters = {"epochs": str(epochs)} | ({} if head is None else {"head": str(head)})
    request = make_request(tmp_path / "job", definition, hyperparameters)
    executor.submit(request)
    events = collect(executor, timeout=20)
    done = events[-1]
    assert isinstance(done, Finished)
    return done, lines_of(events), tmp_path / "job"


def test_two_epochs_through_fifos_with_gzip_decompressed(
    executor: LocalExecutor, plane: DataPlane, tmp_path: Path
) -> None:
    put(plane, "bkt/train/part-0.csv.gz", gzip.compress(b"1,2\n" * 50_000))
    put(plane, "bkt/train/part-1.csv.gz", gzip.compress(b"3,4\n"))
    channel = DataChannel("train", "s3://bkt/train/", compression="Gzip", input_mode=PIPE)
    done, lines, job = run(executor, tmp_path, channel)
    assert done.status is TrainingJobStatus.COMPLETED, done.failure_reason
    expected = b"1,2\n" * 50_000 + b"3,4\n"
    assert lines == [f"epoch={e} bytes={len(expected)};" for e in range(2)]
    for epoch in range(2):
        assert (job / "model" / f"epoch-{epoch}.bin").read_bytes() == expected
    assert not (job / "input" / "data").exists()  # the FIFOs go when the job ends
    config = json.loads((job / "input" / "config" / "inputdataconfig.json").read_text())
    assert config["train"]["TrainingInputMode"] == "Pipe"


def test_record_io_wraps_each_object(
    executor: LocalExecutor, plane: DataPlane, tmp_path: Path
) -> None:
    put(plane, "bkt/r/a.bin", b"abc")
    put(plane, "bkt/r/b.bin", b"defgh")
    channel = DataChannel("train", "s3://bkt/r/", input_mode=PIPE, record_wrapper="RecordIO")
    done, _, job = run(executor, tmp_path, channel, epochs=1)
    assert done.status is TrainingJobStatus.COMPLETED, done.failure_reason
    data = (job / "model" / "epoch-0.bin").read_bytes()
    assert data == recordio(b"abc") + recordio(b"defgh")
    assert data[:4] == bytes.fromhex("0a23d7ce") and len(data) == 8 + 4 + 8 + 8


def test_a_key_listed_twice_in_a_manifest_streams_once_an_epoch(
    executor: LocalExecutor, plane: DataPlane, tmp_path: Path
) -> None:
    """A manifest names a set of objects, as in File and FastFile mode: a key listed again
    is not streamed again."""
    put(plane, "bkt/d/a.csv", b"a\n")
    put(plane, "bkt/d/b.csv", b"b\n")
    put(
        plane, "bkt/m", json.dumps([{"prefix": "s3://bkt/d/"}, "a.csv", "b.csv", "a.csv"]).encode()
    )
    channel = DataChannel("train", "s3://bkt/m", s3_data_type="ManifestFile", input_mode=PIPE)
    done, lines, job = run(executor, tmp_path, channel)
    assert done.status is TrainingJobStatus.COMPLETED, done.failure_reason
    assert lines == ["epoch=0 bytes=4;", "epoch=1 bytes=4;"]
    for epoch in range(2):
        assert (job / "model" / f"epoch-{epoch}.bin").read_bytes() == b"a\nb\n"


def test_augmented_manifest_streams_the_attributes_in_order(
    executor: LocalExecutor, plane: DataPlane, tmp_path: Path
) -> None:
    put(plane, "bkt/img/1.jpg", b"\xff\xd8one")
    put(plane, "bkt/img/2.jpg", b"\xff\xd8two")
    lines = [
        {"source-ref": "s3://bkt/img/1.jpg", "is-a-cat": 1, "other": "ignored"},
        {"is-a-cat": 0, "source-ref": "s3://bkt/img/2.jpg"},
    ]
    put(plane, "bkt/train.jsonl", "\n".join(json.dumps(x) for x in lines).encode())
    channel = DataChannel(
        "train",
        "s3://bkt/train.jsonl",
        input_mode=PIPE,
        record_wrapper="RecordIO",
        s3_data_type="AugmentedManifestFile",
    )
    document = {
        "InputDataConfig": [
            {
                "ChannelName": "train",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "AugmentedManifestFile",
                        "S3Uri": "s3://bkt/train.jsonl",
                        "AttributeNames": ["source-ref", "is-a-cat"],
                    }
                },
            }
        ]
    }
    definition = make_definition(
        READER, channels=(channel,), output_path=str(tmp_path / "out"), document=document
    )
    executor.submit(make_request(tmp_path / "job", definition, {"epochs": "1"}))
    done = collect(executor, timeout=20)[-1]
    assert isinstance(done, Finished) and done.status is TrainingJobStatus.COMPLETED
    data = (tmp_path / "job" / "model" / "epoch-0.bin").read_bytes()
    assert data == b"".join(recordio(p) for p in (b"\xff\xd8one", b"1", b"\xff\xd8two", b"0"))


def test_a_corrupt_gzip_file_fails_the_job_naming_channel_and_file(
    executor: LocalExecutor, plane: DataPlane, tmp_path: Path
) -> None:
    good = gzip.compress(b"5,6\n" * 1000)
    put(plane, "bkt/z/a.csv.gz", good)
    put(plane, "bkt/z/b.csv.gz", good[: len(good) // 2])  # truncated mid-stream
    channel = DataChannel("train", "s3://bkt/z/", compression="Gzip", input_mode=PIPE)
    done, _, _ = run(executor, tmp_path, channel)
    assert done.status is TrainingJobStatus.FAILED
    assert (done.failure_reason or "").startswith(
        "channel 'train': s3://bkt/z/b.csv.gz is not a readable gzip file (CompressionType Gzip)"
    )
    assert done.model_artifacts is None


def test_shuffle_config_orders_each_epoch_by_seed_and_epoch(
    executor: LocalExecutor, plane: DataPlane, tmp_path: Path
) -> None:
    payloads = [f"object-{i}".encode() for i in range(8)]
    for i, payload in enumerate(payloads):
        put(plane, f"bkt/s/part-{i}.bin", payload)
    channel = DataChannel(
        "train", "s3://bkt/s/", input_mode=PIPE, record_wrapper="RecordIO", shuffle_seed=7
    )
    done, _, job = run(executor, tmp_path, channel, epochs=3)
    assert done.status is TrainingJobStatus.COMPLETED, done.failure_reason
    fed = [(job / "model" / f"epoch-{e}.bin").read_bytes() for e in range(3)]
    orders = [epoch_order(payloads, 7, e) for e in range(3)]
    assert fed == [b"".join(recordio(p) for p in order) for order in orders]
    assert all(sorted(order) == payloads for order in orders)  # each epoch: every object once
    assert len({tuple(order) for order in [*orders, payloads]}) == 4  # all differ
    assert orders == [epoch_order(payloads, 7, e) for e in range(3)]  # reproducible
    assert epoch_order(payloads, 8, 0) != orders[0] and epoch_order(payloads, None, 1) == payloads


def test_shuffle_config_orders_an_augmented_manifests_lines(
    executor: LocalExecutor, plane: DataPlane, tmp_path: Path
) -> None:
    labels = [str(i) for i in range(8)]
    put(plane, "bkt/aug.jsonl", "\n".join(json.dumps({"label": x}) for x in labels).encode())
    channel = DataChannel(
        "train",
        "s3://bkt/aug.jsonl",
        input_mode=PIPE,
        record_wrapper="RecordIO",
        s3_data_type="AugmentedManifestFile",
        shuffle_seed=3,
    )
    source = {"S3DataType": "AugmentedManifestFile", "S3Uri": "s3://bkt/aug.jsonl"}
    entry = {
        "ChannelName": "train",
        "DataSource": {"S3DataSource": source | {"AttributeNames": ["label"]}},
    }
    definition = make_definition(
        READER,
        channels=(channel,),
        output_path=str(tmp_path / "out"),
        document={"InputDataConfig": [entry]},
    )
    executor.submit(make_request(tmp_path / "job", definition, {"epochs": "2"}))
    done = collect(executor, timeout=20)[-1]
    assert isinstance(done, Finished) and done.status is TrainingJobStatus.COMPLETED
    for epoch in range(2):
        order = epoch_order(labels, 3, epoch)
        assert order != labels
        data = (tmp_path / "job" / "model" / f"epoch-{epoch}.bin").read_bytes()
        assert data == b"".join(recordio(x.encode()) for x in order)


def test_a_reader_that_closes_an_epoch_early_gets_the_next_one(
    executor: LocalExecutor, plane: DataPlane, tmp_path: Path
) -> None:
    content = bytes(range(256)) * 4096  # 1 MiB: far more than a FIFO holds
    put(plane, "bkt/big/data.bin", content)
    channel = DataChannel("train", "s3://bkt/big/", input_mode=PIPE)
    done, lines, job = run(executor, tmp_path, channel, epochs=3, head=1000)
    assert done.status is TrainingJobStatus.COMPLETED, done.failure_reason
    assert lines == [f"epoch={e} bytes=1000;" for e in range(3)]
    for epoch in range(3):
        assert (job / "model" / f"epoch-{epoch}.bin").read_bytes() == content[:1000]


def test_the_next_fifo_exists_while_an_epoch_is_being_read(
    plane: DataPlane, tmp_path: Path
) -> None:
    content = bytes(range(256)) * 4096  # the feeder stays blocked writing epoch 0
    put(plane, "bkt/big/data.bin", content)
    channel = DataChannel("train", "s3://bkt/big/", input_mode=PIPE)
    definition = make_definition(READER, channels=(channel,))
    layout = prepare_job_dir(make_request(tmp_path / "job", definition))
    (source,) = stage_channels(definition, layout, plane)
    feeder = PipeFeeder(source)
    feeder.start()
    try:
        with open(f"{source.fifo_prefix}_0", "rb") as fifo:
            assert fifo.read(1000) == content[:1000]
            assert stat.S_ISFIFO(Path(f"{source.fifo_prefix}_1").stat().st_mode)
        with open(f"{source.fifo_prefix}_1", "rb") as fifo:  # closed _0 early: _1 is fed
            assert fifo.read(1000) == content[:1000]
    finally:
        feeder.close()
    assert feeder.failure is None and feeder.epochs == 0
