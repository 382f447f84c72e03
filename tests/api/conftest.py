"""An in-process tunelab server (uvicorn in a thread) on a free port, and boto3
clients for it."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
import uvicorn
from botocore.config import Config

from tunelab.api.app import Authenticate, Services, create_app
from tunelab.api.server import build_services
from tunelab.service.settings import Settings
from tunelab.store.sql.store import SqlStore


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    url: str
    services: Services
    store: SqlStore
    home: Path

    def client(self, key: str = "AKIDEXAMPLE", secret: str = "secret", **config: object):
        return boto3.client(
            "sagemaker",
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id=key,
            aws_secret_access_key=secret,
            config=Config(retries={"max_attempts": 1}, **config),
        )


def start_server(home: Path, authenticate: Authenticate | None = None) -> Iterator[Server]:
    settings = Settings(home=home, database_url=f"sqlite:///{home / 'tunelab.db'}",
                        stop_grace_seconds=2)
    store = SqlStore(settings.database_url)
    services = build_services(settings, store)
    app = create_app(services, authenticate)
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                            lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield Server(f"http://127.0.0.1:{port}", services, store, home)
    finally:
        server.should_exit = True
        thread.join(15)
        store.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    yield from start_server(tmp_path / "home")
