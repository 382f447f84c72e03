"""``tunelab serve``: one process with the API, the scheduler and (later) the
console. Authentication is on unless ``no_auth``, which only a loopback address
may use."""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import socket
import sys
from collections.abc import Callable

from starlette.applications import Starlette

from tunelab.api.app import Services
from tunelab.execution.clock import Clock, SystemClock
from tunelab.service.algorithms import AlgorithmService
from tunelab.service.scheduler import Scheduler
from tunelab.service.settings import Settings
from tunelab.service.training import TrainingService
from tunelab.service.tuning import TuningService
from tunelab.store.base import Store

log = logging.getLogger("tunelab.server")


def build_services(
    settings: Settings, store: Store, clock: Clock | None = None, scheduler: bool = True
) -> Services:
    clock = clock or SystemClock()
    training = TrainingService(store, clock, settings.s3_root, settings)
    return Services(
        settings=settings,
        tuning=TuningService(settings, store, clock),
        training=training,
        algorithms=AlgorithmService(store, clock),
        scheduler=Scheduler(settings, store, clock, training.definition_of, tick_interval=0.1)
        if scheduler
        else None,
    )


def is_loopback(host: str) -> bool:
    """True when ``host`` names only this machine (127.0.0.0/8, ::1, localhost)."""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        return False
    return bool(addresses) and all(ipaddress.ip_address(a).is_loopback for a in addresses)


def run_server(
    app: Starlette, host: str, port: int, on_exit: Callable[[], None] | None = None
) -> None:
    """Serve ``app`` until SIGINT or SIGTERM; ``on_exit`` is called as the signal
    arrives, before uvicorn lets open requests finish (the scheduler starts no more
    training jobs then). Exits 3, as ``uvicorn.run``, when the server could not start."""
    import uvicorn

    from tunelab.api.uvicorn_server import ExitAwareServer

    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        proxy_headers=False,  # no X-Forwarded-* rewriting: nothing here reads the client address
        server_header=False,
    )
    server = ExitAwareServer(config, on_exit)
    with contextlib.suppress(KeyboardInterrupt):  # SIGINT raised again at the end, as uvicorn.run
        server.run()
    if not server.started:
        sys.exit(3)
