"""Sign-in to the console with an access key, and the signed session cookie.

Sign-in checks the key's secret against tunelab's key store (the secrets stay
encrypted at rest). The session cookie names the key, when it expires and a
fingerprint of the key's secret, signed with HMAC-SHA256 under a key derived
(HKDF) from the home's master key: it cannot be forged without the master key,
and it stops working when its access key is deleted or recreated with another
secret. What a signed-in user may do follows the key's policy (``allows``, given
by the caller that knows how to read policies).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from tunelab.service.access_keys import AccessKeyService
from tunelab.service.secrets import MASTER_KEY_ENV, MASTER_KEY_FILE, SecretBox, SecretError

COOKIE = "tunelab_session"
SESSION_SECONDS = 12 * 3600
_INFO = b"tunelab console session v1"

Allows = Callable[[str, str], bool]
"""(policy text, SageMaker operation name) -> whether the policy allows it."""


def session_key(home: Path, env: Mapping[str, str] | None = None) -> bytes:
    """32 bytes derived from the home's master key (``TUNELAB_MASTER_KEY`` or
    ``<home>/master.key``, created if missing) for signing session cookies only."""
    env = os.environ if env is None else env
    SecretBox.for_home(home, env)  # creates master.key when it is missing
    master = env.get(MASTER_KEY_ENV, "").strip().encode()
    if not master:
        master = (Path(home) / MASTER_KEY_FILE).read_bytes().strip()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(master)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class User:
    """Who uses the console: an access key (None when the server runs without
    authentication) and what its policy allows."""

    access_key_id: str | None
    policy: str
    allows: Callable[[str], bool]


OPEN_USER = User(None, "full", lambda operation: True)


class ConsoleAuth:
    def __init__(
        self,
        keys: AccessKeyService,
        allows: Allows,
        key: bytes,
        cache_seconds: float = 5.0,
        session_seconds: float = SESSION_SECONDS,
    ) -> None:
        self.keys, self._allows, self._key = keys, allows, key
        self.cache_seconds, self.session_seconds = cache_seconds, session_seconds
        self._cache: dict[str, tuple[float, tuple[str, str] | None]] = {}
        self._lock = threading.Lock()

    def _credentials(self, access_key_id: str) -> tuple[str, str] | None:
        """(secret, policy), cached a few seconds (a deleted key stops working then)."""
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(access_key_id)
        if cached is not None and now - cached[0] < self.cache_seconds:
            return cached[1]
        try:
            found = self.keys.credentials(access_key_id)
        except SecretError:
            found = None
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[access_key_id] = (now, found)
        return found

    def _fingerprint(self, secret: str) -> str:
        digest = hmac.new(self._key, b"secret:" + secret.encode(), hashlib.sha256).digest()
        return _b64(digest[:12])

    def sign_in(self, access_key_id: str, secret: str) -> str | None:
        """A session cookie value when ``secret`` is the key's secret, else None."""
        found = self._credentials(access_key_id.strip()) if access_key_id.strip() else None
        if found is None or not hmac.compare_digest(found[0].encode(), secret.encode()):
            return None
        payload = {
            "k": access_key_id.strip(),
            "e": int(time.time() + self.session_seconds),
            "f": self._fingerprint(found[0]),
        }
        body = _b64(json.dumps(payload, separators=(",", ":")).encode())
        return f"{body}.{self._sign(body)}"

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode("ascii"), hashlib.sha256).digest())

    def user(self, cookie: str | None) -> User | None:
        """The signed-in user of a session cookie, or None (absent, forged, expired,
        or its key deleted or given another secret)."""
        if not cookie or cookie.count(".") != 1:
            return None
        body, signature = cookie.split(".")
        if not hmac.compare_digest(self._sign(body), signature):
            return None
        try:
            payload = json.loads(_unb64(body))
            key_id, expires, fingerprint = payload["k"], float(payload["e"]), payload["f"]
        except (ValueError, KeyError, TypeError):
            return None
        if expires < time.time():
            return None
        found = self._credentials(key_id)
        if found is None or not hmac.compare_digest(self._fingerprint(found[0]), fingerprint):
            return None
        policy = found[1]
        return User(key_id, policy, lambda operation: self._allows(policy, operation))
