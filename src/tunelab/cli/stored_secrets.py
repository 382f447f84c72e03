"""The home's stored secrets, for the commands that use them: its access keys, and the
master key check that every command storing a secret (``serve``, ``access-keys create``,
``kms create-key``) runs before anything else. Registers no command."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tunelab.service.access_keys import AccessKeyService
    from tunelab.service.settings import Settings
    from tunelab.store.sql.store import SqlStore


@contextmanager
def home_access_keys(
    verify_master_key: bool = False,
) -> Iterator[tuple[Settings, SqlStore, AccessKeyService]]:
    """The configured home's settings, store and access keys; the store is closed on exit.
    With ``verify_master_key``: first ``SecretError`` unless the master key decrypts every
    secret stored in the home (the access keys' and the KMS keys')."""
    from tunelab.execution.clock import SystemClock
    from tunelab.service.access_keys import AccessKeyService, check_master_key_decrypts_all
    from tunelab.service.dataplane import key_store
    from tunelab.service.secrets import SecretBox
    from tunelab.service.settings import Settings
    from tunelab.store.sql.store import SqlStore

    settings = Settings.from_env()
    settings.home.mkdir(parents=True, exist_ok=True)
    store = SqlStore(settings.database_url)
    try:
        keys = AccessKeyService(store, SecretBox.for_home(settings.home), SystemClock())
        if verify_master_key:
            check_master_key_decrypts_all(keys, key_store(settings))
        yield settings, store, keys
    finally:
        store.close()


def check_master_key() -> None:
    """``SecretError`` unless the master key decrypts every secret stored in the home."""
    with home_access_keys(verify_master_key=True):
        pass
