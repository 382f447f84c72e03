"""Joining a Ray cluster from a tunelab process (the driver of its training jobs).

:func:`connect` checks the address first (Ray itself retries an address where nothing
answers for minutes and prints tracebacks for malformed ones), keeps this process's SIGINT
and SIGTERM handlers (``ray.init`` installs its own, which print a crash dump), and sends
the cluster's messages that Ray's driver prints to stderr, away from a ``--json``
document on stdout.
"""

from __future__ import annotations

import logging
import signal
import socket
import threading
from typing import Any

import ray
from ray._private import worker as ray_worker

CONNECT_TIMEOUT = 5.0
"""Seconds to wait for the cluster's address to accept a connection."""


def connect(address: str) -> None:
    """Join the Ray cluster at ``address`` (``auto``, the head's ``host:port``; ``local``:
    start one in this process) unless this process has joined one already, keeping this
    process's SIGINT and SIGTERM handlers. Raises ``ValueError`` for another form of
    address and ``ConnectionError`` when nothing answers there (Ray itself would retry for
    minutes)."""
    if ray.is_initialized():
        return
    options: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.ERROR}
    check_address(address)
    handlers = _signal_handlers()
    if address == "local":
        ray.init(address="local", include_dashboard=False, **options)
    else:
        ray.init(address=address, **options)
    for signum, handler in handlers.items():  # Ray's own handlers would print a crash dump
        signal.signal(signum, handler)
    _cluster_messages_to_stderr()


def check_address(address: str) -> None:
    """Check ``address`` without joining: ``auto`` and ``local`` pass; a ``host:port``
    must accept a TCP connection within :data:`CONNECT_TIMEOUT`. Raises ``ValueError``
    for another form and ``ConnectionError`` when nothing answers."""
    if address in ("auto", "local"):
        return
    if address.startswith("ray://"):
        raise ValueError(
            "Ray Client addresses (ray://) are not supported: give the head node's "
            "host:port (6379 unless ray start --port said otherwise), or auto"
        )
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"expected auto, local or host:port; got {address!r}")
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT).close()
    except OSError as exc:
        raise ConnectionError(f"nothing answers at {host}:{port} ({exc})") from None


def _cluster_messages_to_stderr() -> None:
    """Ray's driver prints the cluster's error messages ("A worker died ...") on stdout,
    where ``tunelab run --json`` writes its document: send them to stderr. (Ray 2.60's
    ``print_to_stdstream``; left alone where a Ray version has none.)"""
    original = getattr(ray_worker, "print_to_stdstream", None)
    if original is None or getattr(original, "to_stderr", False):
        return

    def to_stderr(data: dict[str, Any], ignore_prefix: bool) -> None:
        original({**data, "is_err": True}, ignore_prefix)

    to_stderr.to_stderr = True  # type: ignore[attr-defined]
    ray_worker.print_to_stdstream = to_stderr


def _signal_handlers() -> dict[int, Any]:
    """This process's Python handlers of SIGINT and SIGTERM (none outside the main thread,
    where they cannot be set again)."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    return {s: h for s, h in handlers.items() if h is not None}
