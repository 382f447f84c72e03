"""The error an attempt fails to start with (raised all through the execution layer)."""

from __future__ import annotations

from collections.abc import Callable


class LaunchError(Exception):
    """The attempt cannot start; ``reason`` is its ``FailureReason``. ``internal``: the
    machinery failed (not the request or the program), so the job may be retried."""

    def __init__(self, reason: str, internal: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.internal = internal


class LaunchStopped(LaunchError):
    """The attempt was told to stop while it started (staging its data, say): it ends
    Stopped, its program never run."""

    def __init__(self) -> None:
        super().__init__("Stopped while the training job was starting")


def check_stopped(stopped: Callable[[], bool] | None) -> None:
    """Raise :class:`LaunchStopped` if ``stopped`` says the attempt being started was told
    to stop (called between the steps of a start that may take long)."""
    if stopped is not None and stopped():
        raise LaunchStopped()
