"""Ending the training processes a crashed driver left behind without holding up
anything else.

Ending a leftover process may take the executor's whole grace period (SIGTERM, then
SIGKILL when it ignores it: 120 s by default). Waited for in the loop's thread, that
would freeze every other training job of the tuning job, and in a server every other
tuning job too. So each job's leftover process is ended in a thread of its own
(``Executor.terminate_orphans`` keeps no state of the executor), while the loop goes
on; the job runs again only once :meth:`OrphanReaper.gone` says its process is gone.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

log = logging.getLogger("tunelab.orphans")

Terminate = Callable[[Sequence[tuple[int, int | None]]], int]
"""``Executor.terminate_orphans``: ends ``(pid, pid_start_time)`` processes, blocking."""


class OrphanReaper:
    """Ends leftover processes in the background, one thread per training job."""

    def __init__(self, terminate: Terminate) -> None:
        self._terminate = terminate
        self._threads: dict[str, threading.Thread] = {}

    def end(self, name: str, pid: int, pid_start_time: int | None) -> None:
        """Start ending training job ``name``'s leftover process (returns at once)."""
        thread = threading.Thread(
            target=self._end,
            args=(name, pid, pid_start_time),
            name=f"tunelab-orphan-{name}",
            daemon=True,
        )
        self._threads[name] = thread
        thread.start()

    def _end(self, name: str, pid: int, pid_start_time: int | None) -> None:
        try:
            self._terminate([(pid, pid_start_time)])
        except Exception:
            log.exception("training job %s: ending its leftover process %d failed", name, pid)

    def gone(self, name: str) -> bool:
        """True unless training job ``name``'s leftover process is still being ended."""
        thread = self._threads.get(name)
        return thread is None or not thread.is_alive()

    def pending(self) -> bool:
        """Whether any leftover process is still being ended."""
        return any(thread.is_alive() for thread in self._threads.values())
