"""API credentials: access key ids with secrets encrypted at rest (the home's
master key) and a policy text (``full``, ``read-only`` or listed operations;
the API layer parses and enforces it). Secrets are shown once, at creation,
and never logged."""

from __future__ import annotations

from dataclasses import dataclass

from tunelab.domain.errors import ResourceNotFound
from tunelab.execution.clock import Clock
from tunelab.service.kms import KeyStore
from tunelab.service.secrets import SecretBox, SecretError, generate_access_key
from tunelab.store.base import Store
from tunelab.store.sql.registry import StoredAccessKey


@dataclass(frozen=True)
class AccessKey:
    access_key_id: str
    policy: str
    creation_time: float


class AccessKeyService:
    def __init__(self, store: Store, box: SecretBox, clock: Clock) -> None:
        self.store, self.box, self.clock = store, box, clock

    def create(
        self, policy: str, access_key_id: str | None = None, secret: str | None = None
    ) -> tuple[AccessKey, str]:
        """A new key (generated when ``access_key_id``/``secret`` are omitted) and its
        secret; ``ResourceInUse`` when the id exists."""
        self.check_master_key()  # a key made with another master key could never be used
        generated_id, generated_secret = generate_access_key()
        key_id, secret = access_key_id or generated_id, secret or generated_secret
        stored = StoredAccessKey(key_id, self.box.encrypt(secret), policy, self.clock.now())
        self.store.access_keys.create(stored)
        return AccessKey(key_id, policy, stored.creation_time), secret

    def check_master_key(self) -> None:
        """``SecretError`` naming the first stored key whose secret the master key cannot
        decrypt (it is not the one the secret was made with); nothing when there are none."""
        for stored in self.store.access_keys.list():
            try:
                self.box.decrypt(stored.encrypted_secret)
            except SecretError as error:
                raise SecretError(f"access key {stored.access_key_id}: {error.message}") from None

    def list(self) -> list[AccessKey]:
        return [
            AccessKey(k.access_key_id, k.policy, k.creation_time)
            for k in self.store.access_keys.list()
        ]

    def delete(self, access_key_id: str) -> None:
        self.store.access_keys.delete(access_key_id)

    def credentials(self, access_key_id: str) -> tuple[str, str] | None:
        """(secret, policy) of a key, or None when there is no such key."""
        stored = self.store.access_keys.get(access_key_id)
        if stored is None:
            return None
        return self.box.decrypt(stored.encrypted_secret), stored.policy

    def get(self, access_key_id: str) -> AccessKey:
        stored = self.store.access_keys.get(access_key_id)
        if stored is None:
            raise ResourceNotFound(f"Access key '{access_key_id}' does not exist")
        return AccessKey(stored.access_key_id, stored.policy, stored.creation_time)


def check_master_key_decrypts_all(access_keys: AccessKeyService, kms_keys: KeyStore) -> None:
    """``SecretError`` unless the master key decrypts every secret stored in the home: the
    access keys' secrets and the KMS keys' material (nothing stored: any valid key does).
    Every command that stores a secret calls it first: a secret stored with another master
    key would leave no key that decrypts them all, and ``tunelab serve`` refuses to start
    then. ``access_keys`` and ``kms_keys`` must hold the same master key."""
    access_keys.check_master_key()
    kms_keys.check_master_key()
