"""``tunelab serve`` refuses a port it cannot listen on before anything starts: the
error alone (no "serving on" line, no scheduler resuming jobs), exit code 2 as for
other bad options."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

TUNELAB = str(Path(sys.executable).with_name("tunelab"))


def serve(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TUNELAB_HOME": str(tmp_path / "home")}
    return subprocess.run(
        [TUNELAB, "serve", "--no-auth", *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_a_port_in_use_is_refused_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = serve(tmp_path, "--port", str(port))
    assert result.returncode == 2, result.stderr
    assert result.stderr == (
        f"error: --port: cannot listen on 127.0.0.1:{port}: Address already in use\n"
    )
    assert not (tmp_path / "home").exists()  # nothing was opened


def test_a_port_out_of_range_is_a_usage_error(tmp_path: Path) -> None:
    for port in ("0", "65536", "-1"):
        result = serve(tmp_path, "--port", port)
        assert result.returncode == 2, result.stderr
        assert "--port" in result.stderr and "serving on" not in result.stderr


def test_a_host_it_cannot_listen_on_is_blamed_on_host(tmp_path: Path) -> None:
    env = {**os.environ, "TUNELAB_HOME": str(tmp_path / "home")}
    for host, reason in (
        ("10.255.255.1", "Cannot assign requested address"),  # no interface of this machine
        ("nonexistent.invalid", ""),  # no address at all (the resolver words the reason)
    ):
        result = subprocess.run(
            [TUNELAB, "serve", "--host", host, "--port", "18999"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith(
            f"error: --host: cannot listen on {host}:18999: {reason}"
        ), result.stderr
        assert not (tmp_path / "home").exists()  # nothing was opened
