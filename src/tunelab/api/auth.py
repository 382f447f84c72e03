"""Authentication and authorization of API requests: SigV4 against tunelab's
credential store, then the key's policy. Decrypted secrets and parsed policies
are kept in memory for a few seconds (a deleted key stops working within
``cache_seconds``)."""

from __future__ import annotations

import threading
import time

from starlette.requests import Request

from tunelab.api.app import Caller
from tunelab.api.logs_wire import SIGNING_SERVICE, is_logs_action
from tunelab.api.policy import Policy
from tunelab.api.sigv4 import AuthError, verify
from tunelab.api.wire import ApiError
from tunelab.service.access_keys import AccessKeyService


class Authenticator:
    def __init__(
        self, keys: AccessKeyService, max_skew: float = 300.0, cache_seconds: float = 5.0
    ) -> None:
        self.keys, self.max_skew, self.cache_seconds = keys, max_skew, cache_seconds
        self._cache: dict[str, tuple[float, tuple[str, Policy] | None]] = {}
        self._lock = threading.Lock()

    def _lookup(self, access_key_id: str) -> tuple[str, Policy] | None:
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(access_key_id)
        if cached is not None and now - cached[0] < self.cache_seconds:
            return cached[1]
        found = self.keys.credentials(access_key_id)
        entry = None if found is None else (found[0], Policy.parse(found[1]))
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[access_key_id] = (now, entry)
        return entry

    def _secret(self, access_key_id: str) -> str | None:
        entry = self._lookup(access_key_id)
        return None if entry is None else entry[0]

    def __call__(self, request: Request, body: bytes, operation: str) -> Caller:
        """The caller of a verified request allowed to run ``operation``; raises
        ``ApiError`` with the AWS code otherwise. A CloudWatch Logs action
        (``logs:<Operation>``) must be signed for the service ``logs``, any other
        operation for ``sagemaker``."""
        scope = request.scope
        service = SIGNING_SERVICE if is_logs_action(operation) else "sagemaker"
        try:
            verified = verify(
                method=request.method,
                path=scope.get("raw_path", b"/").decode("ascii", "replace"),
                query=scope.get("query_string", b"").decode("ascii", "replace"),
                headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]],
                body=body,
                secret_for=self._secret,
                now=time.time(),
                max_skew=self.max_skew,
                service=service,
            )
            entry = self._lookup(verified.access_key_id)
            assert entry is not None
            entry[1].check(operation, verified.access_key_id)
        except AuthError as error:
            raise ApiError(error.code, error.message, error.status) from None
        return Caller(verified.access_key_id, verified.region)
