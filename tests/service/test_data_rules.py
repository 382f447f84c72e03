"""Create-time rules for data: RoleArn against roles.yaml, KmsKeyId against the key store,
and every bad data input refused with the field, the channel and the file."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.factories import make_document
from tunelab.domain.errors import ValidationError
from tunelab.execution.clock import SystemClock
from tunelab.service.kms import KeyStore
from tunelab.service.roles import Roles
from tunelab.service.settings import Settings
from tunelab.service.training import TrainingService
from tunelab.service.tuning import TuningService
from tunelab.store.sql.store import SqlStore

PROGRAM = Path(__file__).resolve().parents[1] / "e2e" / "programs" / "epochs.py"
SCRIPTS = Path(__file__).resolve().parents[1] / "execution" / "programs" / "sagemaker_script"
WHERE = "TrainingJobDefinition"
SKLEARN = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"


@pytest.fixture
def service(tmp_path: Path) -> Iterator[TuningService]:
    store = SqlStore(f"sqlite:///{tmp_path / 'db.sqlite'}")
    yield TuningService(Settings(home=tmp_path, database_url=store.url), store)
    store.close()


def document(tmp_path: Path, *channels: dict[str, Any], **definition: Any) -> dict[str, Any]:
    definition.setdefault("OutputDataConfig", {"S3OutputPath": "s3://models/out/"})
    request = make_document(image=f"file://{PROGRAM}", **definition)
    if channels:
        request[WHERE]["InputDataConfig"] = list(channels)
    return request


def channel(uri: str, name: str = "train", data_type: str = "S3Prefix", **extra: Any):
    return {
        "ChannelName": name,
        "DataSource": {"S3DataSource": {"S3DataType": data_type, "S3Uri": uri}},
        **extra,
    }


def put(home: Path, key: str, content: bytes = b"1,2\n") -> None:
    path = home / "s3" / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


def errors(service: TuningService, request: dict[str, Any]) -> list[str]:
    with pytest.raises(ValidationError) as error:
        service.validate(request)
    return [str(v) for v in error.value.violations]


ROLES = """
roles:
  data-scientist:
    read: [s3://datasets/]
    write: [s3://models/]
  arn:aws:iam::123456789012:role/admin:
    read: ["*"]
    write: ["*"]
"""


def test_roles_decide_what_a_definition_may_read_and_write(
    service: TuningService, tmp_path: Path
) -> None:
    put(tmp_path, "datasets/train/a.csv")
    put(tmp_path, "private/train/a.csv")
    scientist = "arn:aws:iam::123456789012:role/data-scientist"
    request = document(
        tmp_path,
        channel("s3://datasets/train/"),
        channel("s3://private/train/", name="validation"),
        RoleArn=scientist,
        CheckpointConfig={"S3Uri": "s3://datasets/ck/"},
    )
    assert service.validate(request)  # no roles.yaml: every role may do everything
    (tmp_path / "roles.yaml").write_text(ROLES)
    path = tmp_path / "roles.yaml"
    assert errors(service, request) == [
        f"{WHERE}.InputDataConfig[1]: channel 'validation': role {scientist} may not read "
        f"s3://private/train/ ({path} lets it read: s3://datasets/, s3://models/)",
        f"{WHERE}.CheckpointConfig.S3Uri: role {scientist} may not write s3://datasets/ck/ "
        f"({path} lets it write: s3://models/)",
    ]
    request[WHERE]["OutputDataConfig"]["S3OutputPath"] = "s3://datasets/out"
    request[WHERE]["RoleArn"] = "arn:aws:iam::123456789012:role/admin"
    assert service.validate(request)
    request[WHERE]["RoleArn"] = "arn:aws:iam::123456789012:role/intern"
    assert errors(service, request) == [
        f"{WHERE}.RoleArn: role arn:aws:iam::123456789012:role/intern is not defined in {path}"
    ]


def test_an_unknown_kms_key_is_refused(service: TuningService, tmp_path: Path) -> None:
    output = {"S3OutputPath": "s3://models/out/", "KmsKeyId": "alias/models"}
    request = document(tmp_path, OutputDataConfig=output)
    assert errors(service, request) == [
        f"{WHERE}.OutputDataConfig.KmsKeyId: no key 'alias/models' in tunelab's key store "
        "(create one with `tunelab kms create-key NAME`, list them with `tunelab kms list`)"
    ]
    key = KeyStore(tmp_path).create("models")
    for name in ("alias/models", key.key_id, key.arn, "arn:aws:kms:us-east-1:1:alias/models"):
        request[WHERE]["OutputDataConfig"]["KmsKeyId"] = name
        assert service.validate(request)


def test_a_create_training_job_request_follows_the_same_rules(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'db.sqlite'}")
    settings = Settings(home=tmp_path, database_url=store.url)
    training = TrainingService(store, SystemClock(), str(tmp_path / "s3"), settings)
    (tmp_path / "roles.yaml").write_text(ROLES)
    request = {
        "TrainingJobName": "one",
        "AlgorithmSpecification": {
            "TrainingImage": f"file://{PROGRAM}",
            "TrainingInputMode": "File",
        },
        "RoleArn": "arn:aws:iam::123456789012:role/data-scientist",
        "OutputDataConfig": {"S3OutputPath": "s3://elsewhere/", "KmsKeyId": "nope"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": 60},
    }
    with pytest.raises(ValidationError) as error:
        training.create(request)
    assert [v.path for v in error.value.violations] == [
        "OutputDataConfig.KmsKeyId",
        "OutputDataConfig.S3OutputPath",
    ]
    store.close()


def test_bad_data_is_refused_naming_channel_and_file(service: TuningService, tmp_path: Path):
    put(tmp_path, "bkt/plain/a.csv")
    put(tmp_path, "bkt/zipped/a.csv.gz", gzip.compress(b"1,2\n"))
    (tmp_path / "s3" / "bkt" / "empty").mkdir()
    put(tmp_path, "bkt/m.manifest", json.dumps([{"prefix": "s3://bkt/plain/"}, "b.csv"]).encode())
    request = document(
        tmp_path,
        channel("s3://bkt/nothing/", name="missing"),
        channel("s3://bkt/empty/", name="empty"),
        channel("s3://bkt/plain/", name="gz", CompressionType="Gzip"),
        channel("s3://bkt/m.manifest", name="listed", data_type="ManifestFile"),
        {
            "ChannelName": "fsx",
            "DataSource": {
                "FileSystemDataSource": {
                    "FileSystemId": "fs-0123456789abcdef0",
                    "FileSystemAccessMode": "ro",
                    "FileSystemType": "FSxLustre",
                    "DirectoryPath": str(tmp_path / "no-such-dir"),
                }
            },
        },
        channel(
            "s3://bkt/m.manifest", name="fast", data_type="ManifestFile", InputMode="FastFile"
        ),
        channel("s3://bkt/m.jsonl", name="aug", data_type="AugmentedManifestFile"),
    )
    assert errors(service, request) == [
        f"{WHERE}.InputDataConfig[0]: channel 'missing': the data source s3://bkt/nothing/ "
        "does not exist",
        f"{WHERE}.InputDataConfig[1]: channel 'empty': the data source s3://bkt/empty/ holds "
        "no files",
        f"{WHERE}.InputDataConfig[2]: channel 'gz': s3://bkt/plain/a.csv is not a gzip file "
        "(the channel's CompressionType is Gzip)",
        f"{WHERE}.InputDataConfig[3]: channel 'listed': s3://bkt/plain/b.csv (listed in the "
        "manifest s3://bkt/m.manifest) does not exist",
        f"{WHERE}.InputDataConfig[4]: channel 'fsx': FileSystemDataSource.DirectoryPath "
        f"'{tmp_path / 'no-such-dir'}' is not a directory on this machine (tunelab mounts it "
        "in place as the channel)",
        f"{WHERE}.InputDataConfig[5]: channel 'fast': FastFile input mode reads S3Prefix "
        "channels only (SageMaker's rule)",
        f"{WHERE}.InputDataConfig[6]: channel 'aug': an AugmentedManifestFile is streamed in "
        "Pipe input mode only",
        f"{WHERE}.InputDataConfig[6]: channel 'aug': an AugmentedManifestFile needs "
        "S3DataSource.AttributeNames",
        f"{WHERE}.InputDataConfig[6]: channel 'aug': the data source s3://bkt/m.jsonl does "
        "not exist",
    ]
    good = document(
        tmp_path,
        channel("s3://bkt/zipped/", name="train", CompressionType="Gzip", InputMode="Pipe"),
    )
    assert service.validate(good).definitions[0].channels[0].compression == "Gzip"


def test_script_mode_needs_its_script(service: TuningService, tmp_path: Path) -> None:
    request = document(tmp_path)
    request[WHERE]["AlgorithmSpecification"]["TrainingImage"] = SKLEARN
    assert errors(service, request) == [
        f"{WHERE}.AlgorithmSpecification.TrainingImage: the framework image '{SKLEARN}' runs a "
        "training script (script mode): set the static hyperparameters sagemaker_program and "
        "sagemaker_submit_directory"
    ]
    request[WHERE]["StaticHyperParameters"] = {
        "sagemaker_program": '"missing.py"',
        "sagemaker_submit_directory": json.dumps(str(SCRIPTS)),
    }
    assert errors(service, request) == [
        f"{WHERE}.StaticHyperParameters: sagemaker_program 'missing.py' is not in "
        f"sagemaker_submit_directory {SCRIPTS}"
    ]
    request[WHERE]["StaticHyperParameters"]["sagemaker_program"] = "train.py"
    assert service.validate(request)


def test_dot_segments_in_s3_keys_are_refused_whatever_the_roles(
    service: TuningService, tmp_path: Path
) -> None:
    """``s3://datasets/../..`` mapped to a file outside the object store (read a secret,
    write outside it) and passed roles.yaml's ``s3://datasets/`` as a string prefix."""
    put(tmp_path, "datasets/train/a.csv")
    (tmp_path / "s3" / "models").mkdir(parents=True)
    secret = tmp_path / "secret" / "s.csv"
    secret.parent.mkdir()
    secret.write_text("secret\n")
    (tmp_path / "roles.yaml").write_text(ROLES)
    request = document(
        tmp_path,
        channel("s3://datasets/../../secret/"),
        OutputDataConfig={"S3OutputPath": "s3://models/../../escaped-out"},
        CheckpointConfig={"S3Uri": "s3://models/ck/./x/"},
        RoleArn="arn:aws:iam::123456789012:role/data-scientist",
    )
    request[WHERE]["AlgorithmSpecification"]["TrainingImage"] = SKLEARN
    request[WHERE]["StaticHyperParameters"] = {
        "sagemaker_program": "train.py",
        "sagemaker_submit_directory": json.dumps("s3://datasets//etc/"),
    }
    rule = "tunelab refuses '.', '..' and empty segments in s3:// keys"
    assert errors(service, request) == [
        f"{WHERE}.InputDataConfig[0]: channel 'train': s3://datasets/../../secret/: the key "
        f"'../../secret/' has a '..' segment; {rule}",
        f"{WHERE}.OutputDataConfig.S3OutputPath: s3://models/../../escaped-out: the key "
        f"'../../escaped-out' has a '..' segment; {rule}",
        f"{WHERE}.CheckpointConfig.S3Uri: s3://models/ck/./x/: the key 'ck/./x/' has a '.' "
        f"segment; {rule}",
        f"{WHERE}.StaticHyperParameters.sagemaker_submit_directory: s3://datasets//etc/: the "
        f"key '/etc/' has an empty segment; {rule}",
    ]
    (tmp_path / "roles.yaml").unlink()  # without roles.yaml too
    assert len(errors(service, request)) == 4
    assert not (tmp_path / "escaped-out").exists()


def test_manifest_entries_are_appended_to_the_prefix_and_stay_below_it(
    service: TuningService, tmp_path: Path
) -> None:
    put(tmp_path, "shard/p/part-1.csv")
    put(tmp_path, "shard/secret.csv")
    manifest = [{"prefix": "s3://shard/p/part-"}, "1.csv"]
    put(tmp_path, "shard/m.manifest", json.dumps(manifest).encode())
    request = document(tmp_path, channel("s3://shard/m.manifest", data_type="ManifestFile"))
    assert service.validate(request)  # s3://shard/p/part-1.csv, not s3://shard/p/part-/1.csv
    for entry in ("/../secret.csv", "x/../../secret.csv"):
        put(
            tmp_path, "shard/m.manifest", json.dumps([{"prefix": "s3://shard/p/"}, entry]).encode()
        )
        assert errors(service, request) == [
            f"{WHERE}.InputDataConfig[0]: channel 'train': the manifest s3://shard/m.manifest "
            f"lists {entry!r}, not a relative key to append to its prefix s3://shard/p/ "
            f"(s3://shard/p/{entry}: the key 'p/{entry}' has "
            + ("an empty segment" if entry.startswith("/") else "a '..' segment")
            + "; tunelab refuses '.', '..' and empty segments in s3:// keys)"
        ]


def test_roles_never_allow_a_key_that_leaves_its_bucket(tmp_path: Path) -> None:
    (tmp_path / "roles.yaml").write_text(ROLES)
    roles = Roles.load(tmp_path)
    assert roles is not None
    admin = "arn:aws:iam::123456789012:role/admin"  # read: ["*"]
    scientist = "arn:aws:iam::123456789012:role/data-scientist"  # read: [s3://datasets/]
    assert roles.check(scientist, "s3://datasets/train/", "read") is None
    for role in (admin, scientist):
        assert roles.check(role, "s3://datasets/../secret/", "read") == (
            f"role {role} may not read s3://datasets/../secret/: the key '../secret/' has a "
            "'..' segment; tunelab refuses '.', '..' and empty segments in s3:// keys"
        )
    assert roles.check(scientist, "/srv/data/../../etc", "read") is not None  # normalized


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("roles: [\n", "roles.yaml:2:1: not valid YAML"),
        ("roles: " + "[" * 3000 + "]" * 3000, "roles.yaml: the file nests objects and arrays"),
    ],
    ids=["syntax", "3000 levels"],
)
def test_a_roles_file_that_cannot_be_read_is_refused_naming_it(
    tmp_path: Path, text: str, message: str
) -> None:
    (tmp_path / "roles.yaml").write_text(text)
    with pytest.raises(ValidationError, match=message):
        Roles.load(tmp_path)


