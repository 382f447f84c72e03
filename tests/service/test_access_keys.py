"""Access keys: another master key than the stored secrets' is refused before it makes a
key no server could verify."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tunelab.execution.clock import SystemClock
from tunelab.service.access_keys import AccessKeyService
from tunelab.service.secrets import SecretBox, SecretError
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
