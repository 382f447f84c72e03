"""``serve``'s uvicorn server tells the scheduler the moment SIGINT or SIGTERM
arrives, before uvicorn lets open requests finish."""

from __future__ import annotations

import signal

import uvicorn
from starlette.applications import Starlette

from tunelab.api.uvicorn_server import ExitAwareServer


def test_the_exit_signal_is_told_before_uvicorn_handles_it() -> None:
    seen: list[bool] = []
    server: ExitAwareServer

    def on_exit() -> None:
        seen.append(server.should_exit)

    server = ExitAwareServer(uvicorn.Config(Starlette()), on_exit)
    server.handle_exit(signal.SIGTERM, None)
    assert seen == [False]  # told first, then uvicorn's own handling
    assert server.should_exit
    server.handle_exit(signal.SIGINT, None)  # a second signal tells it again
    assert seen == [False, True]
