"""uvicorn's server, telling the caller the moment SIGINT or SIGTERM arrives.

uvicorn first lets open requests finish and only then runs the app's lifespan
shutdown (which stops the scheduler): the scheduler went on starting training jobs
for that while (~0.2 s). Imported only by ``run_server`` (uvicorn loads slowly).
"""

from __future__ import annotations

from collections.abc import Callable
from types import FrameType

import uvicorn


class ExitAwareServer(uvicorn.Server):
    """``on_exit`` is called in the signal handler, before uvicorn's own handling; it
    must not block."""

    def __init__(self, config: uvicorn.Config, on_exit: Callable[[], None] | None) -> None:
        super().__init__(config)
        self._on_exit = on_exit

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._on_exit is not None:
            self._on_exit()
        super().handle_exit(sig, frame)
