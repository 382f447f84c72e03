"""Access keys: another master key than the stored secrets' is refused before it makes a
key no server could verify; the check of both stores (access keys and KMS keys)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tunelab.execution.clock import SystemClock
from tunelab.service.access_keys import AccessKeyService, check_master_key_decrypts_all
from tunelab.service.kms import KeyStore
from tunelab.service.secrets import SecretBox, SecretError
from tunelab.store.sql.registry import StoredAccessKey
from tunelab.store.sql.store import SqlStore


def test_another_master_key_is_refused(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'tunelab.db'}")
    try:
        right = SecretBox(Fernet.generate_key(), "master.key")
        first = AccessKeyService(store, right, SystemClock())
        first.check_master_key()  # no keys yet: any master key will do
        key, secret = first.create("full")
        assert first.credentials(key.access_key_id) == (secret, "full")
        wrong = SecretBox(Fernet.generate_key(), "TUNELAB_MASTER_KEY")
        other = AccessKeyService(store, wrong, SystemClock())
        with pytest.raises(SecretError, match="master key from TUNELAB_MASTER_KEY"):
            other.check_master_key()
        with pytest.raises(SecretError):
            other.create("full")
        assert [k.access_key_id for k in first.list()] == [key.access_key_id]
    finally:
        store.close()


def test_every_stored_secret_is_checked_and_the_failing_key_named(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'tunelab.db'}")
    try:
        right = SecretBox(Fernet.generate_key(), "master.key")
        keys = AccessKeyService(store, right, SystemClock())
        keys.create("full", "TLAKFIRST00000000000")
        stray = SecretBox(Fernet.generate_key(), "another")  # e.g. a race on an empty home
        made = StoredAccessKey("TLAKSECOND0000000000", stray.encrypt("s"), "full", 1.0)
        store.access_keys.create(made)
        with pytest.raises(SecretError, match=r"^access key TLAKSECOND0000000000: cannot"):
            keys.check_master_key()
    finally:
        store.close()


def test_the_master_key_must_decrypt_the_secrets_of_both_stores(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'tunelab.db'}")
    try:
        right = SecretBox(Fernet.generate_key(), "master.key")
        wrong = SecretBox(Fernet.generate_key(), "TUNELAB_MASTER_KEY")
        KeyStore(tmp_path, box=right).create("models")
        other_keys = AccessKeyService(store, wrong, SystemClock())
        other_keys.check_master_key()  # no access keys: alone, it cannot tell
        with pytest.raises(SecretError, match=r"^KMS key alias/models .*TUNELAB_MASTER_KEY"):
            check_master_key_decrypts_all(other_keys, KeyStore(tmp_path, box=wrong))
        keys = AccessKeyService(store, right, SystemClock())
        check_master_key_decrypts_all(keys, KeyStore(tmp_path, box=right))
        keys.create("full", "TLAKFIRST00000000000")  # and the reverse: only access keys
        (tmp_path / "kms").rename(tmp_path / "kms-moved")
        with pytest.raises(SecretError, match=r"^access key TLAKFIRST00000000000: "):
            check_master_key_decrypts_all(other_keys, KeyStore(tmp_path, box=wrong))
    finally:
        store.close()
