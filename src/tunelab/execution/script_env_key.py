"""The cache key of a script-mode job's requirements environment.

Two jobs share an environment exactly when their keys are equal. The key hashes this
interpreter, ``requirements.txt`` and every local path it names that exists: a file
(a wheel, an sdist) by its content, a directory (a project pip builds and installs) by
the relative paths and contents of its files, so editing a local package gives a new
environment instead of reusing one built from the old code. Requirement files named by
``-r`` / ``-c`` are followed (relative to the file naming them, as pip reads them); a
local path inside one counts whether it is taken relative to the code directory (pip's
working directory) or to that file. Paths enter the key relative to the code directory,
so the same sources unpacked for another job give the same key. Caches and build output
inside a local directory (:data:`IGNORED_DIRECTORIES`, ``*.egg-info``, ``*.pyc``) do not
count: pip's in-tree builds write them.

Standard library only: the job's toolkit step (:mod:`tunelab.execution.script_entry`)
imports it before any environment exists.
"""

from __future__ import annotations

import hashlib
import os
import sys

REQUIREMENTS = "requirements.txt"
KEY_VERSION = b"tunelab-script-env-2"
INCLUDE_OPTIONS = ("-r", "-c", "--requirement", "--constraint")
IGNORED_DIRECTORIES = frozenset(
    {"__pycache__", ".git", ".hg", ".svn", ".tox", ".nox", ".venv", ".eggs", "build", "dist"}
)


def environment_key(code: str) -> str:
    """A 24-hex-digit key of ``code/requirements.txt`` as described in the module doc."""
    digest = hashlib.sha256(KEY_VERSION)
    for part in (sys.executable, sys.version):
        digest.update(b"\0" + part.encode())
    with open(os.path.join(code, REQUIREMENTS), "rb") as f:
        digest.update(b"\0" + f.read())
    for relative in sorted(local_paths(code, REQUIREMENTS)):
        digest.update(b"\0" + relative.encode() + b"\0" + _path_hash(os.path.join(code, relative)))
    return digest.hexdigest()[:24]


def local_paths(code: str, requirements: str) -> set[str]:
    """The existing files and directories that ``code/requirements`` names, and those its
    ``-r`` / ``-c`` files name in turn, as normalized paths relative to ``code``."""
    found: set[str] = set()
    pending, read = [requirements], set()
    while pending:
        name = pending.pop()
        if name in read:
            continue
        read.add(name)
        with open(os.path.join(code, name), "rb") as f:
            text = f.read().decode(errors="replace")
        base = os.path.dirname(name)
        for option, token in _tokens(text):
            if option in INCLUDE_OPTIONS:  # relative to the file naming it
                relative = os.path.normpath(os.path.join(base, token))
                if os.path.isfile(os.path.join(code, relative)):
                    found.add(relative)
                    pending.append(relative)
                continue
            for relative in {os.path.normpath(token), os.path.normpath(os.path.join(base, token))}:
                if os.path.exists(os.path.join(code, relative)):
                    found.add(relative)
    return found


def _tokens(text: str) -> list[tuple[str, str]]:
    """(option before it or "", token) for each token of each line, comments cut."""
    tokens = []
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            continue
        option = ""
        for token in line.split(" #")[0].split():
            if token.startswith("-") and "=" in token:
                option, token = token.split("=", 1)
            elif token.startswith("-"):
                option = token
                continue
            tokens.append((option, token.removeprefix("file:")))
            option = ""
    return tokens


def _path_hash(path: str) -> bytes:
    if os.path.isfile(path):
        return _file_hash(path)
    digest = hashlib.sha256()
    for folder, directories, files in os.walk(path):
        directories[:] = sorted(d for d in directories if not _ignored(d))
        for name in sorted(files):
            if name.endswith((".pyc", ".pyo")):
                continue
            full = os.path.join(folder, name)
            relative = os.path.relpath(full, path)
            digest.update(relative.encode() + b"\0" + _file_hash(full) + b"\0")
    return digest.digest()


def _ignored(directory: str) -> bool:
    return directory in IGNORED_DIRECTORIES or directory.endswith(".egg-info")


def _file_hash(path: str) -> bytes:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.digest()
