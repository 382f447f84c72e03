"""Secrets at rest: the master key (env or file), encryption round trip, errors, and
access key generation."""

from __future__ import annotations

import multiprocessing
import os
import re
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tunelab.service import secrets as module
from tunelab.service.secrets import (
    MASTER_KEY_ENV,
    SecretBox,
    SecretError,
    generate_access_key,
)

NO_ENV: dict[str, str] = {}


def test_round_trip_and_the_key_file_is_private(tmp_path: Path) -> None:
    home = tmp_path / "home"
    old_umask = os.umask(0)
    try:
        box = SecretBox.for_home(home, NO_ENV)
    finally:
        os.umask(old_umask)
    token = box.encrypt("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    assert "wJalrXUtnFEMI" not in token
    assert box.decrypt(token) == "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    key_file = home / "master.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert sorted(p.name for p in home.iterdir()) == ["master.key"]  # no temporary left


def test_the_key_file_is_reused(tmp_path: Path) -> None:
    token = SecretBox.for_home(tmp_path, NO_ENV).encrypt("é and ünïcode")
    key = (tmp_path / "master.key").read_bytes()
    assert SecretBox.for_home(tmp_path, NO_ENV).decrypt(token) == "é and ünïcode"
    assert (tmp_path / "master.key").read_bytes() == key


def test_the_environment_key_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_key = Fernet.generate_key().decode()
    SecretBox.for_home(tmp_path, NO_ENV)  # a file key exists too
    monkeypatch.setenv(MASTER_KEY_ENV, env_key)
    box = SecretBox.for_home(tmp_path)
    assert box.source == MASTER_KEY_ENV
    assert Fernet(env_key.encode()).decrypt(box.encrypt("s").encode()) == b"s"
    assert not (tmp_path / "other").exists()
    SecretBox.for_home(tmp_path / "other")
    assert not (tmp_path / "other").exists()  # the env key never creates a file


def test_a_wrong_key_gives_a_clear_error(tmp_path: Path) -> None:
    token = SecretBox(Fernet.generate_key(), "first").encrypt("s3cr3t")
    box = SecretBox.for_home(tmp_path, NO_ENV)
    with pytest.raises(SecretError) as caught:
        box.decrypt(token)
    message = str(caught.value)
    assert "encrypted with a different master key" in message
    assert str(tmp_path / "master.key") in message
    assert "s3cr3t" not in message
    assert (tmp_path / "master.key").read_text().strip() not in message


def test_a_tampered_token_is_refused(tmp_path: Path) -> None:
    box = SecretBox.for_home(tmp_path, NO_ENV)
    token = box.encrypt("s3cr3t")
    with pytest.raises(SecretError):
        box.decrypt(token[:-4] + ("AAAA" if token[-4:] != "AAAA" else "BBBB"))
    with pytest.raises(SecretError):
        box.decrypt("not a token at all ✗")


def test_an_invalid_master_key_is_named(tmp_path: Path) -> None:
    with pytest.raises(SecretError, match=f"^{MASTER_KEY_ENV} does not hold a valid master key"):
        SecretBox.for_home(tmp_path, {MASTER_KEY_ENV: "too-short"})
    (tmp_path / "master.key").write_text("garbage\n")
    with pytest.raises(SecretError, match=r"master\.key does not hold a valid master key"):
        SecretBox.for_home(tmp_path, NO_ENV)


def test_losing_the_creation_race_adopts_the_winners_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process publishes its key between our check and our link: we must use it."""
    winner = Fernet.generate_key()
    generate = Fernet.generate_key

    def racing_generate() -> bytes:
        (tmp_path / "master.key").write_bytes(winner + b"\n")
        return generate()

    monkeypatch.setattr(module.Fernet, "generate_key", staticmethod(racing_generate))
    box = SecretBox.for_home(tmp_path, NO_ENV)
    assert Fernet(winner).decrypt(box.encrypt("x").encode()) == b"x"
    assert (tmp_path / "master.key").read_bytes() == winner + b"\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["master.key"]


def _create_in_child(home: str, barrier, results) -> None:
    barrier.wait()
    box = SecretBox.for_home(Path(home), {})
    results.put(box.encrypt(f"from {os.getpid()}"))


def test_concurrent_first_use_from_several_processes_yields_one_key(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    count = 4
    barrier = context.Barrier(count)
    results = context.Queue()
    processes = [
        context.Process(target=_create_in_child, args=(str(tmp_path), barrier, results))
        for _ in range(count)
    ]
    for process in processes:
        process.start()
    tokens = [results.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    box = SecretBox.for_home(tmp_path, NO_ENV)
    assert sorted(box.decrypt(t) for t in tokens) == sorted(f"from {p.pid}" for p in processes)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["master.key"]


def test_generated_access_keys() -> None:
    pairs = [generate_access_key() for _ in range(200)]
    for key_id, secret in pairs:
        assert re.fullmatch(r"TLAK[A-Z0-9]{16}", key_id)
        assert re.fullmatch(r"[A-Za-z0-9+/]{40}", secret)
    assert len({k for k, _ in pairs}) == len({s for _, s in pairs}) == 200
    alphabet = {c for _, s in pairs for c in s}
    assert {"a", "Z", "0"} <= alphabet  # mixed case and digits are really used
