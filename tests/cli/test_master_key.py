"""Every command that stores a secret (``access-keys create``, ``kms create-key``) and
``serve`` refuse a master key that does not decrypt every secret already stored, the
access keys' and the KMS keys' alike, before anything is stored: a secret stored with
another key would leave no master key that decrypts them all. The refusal is a
configuration error (exit code 2) naming the master key's source and the secret."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from click.testing import Result
from cryptography.fernet import Fernet
from typer.testing import CliRunner

# imported first, as the console's tests import it: its commands register after the
# rest of tunelab.cli.app has run
from tunelab.cli import serve_commands  # noqa: F401  # isort: skip
from tunelab.cli.app import app


class Home:
    """``tunelab`` in this process on a private ``TUNELAB_HOME`` (its own master.key)."""

    def __init__(self, root: Path) -> None:
        self.vars: dict[str, str | None] = {
            "TUNELAB_HOME": str(root / "home"),
            "TUNELAB_DATABASE_URL": None,
            "TUNELAB_MASTER_KEY": None,
            "COLUMNS": "500",
        }

    def run(self, *args: str, master_key: str | None = None) -> Result:
        env = {**self.vars, "TUNELAB_MASTER_KEY": master_key}
        return CliRunner().invoke(app, list(args), env=env)


@pytest.fixture
def home(tmp_path: Path) -> Home:
    return Home(tmp_path)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def another_key() -> str:
    return Fernet.generate_key().decode()


def test_access_keys_are_refused_under_another_key_than_the_kms_keys(home: Home) -> None:
    assert home.run("kms", "create-key", "models").exit_code == 0
    other = another_key()
    refused = home.run("access-keys", "create", master_key=other)
    assert refused.exit_code == 2, refused.output
    assert refused.stdout == ""  # no secret printed: none stored
    assert refused.stderr.startswith("error: KMS key alias/models (")
    assert "master key from TUNELAB_MASTER_KEY" in refused.stderr
    assert "master.key" in refused.stderr
    listed = home.run("access-keys", "list", master_key=other)
    assert listed.exit_code == 0 and listed.stdout == "", listed.output
    served = home.run("serve", "--port", str(free_port()), master_key=other)
    assert served.exit_code == 2, served.output
    assert served.stderr == refused.stderr  # refused before serving
    # the home's own key still decrypts everything: it can add keys of both kinds
    assert home.run("access-keys", "create").exit_code == 0
    assert home.run("kms", "create-key", "more").exit_code == 0


def test_kms_keys_are_refused_under_another_key_than_the_access_keys(home: Home) -> None:
    created = home.run("access-keys", "create", "--access-key-id", "TLAKFIRSTKEY00000000")
    assert created.exit_code == 0, created.output
    other = another_key()
    refused = home.run("kms", "create-key", "models", master_key=other)
    assert refused.exit_code == 2, refused.output
    assert refused.stdout == ""
    assert refused.stderr.startswith("error: access key TLAKFIRSTKEY00000000: ")
    assert "master key from TUNELAB_MASTER_KEY" in refused.stderr
    listed = home.run("kms", "list", master_key=other)
    assert listed.exit_code == 0 and listed.stdout == "", listed.output
    assert home.run("kms", "create-key", "models").exit_code == 0  # the home's own key


def test_the_master_key_file_is_named_when_it_is_the_wrong_one(home: Home, tmp_path: Path) -> None:
    other = another_key()
    assert home.run("kms", "create-key", "models", master_key=other).exit_code == 0
    refused = home.run("access-keys", "create")  # the home's master.key, created now
    assert refused.exit_code == 2, refused.output
    master_file = tmp_path / "home" / "master.key"
    assert f"master key from {master_file}:" in refused.stderr


def test_an_invalid_master_key_is_a_configuration_error(home: Home) -> None:
    refused = home.run("access-keys", "list", master_key="not-a-fernet-key")
    assert refused.exit_code == 2, refused.output
    assert refused.stderr.startswith("error: TUNELAB_MASTER_KEY does not hold a valid master key")
