"""tunelab's key store, the local counterpart of the AWS KMS keys that
``OutputDataConfig.KmsKeyId`` names: 256-bit AES keys kept as files under
``$TUNELAB_HOME/kms/``, each encrypted at rest with the master key (:class:`SecretBox`,
like the access keys' secrets), directory mode 0700, files 0600.

- ``kms/keys/<key id>.json``: ``KeyId`` (a UUID), ``Alias``, ``CreationTime`` and the
  encrypted key material;
- ``kms/aliases/<name>``: the key id of ``alias/<name>``, linked into place whole once the
  key's file is, and only if the name is free, so that two concurrent ``create-key`` calls
  cannot take the same alias and a reader never sees an alias without its key.

Every file is written under a temporary name of its writer's own, then renamed or linked.

A key is named as KMS names it: its id, its ARN (``arn:aws:kms:<region>:<account>:key/<id>``),
``alias/<name>`` or the alias ARN.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import secrets
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tunelab.domain.errors import ResourceInUse, ResourceNotFound, ValidationError
from tunelab.execution.storage import partial_name
from tunelab.service.secrets import SecretBox, SecretError

_ALIAS = re.compile(r"[A-Za-z0-9/_-]{1,250}")
_KEY_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass(frozen=True)
class KmsKey:
    key_id: str
    alias: str
    arn: str
    creation_time: float


class KeyStore:
    def __init__(
        self,
        home: Path,
        region: str = "us-east-1",
        account: str = "123456789012",
        box: SecretBox | None = None,
    ) -> None:
        """``box``: the master key's box (default: the home's, created on first use)."""
        self.root = Path(home) / "kms"
        self.region, self.account = region, account
        self._home = Path(home)
        self._box = box

    @property
    def box(self) -> SecretBox:
        if self._box is None:
            self._box = SecretBox.for_home(self._home)
        return self._box

    def check_master_key(self) -> None:
        """``SecretError`` naming the first stored key that the master key cannot decrypt
        (it is not the one the key was made with); nothing when there are none."""
        for path, record in self._records():
            try:
                self.box.decrypt(record["EncryptedKey"])
            except SecretError as error:
                raise SecretError(f"KMS key {record['Alias']} ({path}): {error.message}") from None

    def create(self, name: str) -> KmsKey:
        """A new key with the alias ``alias/<name>`` (``ResourceInUse`` if taken;
        ``SecretError`` when the master key is not the stored keys' one)."""
        self.check_master_key()
        alias = name.removeprefix("alias/")
        if not _ALIAS.fullmatch(alias) or alias.startswith("aws/"):
            raise ValidationError(
                f"key name {name!r}: 1-250 letters, digits, '/', '_' or '-', not starting "
                "with aws/ (KMS's alias rules)"
            )
        for folder in (self.root, self.root / "keys", self.root / "aliases"):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        key_id = str(uuid.uuid4())
        alias_file = self.root / "aliases" / alias.replace("/", "%2F")
        taken = ResourceInUse(f"a key with the alias alias/{alias} already exists")
        if alias_file.exists():
            raise taken
        material = base64.b64encode(secrets.token_bytes(32)).decode()
        record = {
            "KeyId": key_id,
            "Alias": f"alias/{alias}",
            "CreationTime": time.time(),
            "EncryptedKey": self.box.encrypt(material),
        }
        key_file = self.root / "keys" / f"{key_id}.json"
        _write_private(key_file, json.dumps(record))
        try:
            _write_private(alias_file, key_id, exclusive=True)
        except FileExistsError:
            key_file.unlink()
            raise taken from None
        return self._key(record)

    def list(self) -> list[KmsKey]:
        keys = [self._key(record) for _, record in self._records()]
        return sorted(keys, key=lambda k: k.creation_time)

    def _records(self) -> Iterator[tuple[Path, dict]]:
        """Every stored key's file and record, by file name; a file removed while this
        runs (a ``create`` that lost its alias to another) is left out."""
        folder = self.root / "keys"
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            try:
                yield path, json.loads(path.read_text())
            except FileNotFoundError:
                continue

    def find(self, key_id: str) -> KmsKey | None:
        """The key ``key_id`` names (id, key ARN, ``alias/<name>`` or alias ARN)."""
        record = self._record(key_id)
        return None if record is None else self._key(record)

    def data_key(self, key_id: str) -> tuple[str, bytes]:
        """(key id, 32-byte AES key) of the key ``key_id`` names; ``KeyError`` if none."""
        record = self._record(key_id)
        if record is None:
            raise KeyError(key_id)
        return record["KeyId"], base64.b64decode(self.box.decrypt(record["EncryptedKey"]))

    def get(self, key_id: str) -> KmsKey:
        found = self.find(key_id)
        if found is None:
            raise ResourceNotFound(f"no key {key_id!r} in tunelab's key store")
        return found

    def _record(self, name: str) -> dict | None:
        ident = name.rsplit(":", 1)[-1] if name.startswith("arn:") else name
        if ident.startswith("alias/"):
            alias_file = self.root / "aliases" / ident.removeprefix("alias/").replace("/", "%2F")
            try:
                ident = alias_file.read_text().strip()
            except (FileNotFoundError, NotADirectoryError):
                return None
        elif ident.startswith("key/"):
            ident = ident.removeprefix("key/")
        if not _KEY_ID.fullmatch(ident):
            return None
        try:
            return json.loads((self.root / "keys" / f"{ident}.json").read_text())
        except FileNotFoundError:
            return None

    def _key(self, record: dict) -> KmsKey:
        key_id = record["KeyId"]
        arn = f"arn:aws:kms:{self.region}:{self.account}:key/{key_id}"
        return KmsKey(key_id, record["Alias"], arn, float(record["CreationTime"]))


def _write_private(path: Path, text: str, exclusive: bool = False) -> None:
    """Write ``text`` to ``path``, readable by its owner only, atomically: through a
    temporary file of this writer's own (removed whatever happens), renamed over ``path``;
    ``exclusive``: linked instead, ``FileExistsError`` if ``path`` exists."""
    partial = Path(partial_name(str(path)))
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        if exclusive:
            os.link(partial, path)
        else:
            os.replace(partial, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
