"""``tunelab kms create-key|list`` and ``tunelab artifacts get``, run as commands (in
process with typer's runner; the training job with ``tunelab run`` in a process of its
own): keys created and listed, a real training job's artifacts encrypted under
``OutputDataConfig.KmsKeyId`` and decrypted by ``artifacts get``, and the refusals (a taken
or invalid alias, an unknown key, a missing artifact, a key this home does not hold, a
tampered file)."""

from __future__ import annotations

import base64
import json
import re
import shutil
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from tests.e2e.conftest import Env
from tunelab.cli.app import app
from tunelab.execution.outputs import MAGIC
from tunelab.service.kms import KeyStore

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def flat(text: str) -> str:
    """Rich wraps long messages: compare them with their whitespace collapsed."""
    return " ".join(text.split())


class Tunelab:
    """The ``tunelab`` command on a private ``TUNELAB_HOME``, in this process."""

    # unset: what would point the commands elsewhere than the home
    UNSET = ("AWS_ENDPOINT_URL_S3", "TUNELAB_DATABASE_URL", "TUNELAB_MASTER_KEY")

    def __init__(self, root: Path) -> None:
        self.root = root
        self.home = root / "home"
        self.vars: dict[str, str | None] = {name: None for name in self.UNSET}
        self.vars.update(TUNELAB_HOME=str(self.home), TUNELAB_REGION=None, COLUMNS="200")

    def run(self, *args: str) -> Result:
        return CliRunner().invoke(app, list(args), env=self.vars)


@pytest.fixture
def env(tmp_path: Path) -> Tunelab:
    return Tunelab(tmp_path)


def create_key(env: Tunelab, name: str) -> str:
    result = env.run("kms", "create-key", name)
    assert result.exit_code == 0, result.stderr
    match = re.search(rf"^KeyId: ({UUID})$", result.stdout, re.MULTILINE)
    assert match, result.stdout
    return match.group(1)


def test_create_key_prints_the_key_and_list_shows_it_without_its_material(env: Tunelab) -> None:
    result = env.run("kms", "create-key", "models")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    key_id = lines[0].removeprefix("KeyId: ")
    assert re.fullmatch(UUID, key_id)
    assert lines == [
        f"KeyId: {key_id}",
        f"KeyArn: arn:aws:kms:us-east-1:123456789012:key/{key_id}",
        "Alias: alias/models",
    ]
    other = create_key(env, "team/archive")
    listed = env.run("kms", "list")
    assert listed.exit_code == 0, listed.stderr
    rows = sorted(line.split()[:3] for line in listed.stdout.splitlines())
    assert rows == sorted(
        [
            [key_id, "alias/models", f"arn:aws:kms:us-east-1:123456789012:key/{key_id}"],
            [other, "alias/team/archive", f"arn:aws:kms:us-east-1:123456789012:key/{other}"],
        ]
    )
    material = KeyStore(env.home).data_key(key_id)[1]
    assert len(material) == 32
    assert base64.b64encode(material).decode() not in listed.stdout + result.stdout
    assert material.hex() not in listed.stdout + result.stdout


def test_key_arns_follow_the_configured_region_and_account(env: Tunelab) -> None:
    env.vars.update(TUNELAB_REGION="eu-west-1", TUNELAB_ACCOUNT_ID="210987654321")
    key_id = create_key(env, "regional")
    listed = env.run("kms", "list")
    assert f"arn:aws:kms:eu-west-1:210987654321:key/{key_id}" in listed.stdout


def test_kms_list_without_keys_says_how_to_create_one(env: Tunelab) -> None:
    result = env.run("kms", "list")
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert "No keys; create one with `tunelab kms create-key NAME`." in flat(result.stderr)


def test_a_taken_alias_and_an_invalid_name_are_refused(env: Tunelab) -> None:
    first = create_key(env, "models")
    taken = env.run("kms", "create-key", "alias/models")  # the same alias, written as KMS does
    assert taken.exit_code == 2, taken.output
    assert "error (ResourceInUse): a key with the alias alias/models already exists" in flat(
        taken.stderr
    )
    for name in ("aws/reserved", "bad name!"):
        invalid = env.run("kms", "create-key", name)
        assert invalid.exit_code == 2, name
        assert "error (ValidationException): key name" in flat(invalid.stderr)
        assert "KMS's alias rules" in flat(invalid.stderr)
    listed = env.run("kms", "list")
    assert [line.split()[0] for line in listed.stdout.splitlines()] == [first]


