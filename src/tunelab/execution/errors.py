"""The error an attempt fails to start with (raised all through the execution layer)."""

from __future__ import annotations


class LaunchError(Exception):
    """The attempt cannot start; ``reason`` is its ``FailureReason``. ``internal``: the
    machinery failed (not the request or the program), so the job may be retried."""

    def __init__(self, reason: str, internal: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.internal = internal
