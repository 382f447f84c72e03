"""Encryption of secrets at rest (access keys' secret keys) and generation of access keys.

The master key is a Fernet key taken from ``TUNELAB_MASTER_KEY`` when set, otherwise
from ``<home>/master.key``, which the first use creates with mode 0600. Creation is
atomic: the key is written to a private temporary file and hard-linked into place, which
fails if another process got there first; the loser then reads the winner's key, so
concurrent first uses agree on one key. Neither the key nor a secret is ever put in a
message.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import string
import tempfile
from collections.abc import Mapping
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from tunelab.domain.errors import TunelabError

MASTER_KEY_ENV = "TUNELAB_MASTER_KEY"
MASTER_KEY_FILE = "master.key"
ACCESS_KEY_PREFIX = "TLAK"
_KEY_ID_ALPHABET = string.ascii_uppercase + string.digits
_SECRET_ALPHABET = string.ascii_letters + string.digits + "+/"  # AWS's alphabet


class SecretError(TunelabError):
    """The master key is unusable, or a stored secret cannot be decrypted with it."""


class SecretBox:
    """Encrypts and decrypts short texts with one master key."""

    def __init__(self, key: bytes | str, source: str) -> None:
        """``key`` is a Fernet key (url-safe base64 of 32 bytes); ``source`` says where it
        came from, for error messages."""
        try:
            self._fernet = Fernet(key)
        except (ValueError, TypeError):
            raise SecretError(
                f"{source} does not hold a valid master key (a Fernet key: 32 url-safe "
                "base64-encoded bytes, e.g. from cryptography's Fernet.generate_key())"
            ) from None
        self.source = source

    @classmethod
    def for_home(cls, home: Path, env: Mapping[str, str] | None = None) -> SecretBox:
        """The box for a tunelab home: ``TUNELAB_MASTER_KEY`` (from ``env``, default
        ``os.environ``) wins; otherwise ``<home>/master.key``, created if missing."""
        env = os.environ if env is None else env
        value = env.get(MASTER_KEY_ENV, "").strip()
        if value:
            return cls(value, MASTER_KEY_ENV)
        path = Path(home) / MASTER_KEY_FILE
        return cls(_load_or_create(path), str(path))

    def encrypt(self, text: str) -> str:
        """An opaque ASCII token holding ``text`` (authenticated, so tampering is detected)."""
        return self._fernet.encrypt(text.encode()).decode("ascii")

    def decrypt(self, token: str) -> str:
        """The text inside ``token``; :class:`SecretError` if this master key did not
        make it or the token was altered."""
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode()
        except (InvalidToken, UnicodeError):
            raise SecretError(
                f"cannot decrypt a stored secret with the master key from {self.source}: "
                "it was encrypted with a different master key, or it is corrupt. Restore the "
                f"original key ({MASTER_KEY_ENV} or <home>/{MASTER_KEY_FILE})"
            ) from None

    def __repr__(self) -> str:
        return f"SecretBox(source={self.source!r})"


def generate_access_key() -> tuple[str, str]:
    """A new (access key id, secret access key) pair: the id is ``TLAK`` + 16 upper-case
    letters and digits (AWS's 20-character shape, told apart from real AWS keys), the
    secret 40 characters from AWS's alphabet (A-Z, a-z, 0-9, ``+``, ``/``), both from
    :mod:`secrets`."""
    key_id = ACCESS_KEY_PREFIX + "".join(secrets.choice(_KEY_ID_ALPHABET) for _ in range(16))
    secret = "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(40))
    return key_id, secret


def _load_or_create(path: Path) -> bytes:
    """The key in ``path``, creating it first (mode 0600, atomically) if it is missing."""
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{MASTER_KEY_FILE}.")
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, Fernet.generate_key() + b"\n")
        os.fsync(fd)
        os.close(fd)
        fd = -1
        with contextlib.suppress(FileExistsError):  # another process created it first
            os.link(temporary, path)
        _fsync_directory(path.parent)
    finally:
        if fd >= 0:
            os.close(fd)
        os.unlink(temporary)
    return path.read_bytes().strip()


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
