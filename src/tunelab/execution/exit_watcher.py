"""Noticing that host processes exited, without reaping them: a host started with a pidfd
is watched by a selector (its pidfd becomes readable when the process exits); one without
(no pidfd support) is asked every ``poll_interval`` seconds while :meth:`ExitWatcher.wait`
sleeps. The watcher owns the pidfds it watches and closes them with :meth:`forget`."""

from __future__ import annotations

import os
import selectors
import time
from collections.abc import Sequence

from tunelab.execution.hosts import HostProcess


class ExitWatcher:
    """The pidfds of running hosts, in one selector. Not thread-safe."""

    def __init__(self, poll_interval: float) -> None:
        """``poll_interval``: how often :meth:`wait` asks hosts without a pidfd."""
        self._poll_interval = poll_interval
        self._selector = selectors.DefaultSelector()

    def watch(self, host: HostProcess) -> None:
        """Watch ``host``'s pidfd (a host without one is left to :meth:`wait`'s polling)."""
        if host.pidfd is not None:
            self._selector.register(host.pidfd, selectors.EVENT_READ, host)

    def readable(self) -> set[HostProcess]:
        """The watched hosts whose pidfd is readable now (their process exited)."""
        return {key.data for key, _ in self._selector.select(0)}

    def wait(self, hosts: Sequence[HostProcess], timeout: float) -> None:
        """Sleep until a watched pidfd is readable or a host of ``hosts`` without a pidfd
        has exited, at most ``timeout`` seconds."""
        if all(host.pidfd is not None for host in hosts):
            self._selector.select(timeout)
            return
        end = time.monotonic() + timeout
        while True:
            if self._selector.select(0) or any(h.pidfd is None and h.exited() for h in hosts):
                return
            remaining = end - time.monotonic()
            if remaining <= 0:
                return
            time.sleep(min(self._poll_interval, remaining))

    def forget(self, host: HostProcess) -> None:
        """Stop watching ``host`` and close its pidfd (an exited host's pidfd stays
        readable). Raises KeyError or ValueError for a pidfd that was never watched."""
        if host.pidfd is not None:
            self._selector.unregister(host.pidfd)
            os.close(host.pidfd)
            host.pidfd = None

    def close_fds(self, host: HostProcess) -> None:
        """Close ``host``'s pidfd, watched or not, and its log descriptor."""
        try:
            self.forget(host)
        except (KeyError, ValueError):  # never registered
            if host.pidfd is not None:
                os.close(host.pidfd)
                host.pidfd = None
        if host.log_fd is not None:
            os.close(host.log_fd)
            host.log_fd = None

    def close(self) -> None:
        """Close the selector (the pidfds are closed by :meth:`close_fds`)."""
        self._selector.close()