def test_outputs_below_an_object_of_the_store_are_refused(
    service: TuningService, tmp_path: Path
) -> None:
    """Packing to ``s3://models/k/<job>/output/`` when the object ``s3://models/k`` exists
    failed the job with a local NotADirectoryError: refused at create time instead."""
    put(tmp_path, "models/k")
    request = document(
        tmp_path,
        OutputDataConfig={"S3OutputPath": "s3://models/k/out"},
        CheckpointConfig={"S3Uri": "s3://models/k/"},
    )
    tail = (
        "exists, and a key cannot be both an object and a prefix in tunelab's local object store"
    )
    assert errors(service, request) == [
        f"{WHERE}.OutputDataConfig.S3OutputPath: s3://models/k/out: the object s3://models/k "
        + tail,
        f"{WHERE}.CheckpointConfig.S3Uri: s3://models/k/: the object s3://models/k " + tail,
    ]
    request[WHERE]["OutputDataConfig"]["S3OutputPath"] = "s3://models/other/"
    request[WHERE]["CheckpointConfig"]["S3Uri"] = "s3://models/ck"
    assert service.validate(request)


def _efs(directory: Path, **extra: Any) -> dict[str, Any]:
    source = {
        "FileSystemId": "fs-0123456789abcdef0",
        "FileSystemAccessMode": "ro",
        "FileSystemType": "EFS",
        "DirectoryPath": str(directory),
    }
    return {"ChannelName": "images", "DataSource": {"FileSystemDataSource": source}, **extra}