@dataclass
class Trained:
    """A home whose one training job wrote encrypted artifacts to the local object store."""

    env: Tunelab
    key_id: str
    job: str

    def uri(self, name: str = "model.tar.gz") -> str:
        return f"s3://models/out/{self.job}/output/{name}"

    def stored(self, name: str = "model.tar.gz") -> Path:
        return self.env.home / "s3" / "models" / "out" / self.job / "output" / name


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Trained]:
    root = tmp_path_factory.mktemp("trained")
    env, processes = Tunelab(root), Env(root)  # one home
    for name in (*Tunelab.UNSET, "TUNELAB_REGION"):
        processes.vars.pop(name, None)
    key_id = create_key(env, "models")
    data = root / "data"
    data.mkdir()
    (data / "part-0.csv").write_text("1,2\n0,3\n")
    put = env.run("data", "put", str(data), "s3://datasets/train/")
    assert put.exit_code == 0, put.stderr
    path = processes.job_file(
        "encrypted", max_jobs=1, parallel=1, epochs="2", seconds_per_epoch="0"
    )
    document = json.loads(path.read_text())
    document["TrainingJobDefinition"].update(
        InputDataConfig=[
            {
                "ChannelName": "train",
                "DataSource": {
                    "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://datasets/train/"}
                },
            }
        ],
        OutputDataConfig={"S3OutputPath": "s3://models/out", "KmsKeyId": "alias/models"},
    )
    path.write_text(json.dumps(document))
    result = processes.run("run", str(path), "--quiet")  # the real command, as users run it
    assert result.returncode == 0, result.stdout + result.stderr
    [job] = [j.name for j in processes.training_jobs("encrypted")]
    log = processes.home / "jobs" / "encrypted" / job / "logs" / "attempt-1.log"
    assert "seen train/part-0.csv: '1,2\\n0,3\\n'" in log.read_text()  # from `data put`
    yield Trained(env, key_id, job)
    processes.close()


def test_artifacts_are_stored_encrypted_and_get_decrypts_them(
    trained: Trained, tmp_path: Path
) -> None:
    for name in ("model.tar.gz", "output.tar.gz"):
        stored = trained.stored(name).read_bytes()
        assert stored.startswith(MAGIC)
        assert trained.key_id.encode() in stored[: len(MAGIC) + 64]  # the header names the key
    result = trained.env.run("artifacts", "get", trained.uri(), str(tmp_path))
    assert result.exit_code == 0, result.stderr
    fetched = tmp_path / "model.tar.gz"
    assert flat(result.stdout) == f"{fetched} (decrypted with {trained.key_id})"
    with tarfile.open(fetched) as tar:
        assert tar.getnames() == ["model.txt"]
        member = tar.extractfile("model.txt")
        assert member is not None and member.read().startswith(b"x=")
    other = tmp_path / "renamed.tgz"  # a file name: written under that name
    result = trained.env.run("artifacts", "get", trained.uri("output.tar.gz"), str(other))
    assert result.exit_code == 0, result.stderr
    assert flat(result.stdout) == f"{other} (decrypted with {trained.key_id})"
    with tarfile.open(other) as tar:  # the program wrote nothing to output/data
        assert tar.getnames() == []
    assert not list(tmp_path.glob(".fetch-*"))  # no work files left behind


def test_a_destination_ending_in_a_slash_is_a_folder_created_for_the_artifact(
    trained: Trained, tmp_path: Path
) -> None:
    folder = tmp_path / "models" / "best"
    result = trained.env.run("artifacts", "get", trained.uri(), f"{folder}/")
    assert result.exit_code == 0, result.stderr
    assert folder.is_dir()
    with tarfile.open(folder / "model.tar.gz") as tar:
        assert tar.getnames() == ["model.txt"]


def test_data_get_copies_the_encrypted_bytes_as_stored(trained: Trained, tmp_path: Path) -> None:
    raw = tmp_path / "raw.tar.gz"
    result = trained.env.run("data", "get", trained.uri(), str(raw))
    assert result.exit_code == 0, result.stderr
    assert raw.read_bytes() == trained.stored().read_bytes()
    assert raw.read_bytes().startswith(MAGIC)
    with pytest.raises(tarfile.ReadError):
        tarfile.open(raw).close()


