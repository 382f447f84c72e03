"""``tunelab serve`` as a real subprocess on a free port, with its own TUNELAB_HOME."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import httpx
from botocore.config import Config

from tests.api.conftest import FULL_KEY, REGION, Exchange
from tests.serving import free_port

TUNELAB = str(Path(sys.executable).with_name("tunelab"))


def tunelab_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a tunelab command for ``home`` (no AWS settings leak in)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TUNELAB_"))}
    env.update(TUNELAB_HOME=str(home), TUNELAB_STOP_GRACE_SECONDS="2", COLUMNS="200", **extra)
    return env


def tunelab(home: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TUNELAB, *args], env=tunelab_env(home), capture_output=True, text=True, timeout=timeout
    )


class Serve:
    """A running ``tunelab serve``; its stderr goes to ``<home>/../serve-<n>.log``."""

    def __init__(self, home: Path, *args: str, port: int | None = None, **env: str) -> None:
        self.home, self.port = home, port or free_port()
        self.exchanges: list[Exchange] = []
        self.url = f"http://127.0.0.1:{self.port}"
        home.mkdir(parents=True, exist_ok=True)
        number = len(list(home.parent.glob("serve-*.log")))
        self.log = home.parent / f"serve-{number}.log"
        self._log_file = self.log.open("w")
        self.process = subprocess.Popen(
            [TUNELAB, "serve", "--port", str(self.port), *args],
            env=tunelab_env(home, **env),
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"tunelab serve exited: {self.output()}")
            try:
                if httpx.get(f"{self.url}/ping", timeout=1).text == "ok":
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"tunelab serve did not start: {self.output()}")
            time.sleep(0.05)

    def output(self) -> str:
        if not self._log_file.closed:
            self._log_file.flush()
        return self.log.read_text()

    def client(self, key: tuple[str, str] = FULL_KEY, **config: Any) -> Any:
        """A boto3 client whose every response lands in ``self.exchanges``."""
        client = boto3.client(
            "sagemaker",
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id=key[0],
            aws_secret_access_key=key[1],
            config=Config(**{"retries": {"max_attempts": 1}, **config}),
        )

        def record(http_response: Any, model: Any, **_: Any) -> None:
            self.exchanges.append(
                Exchange(model.name, http_response.status_code, http_response.content)
            )

        client.meta.events.register("after-call.sagemaker", record)
        return client

    def kill(self) -> None:
        """``kill -9``: no shutdown of any kind."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        self._log_file.close()

    def stop(self) -> int:
        """Ctrl-C, as a user would; the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._log_file.close()
        return self.process.returncode


def create_key(home: Path, key: tuple[str, str] = FULL_KEY, policy: str = "full") -> None:
    """``tunelab access-keys create`` with a given id and secret."""
    result = tunelab(
        home,
        "access-keys",
        "create",
        "--access-key-id",
        key[0],
        "--secret-access-key",
        key[1],
        "--policy",
        policy,
    )
    assert result.returncode == 0, result.stderr
    assert f"AWS_ACCESS_KEY_ID={key[0]}" in result.stdout