def _in_mode(tmp_path: Path, mode: str, *channels: dict[str, Any]) -> dict[str, Any]:
    request = document(tmp_path, *channels)
    request[WHERE]["AlgorithmSpecification"]["TrainingInputMode"] = mode
    return request


def test_a_file_system_channel_is_not_streamed_in_pipe_mode(
    service: TuningService, tmp_path: Path
) -> None:
    assert errors(service, _in_mode(tmp_path, "File", _efs(tmp_path, InputMode="Pipe"))) == [
        f"{WHERE}.InputDataConfig[0]: channel 'images': Pipe input mode (InputMode) streams "
        "S3DataSource channels only; a FileSystemDataSource is mounted in place as a "
        "directory (File or FastFile)"
    ]
    assert errors(service, _in_mode(tmp_path, "Pipe", _efs(tmp_path))) == [
        f"{WHERE}.InputDataConfig[0]: channel 'images': Pipe input mode "
        "(AlgorithmSpecification.TrainingInputMode) streams S3DataSource channels only; a "
        "FileSystemDataSource is mounted in place as a directory (File or FastFile)"
    ]
    for mode in ("File", "FastFile"):
        service.validate(_in_mode(tmp_path, "Pipe", _efs(tmp_path, InputMode=mode)))
        service.validate(_in_mode(tmp_path, mode, _efs(tmp_path)))
