"""The key store: keys named as KMS names them, encrypted at rest with the master key,
private files, unique aliases; roles.yaml's format errors."""

from __future__ import annotations

import base64
import contextlib
import os
import stat
import threading
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tunelab.domain.errors import ResourceInUse, ValidationError
from tunelab.service.kms import KeyStore
from tunelab.service.roles import Roles
from tunelab.service.secrets import SecretBox, SecretError


def test_keys_are_found_by_id_arn_and_alias(tmp_path: Path) -> None:
    keys = KeyStore(tmp_path, "eu-west-1", "111122223333")
    key = keys.create("models")
    assert key.alias == "alias/models"
    assert key.arn == f"arn:aws:kms:eu-west-1:111122223333:key/{key.key_id}"
    for name in (
        key.key_id,
        key.arn,
        "alias/models",
        "arn:aws:kms:eu-west-1:111122223333:alias/models",
    ):
        found = keys.find(name)
        assert found is not None and found.key_id == key.key_id
    assert keys.find("alias/other") is None and keys.find("../../etc/passwd") is None
    key_id, material = keys.data_key("alias/models")
    assert key_id == key.key_id and len(material) == 32
    with pytest.raises(KeyError):
        keys.data_key("alias/other")
    assert [k.key_id for k in keys.list()] == [key.key_id]
    with pytest.raises(ResourceInUse, match="alias/models already exists"):
        keys.create("alias/models")
    with pytest.raises(ValidationError, match="KMS's alias rules"):
        keys.create("aws/reserved")


def test_key_material_is_encrypted_at_rest_in_private_files(tmp_path: Path) -> None:
    keys = KeyStore(tmp_path)
    key = keys.create("secret")
    material = keys.data_key(key.key_id)[1]
    record = tmp_path / "kms" / "keys" / f"{key.key_id}.json"
    assert stat.S_IMODE(record.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "kms").stat().st_mode) == 0o700
    stored = record.read_bytes()
    assert base64.b64encode(material) not in stored and material not in stored
    other = SecretBox(Fernet.generate_key(), "another master key")
    with pytest.raises(SecretError, match="different master key"):
        KeyStore(tmp_path, box=other).data_key(key.key_id)
    assert os.listdir(tmp_path / "kms" / "aliases") == ["secret"]


def test_roles_file_errors_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "roles.yaml"
    path.write_text("roles:\n  r:\n    read: s3://not-a-list\n")
    with pytest.raises(ValidationError, match="role 'r': read must be a list of strings"):
        Roles.load(tmp_path)
    path.write_text("roles:\n  r:\n    reed: [x]\n")
    with pytest.raises(ValidationError, match="takes only 'read' and 'write' lists"):
        Roles.load(tmp_path)
    path.write_text("roles:\n  r:\n    read: [/data/shared, s3://bkt]\n")
    roles = Roles.load(tmp_path)
    assert roles is not None
    assert roles.check("arn:aws:iam::1:role/r", "file:///data/shared/x.csv", "read") is None
    assert roles.check("arn:aws:iam::1:role/r", "s3://bkt/key", "read") is None
    assert roles.check("arn:aws:iam::1:role/r", "s3://bkt2/key", "read") is not None
    assert roles.check("arn:aws:iam::1:role/r", "/data/shared2", "read") is not None
    assert roles.check("arn:aws:iam::1:role/r", "s3://bkt/key", "write") is not None


def test_another_master_key_cannot_add_keys(tmp_path: Path) -> None:
    KeyStore(tmp_path, box=SecretBox(Fernet.generate_key(), "first")).create("models")
    other = KeyStore(tmp_path, box=SecretBox(Fernet.generate_key(), "TUNELAB_MASTER_KEY"))
    with pytest.raises(SecretError, match="master key from TUNELAB_MASTER_KEY"):
        other.check_master_key()
    with pytest.raises(SecretError):
        other.create("more")
    assert [k.alias for k in KeyStore(tmp_path).list()] == ["alias/models"]  # nothing added


def test_every_stored_key_is_checked_and_the_failing_one_named(tmp_path: Path) -> None:
    right = SecretBox(Fernet.generate_key(), "first")
    KeyStore(tmp_path, box=right).create("models")
    stray = KeyStore(tmp_path / "stray", box=SecretBox(Fernet.generate_key(), "another"))
    made = stray.create("stray")  # a key made with another master key, moved in
    for folder in ("keys", "aliases"):
        for path in (tmp_path / "stray" / "kms" / folder).iterdir():
            path.rename(tmp_path / "kms" / folder / path.name)
    with pytest.raises(SecretError, match=rf"^KMS key alias/stray \(.*{made.key_id}\.json\): "):
        KeyStore(tmp_path, box=right).check_master_key()


def test_concurrent_creates_never_show_an_alias_without_its_key(tmp_path: Path) -> None:
    """Writers in several threads create keys, some racing for the same alias, while a
    reader resolves every alias file it sees: an alias is never visible before its key is
    whole, each alias has exactly one key, and no temporary file is left behind."""
    keys = KeyStore(tmp_path, box=SecretBox(Fernet.generate_key(), "test"))
    aliases = tmp_path / "kms" / "aliases"
    won: list[str] = []
    unresolved: list[str] = []
    writing = threading.Event()

    failures: list[BaseException] = []

    def write(thread: int) -> None:
        try:
            for i in range(20):
                for name in (f"own-{thread}-{i}", f"shared-{i}"):
                    with contextlib.suppress(ResourceInUse):
                        won.append(keys.create(name).key_id)
        except BaseException as error:  # a writer that fails fails the test
            failures.append(error)

    def read() -> None:
        while writing.is_set():
            for name in os.listdir(aliases) if aliases.is_dir() else ():
                if not name.endswith(".partial") and keys.find(f"alias/{name}") is None:
                    unresolved.append(name)

    writers = [threading.Thread(target=write, args=(t,)) for t in range(4)]
    reader = threading.Thread(target=read)
    writing.set()
    reader.start()
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    writing.clear()
    reader.join()
    assert failures == [] and unresolved == []
    listed = keys.list()
    assert sorted(k.key_id for k in listed) == sorted(won)
    assert len({k.alias for k in listed}) == len(listed) == 4 * 20 + 20
    for key in listed:
        assert keys.get(key.alias).key_id == key.key_id
    leftovers = [p for p in (tmp_path / "kms").rglob("*") if p.name.endswith(".partial")]
    assert leftovers == []