def test_a_plain_artifact_is_copied_as_is(env: Tunelab, tmp_path: Path) -> None:
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "weights.txt").write_text("w=1\n")
    with tarfile.open(tmp_path / "model.tar.gz", "w:gz") as tar:
        tar.add(tmp_path / "model" / "weights.txt", arcname="weights.txt")
    put = env.run("data", "put", str(tmp_path / "model.tar.gz"), "s3://plain/out/job/output/")
    assert put.exit_code == 0, put.stderr
    target = tmp_path / "fetched"
    target.mkdir()
    uri = "s3://plain/out/job/output/model.tar.gz"
    result = env.run("artifacts", "get", uri, str(target))
    assert result.exit_code == 0, result.stderr
    assert flat(result.stdout) == str(target / "model.tar.gz")  # no "decrypted with"
    assert (target / "model.tar.gz").read_bytes() == (tmp_path / "model.tar.gz").read_bytes()


def test_a_missing_artifact_or_a_folder_is_not_found(trained: Trained, tmp_path: Path) -> None:
    for uri in (
        trained.uri("nothing.tar.gz"),
        f"s3://models/out/{trained.job}/output",  # a prefix, not an artifact
        "s3://no-such-bucket/model.tar.gz",
        str(tmp_path / "missing.tar.gz"),
    ):
        result = trained.env.run("artifacts", "get", uri, str(tmp_path / "out"))
        assert result.exit_code == 3, uri
        assert f"error (ResourceNotFound): {uri}: no such artifact" in flat(result.stderr)
    assert not (tmp_path / "out").exists()


def test_an_unreachable_location_is_refused(trained: Trained, tmp_path: Path) -> None:
    result = trained.env.run("artifacts", "get", "ftp://host/model.tar.gz", str(tmp_path))
    assert result.exit_code == 2, result.output
    assert "error (ValidationException): ftp://host/model.tar.gz: ftp:// locations" in flat(
        result.stderr
    )


def test_a_key_this_home_does_not_hold_is_named(trained: Trained, tmp_path: Path) -> None:
    elsewhere = Tunelab(tmp_path / "elsewhere")
    create_key(elsewhere, "models")  # the same alias, another key
    artifact = str(trained.stored())
    result = elsewhere.run("artifacts", "get", artifact, str(tmp_path))
    assert result.exit_code == 3, result.output
    assert (
        f"error (ResourceNotFound): {artifact} is encrypted with the key {trained.key_id}, "
        "which tunelab's key store does not hold"
    ) in flat(result.stderr)
    assert not (tmp_path / "model.tar.gz").exists()


def test_a_tampered_artifact_is_refused_and_nothing_is_written(
    trained: Trained, tmp_path: Path
) -> None:
    tampered = tmp_path / "tampered" / "model.tar.gz"
    tampered.parent.mkdir()
    shutil.copy(trained.stored(), tampered)
    data = bytearray(tampered.read_bytes())
    data[-20] ^= 1
    tampered.write_bytes(bytes(data))
    target = tmp_path / "plain.tar.gz"
    result = trained.env.run("artifacts", "get", str(tampered), str(target))
    assert result.exit_code == 2, result.output
    assert f"error (ValidationException): {tampered}:" in flat(result.stderr)
    assert "does not decrypt" in flat(result.stderr)
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["tampered"]  # no work files either


def test_an_unknown_kms_key_id_is_refused_before_anything_runs(
    env: Tunelab, tmp_path: Path
) -> None:
    create_key(env, "models")
    files = Env(tmp_path)
    path = files.job_file("unknown-key", max_jobs=1, parallel=1)
    document = json.loads(path.read_text())
    document["TrainingJobDefinition"]["OutputDataConfig"]["KmsKeyId"] = "alias/missing"
    path.write_text(json.dumps(document))
    result = env.run("run", str(path), "--quiet")
    assert result.exit_code == 2, result.output
    assert (
        "error (ValidationException): TrainingJobDefinition.OutputDataConfig.KmsKeyId: "
        "no key 'alias/missing' in tunelab's key store (create one with "
        "`tunelab kms create-key NAME`, list them with `tunelab kms list`)"
    ) in flat(result.stderr)
    assert env.run("describe", "unknown-key").exit_code == 3  # nothing was stored
    assert files.runs() == []
