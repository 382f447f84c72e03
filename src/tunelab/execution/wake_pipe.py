"""A pipe that wakes a thread waiting on descriptors: any thread writes to it
(:meth:`WakePipe.set`), the waiting one has its read end among the descriptors it polls
and empties it (:meth:`WakePipe.drain`) once awake."""

from __future__ import annotations

import contextlib
import os


class WakePipe:
    """Both ends non-blocking; a wake pending while the pipe is full is not lost (the
    pipe is readable anyway)."""

    def __init__(self) -> None:
        self._read, self._write = os.pipe()
        os.set_blocking(self._read, False)
        os.set_blocking(self._write, False)

    def fileno(self) -> int:
        """The read end: readable while a wake is pending."""
        return self._read

    def set(self) -> None:
        """Wake the current or next waiter. Safe from any thread."""
        with contextlib.suppress(OSError):  # full: a wake is pending anyway
            os.write(self._write, b"w")

    def drain(self) -> None:
        """Take every pending wake."""
        with contextlib.suppress(BlockingIOError):
            while os.read(self._read, 4096):
                pass

    def close(self) -> None:
        os.close(self._read)
        os.close(self._write)
