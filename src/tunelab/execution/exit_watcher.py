"""Noticing that host processes exited, without reaping them: a host started with a pidfd
is watched by a selector (its pidfd becomes readable when the process exits); one without
(no pidfd support) is asked every ``poll_interval`` seconds while :meth:`ExitWatcher.wait`
sleeps; :meth:`ExitWatcher.wake` (from any thread) ends a wait early. The watcher owns the
pidfds it watches and closes them with :meth:`forget`."""

from __future__ import annotations

import os
import selectors
import time
from collections.abc import Sequence

from tunelab.execution.hosts import HostProcess
from tunelab.execution.wake_pipe import WakePipe


class ExitWatcher:
    """The pidfds of running hosts, in one selector. Not thread-safe, but for :meth:`wake`."""

    def __init__(self, poll_interval: float) -> None:
        """``poll_interval``: how often :meth:`wait` asks hosts without a pidfd."""
        self._poll_interval = poll_interval
        self._selector = selectors.DefaultSelector()
        self._wake = WakePipe()
        self._selector.register(self._wake.fileno(), selectors.EVENT_READ, None)

    def wake(self) -> None:
        """End the current or next :meth:`wait` early. Safe from any thread."""
        self._wake.set()

    def fileno(self) -> int:
        """The selector's own descriptor (an epoll one): readable while a watched pidfd
        or a wake is ready, to wait on together with others."""
        return self._selector.fileno()

    def watch(self, host: HostProcess) -> None:
        """Watch ``host``'s pidfd (a host without one is left to :meth:`wait`'s polling)."""
        if host.pidfd is not None:
            self._selector.register(host.pidfd, selectors.EVENT_READ, host)

    def readable(self) -> set[HostProcess]:
        """The watched hosts whose pidfd is readable now (their process exited)."""
        return {key.data for key, _ in self._select(0) if key.data is not None}

    def wait(self, hosts: Sequence[HostProcess], timeout: float) -> None:
        """Sleep until a watched pidfd is readable or a host of ``hosts`` without a pidfd
        has exited, at most ``timeout`` seconds."""
        if all(host.pidfd is not None for host in hosts):
            self._select(timeout)
            return
        end = time.monotonic() + timeout
        while True:
            if self._select(0) or any(h.pidfd is None and h.exited() for h in hosts):
                return
            remaining = end - time.monotonic()
            if remaining <= 0:
                return
            time.sleep(min(self._poll_interval, remaining))

    def _select(self, timeout: float) -> list[tuple[selectors.SelectorKey, int]]:
        """The selector's ready keys; a wake among them is consumed (and stays listed)."""
        ready = self._selector.select(timeout)
        if any(key.data is None for key, _ in ready):
            self._wake.drain()
        return ready

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
        """Close the selector and the wake pipe (the pidfds are closed by
        :meth:`close_fds`)."""
        self._selector.close()
        self._wake.close()
