"""Where data lives: locations (``s3://``, ``file://``, local paths) resolved to an fsspec
filesystem and a path in it, and listing of ``S3Prefix`` objects.

``s3://bucket/key`` names tunelab's local object store (``s3_root/bucket/key``) unless an
S3 endpoint is configured (``AWS_ENDPOINT_URL_S3``), in which case it is read and written
through s3fs (the ``s3`` extra) with the endpoint and the usual AWS credentials.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import re
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass

import fsspec
from fsspec import AbstractFileSystem

from tunelab.execution.contract import LaunchError
from tunelab.execution.uris import UnsafeS3Uri, local_path, s3_key_problem, unsafe_segment

KeyLookup = Callable[[str], tuple[str, bytes]]
"""A ``KmsKeyId`` (id, ARN, alias or alias ARN) -> (the key's id, its 32-byte AES key);
raises ``KeyError`` for an unknown key."""
Authorize = Callable[[str, str, str], str | None]
"""(role ARN, location, "read" | "write") -> why the role may not, or None when it may."""


@dataclass(frozen=True)
class DataPlane:
    """How an executor reaches data: the local object store (``s3_root``) or an S3 endpoint,
    the key store for ``KmsKeyId`` and the role rules; ``checkpoint_interval`` is the
    seconds between checkpoint syncs."""

    s3_root: str | None = None
    s3_endpoint: str | None = None
    kms: KeyLookup | None = None
    authorize: Authorize | None = None
    checkpoint_interval: float = 5.0

    @classmethod
    def default(cls, s3_root: str | None = None) -> DataPlane:
        """The object store ``s3_root``; without one, ``AWS_ENDPOINT_URL_S3`` if set."""
        endpoint = None if s3_root else os.environ.get("AWS_ENDPOINT_URL_S3") or None
        return cls(s3_root=s3_root, s3_endpoint=endpoint)

    @classmethod
    def of(cls, value: DataPlane | str | None) -> DataPlane:
        """``value`` itself, or the default plane of an object store root (or of none)."""
        return value if isinstance(value, DataPlane) else cls.default(value)


@dataclass(frozen=True)
class Location:
    """A resolved location: ``fs`` and ``path`` in it; ``uri`` as the user wrote it."""

    fs: AbstractFileSystem
    path: str
    uri: str

    @property
    def is_local(self) -> bool:
        return "file" in _protocols(self.fs)

    def child(self, relative: str) -> Location:
        """The location ``relative`` below this one (``/`` separated)."""
        uri = self.uri.rstrip("/") + "/" + relative
        return Location(self.fs, posixpath.join(self.path.rstrip("/"), relative), uri)


def _protocols(fs: AbstractFileSystem) -> tuple[str, ...]:
    protocol = fs.protocol
    return (protocol,) if isinstance(protocol, str) else tuple(protocol)


def resolve(uri: str, plane: DataPlane) -> Location:
    """The filesystem and path of ``uri``; :class:`LaunchError` when it is not reachable,
    or an ``s3://`` URI :func:`~tunelab.execution.uris.s3_key_problem` refuses (local object
    store or S3 endpoint alike)."""
    problem = s3_key_problem(uri)
    if problem is not None:
        raise LaunchError(problem)
    try:
        path = local_path(uri, plane.s3_root)
    except UnsafeS3Uri as exc:
        raise LaunchError(str(exc)) from None
    if path is not None:
        return Location(fsspec.filesystem("file"), path, uri)
    if uri.startswith("s3://") and plane.s3_endpoint:
        try:
            fs = fsspec.filesystem("s3", client_kwargs={"endpoint_url": plane.s3_endpoint})
        except (ImportError, ValueError) as exc:
            raise LaunchError(
                f"{uri}: reading s3:// from {plane.s3_endpoint} needs s3fs "
                f"(pip install 'tunelab[s3]'): {exc}"
            ) from exc
        return Location(fs, uri[len("s3://") :], uri)
    scheme = uri.split("://", 1)[0] if "://" in uri else uri
    raise LaunchError(
        f"{uri}: {scheme}:// locations are not reachable here (s3:// needs tunelab's local "
        "object store or AWS_ENDPOINT_URL_S3)"
    )


def exists(location: Location) -> bool:
    try:
        return bool(location.fs.exists(location.path))
    except OSError:
        return False


def prefix_objects(location: Location) -> list[tuple[Location, str]]:
    """Every object (file) an ``S3Prefix`` names, with its name relative to the prefix,
    sorted by name. A local path names a directory's files or one file; an ``s3://`` key
    prefix names every key that starts with it. Names never collide: below ``train/``, or
    ``train`` when only keys below ``train/`` match, a key is named relative to that folder
    (``a.csv``); otherwise relative to the prefix's folder (everything up to its last
    ``/``): ``s3://b/data`` matching ``data.csv`` and ``data/data.csv`` names them so.
    Folder markers (keys ending in ``/``) are not objects. :class:`LaunchError` for a key
    that cannot be a file name (a ``.``, ``..`` or empty segment, on an S3 endpoint)."""
    fs, path = location.fs, location.path
    key = location.uri[len("s3://") :].partition("/")[2]
    found: list[tuple[str, str]] = []
    if not location.uri.startswith("s3://") or not key or key.endswith("/"):
        if fs.isdir(path):
            root = _normal(fs, path)
            found = [(item, _relative(location, item, root)) for item in _files(fs, root)]
        elif fs.isfile(path):
            found = [(path, posixpath.basename(path))]
    else:
        parent, _, stem = path.rpartition("/")
        parent = _normal(fs, parent) if parent else parent
        if parent and fs.isdir(parent):
            folders, files = [], []
            for entry in fs.ls(parent, detail=True):
                raw = str(entry["name"])
                name = raw.rstrip("/")
                if not posixpath.basename(name).startswith(stem) or name == parent:
                    continue
                if entry["type"] == "directory":
                    folders.append(name)
                elif not raw.endswith("/"):  # a folder marker is no object
                    files.append(name)
            exact = parent + "/" + stem
            # only the folder ``train`` matches ``train``: it is the channel's root, as for
            # ``train/``; else every name keeps its key below the prefix's folder.
            cut = exact if folders == [exact] and not files else parent
            for folder in folders:
                found += [(item, _relative(location, item, cut)) for item in _files(fs, folder)]
            found += [(name, _relative(location, name, cut)) for name in files]
    return [(Location(fs, item, _uri_of(location, item)), rel) for item, rel in sorted(found)]


def _normal(fs: AbstractFileSystem, path: str) -> str:
    """``path`` as ``fs`` names what it lists (absolute, for a local one), without a
    trailing ``/``."""
    return str(fs._strip_protocol(path)).rstrip("/")


def _files(fs: AbstractFileSystem, root: str) -> list[str]:
    """The files below ``root``, without folder markers (S3 keys ending in ``/``)."""
    return [str(item) for item in fs.find(root) if not str(item).endswith("/")]


def _relative(base: Location, item: str, root: str) -> str:
    """``item``'s name below ``root`` (a plain ``/``-separated relative path)."""
    relative = item[len(root) + 1 :] if item.startswith(root + "/") else item
    if not item.startswith(root + "/") or unsafe_segment(relative) is not None:
        raise LaunchError(
            f"{_uri_of(base, item)}: the object's key relative to {base.uri} is {relative!r}, "
            "which cannot be a file name (a '.', '..' or empty segment)"
        )
    return relative


def _uri_of(base: Location, path: str) -> str:
    """The URI of ``path`` (found at or below ``base``) in ``base``'s notation."""
    if base.uri.startswith("s3://") and not base.is_local:
        return "s3://" + path
    folder = base.path if base.path.endswith("/") else posixpath.dirname(base.path)
    folder_uri = base.uri if base.uri.endswith("/") else base.uri.rsplit("/", 1)[0]
    return folder_uri.rstrip("/") + "/" + posixpath.relpath(path, folder)


class ObjectClash(OSError):
    """Writing an object would need a key to be both an object and a prefix, which a
    local folder cannot hold; ``str()`` names both."""

    def __str__(self) -> str:
        return str(self.args[0])


def object_clash(path: str, uri: str) -> str | None:
    """Why the object ``uri`` cannot be written to the local file ``path`` (the object
    store keeps ``s3://b/k`` as the file ``b/k``, so ``k`` cannot be an object and a
    prefix at once; a local ``uri`` is a file): ``path`` is a folder, or a folder it needs
    is a file. None if it can."""
    if os.path.isdir(path):
        inside = next((os.path.join(r, f) for r, _, fs in os.walk(path) for f in sorted(fs)), None)
        held = uri.rstrip("/") + "/" + os.path.relpath(inside, path) if inside else uri + "/"
        return clash_message(uri, held)
    held = object_in_the_way(os.path.dirname(path), uri.rsplit("/", 1)[0])
    if held is None:
        return None
    return clash_message(uri, f"the {'object' if _in_object_store(uri) else 'file'} {held}")


def clash_message(uri: str, held: str) -> str:
    """Why ``uri`` cannot be written: ``held`` (what exists) is in its way. Worded for
    where ``uri`` is: tunelab's local object store (``s3://``) or a local path."""
    if _in_object_store(uri):
        return (
            f"{uri}: {held} exists, and a key cannot be both an object and a prefix in "
            "tunelab's local object store"
        )
    return f"{uri}: {held} exists, and a local path cannot be both a file and a folder"


def _in_object_store(uri: str) -> bool:
    """A local file of ``uri`` is in tunelab's local object store (else a local path or
    a ``file://`` URI): an ``s3://`` URI checked for clashes is the store's."""
    return uri.startswith("s3://")


def object_in_the_way(folder: str, uri: str) -> str | None:
    """The URI of the file at or above the local ``folder`` (named ``uri``) that keeps it
    from being a folder of the object store, or None."""
    depth = 0
    while folder and not os.path.lexists(folder):
        folder, depth = os.path.dirname(folder), depth + 1
    if folder and not os.path.isdir(folder):
        return uri.rsplit("/", depth)[0] if depth else uri
    return None


def check_no_clash(target: Location) -> None:
    """:class:`ObjectClash` when the local ``target`` cannot be written as a file: it is a
    folder, or a folder it needs is a file (see :func:`object_clash`)."""
    clash = object_clash(target.path, target.uri)
    if clash is not None:
        raise ObjectClash(clash)


PARTIAL = ".partial"
"""The suffix of a file being written (:func:`partial_name`): listings and checkpoint
syncs skip such files."""


def partial_name(path: str) -> str:
    """A temporary name beside ``path`` for one writer (this process id and a random
    token, ending in :data:`PARTIAL`), so that concurrent writers of ``path`` (two
    processes packing one job's model after a takeover) never share a temporary file."""
    return f"{path}.{os.getpid()}-{secrets.token_hex(6)}{PARTIAL}"


_LEFTOVER = re.compile(r".+\.(\d+)-[0-9a-f]+" + re.escape(PARTIAL))
_SWEPT: set[str] = set()
"""Folders :func:`put_file` swept in this process: a killed writer's leftovers were there
before this process first wrote beside them, so one look per folder suffices (a look per
file made a sync of 10,000 checkpoint files list their folder 10,000 times)."""


def remove_leftover_partials(folder: str) -> int:
    """Delete the temporary files in ``folder`` (:func:`partial_name`) whose writer is no
    longer alive on this machine: what a killed process left half written. Returns how
    many."""
    removed = 0
    try:
        entries = os.listdir(folder or ".")
    except OSError:
        return 0
    for entry in entries:
        match = _LEFTOVER.fullmatch(entry)
        if match is None or _alive(int(match.group(1))):
            continue
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(folder, entry))
            removed += 1
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's: alive
        return True
    return True


def put_file(local: str, target: Location) -> None:
    """Write the local file ``local`` to ``target``; a local target is written atomically
    (a temporary file of this writer's own, then a rename; removed if the write fails),
    so that concurrent writers each leave a whole file. :class:`ObjectClash` (an
    ``OSError``) when the target is a folder, or needs a folder where a file is."""
    if target.is_local:
        check_no_clash(target)
        folder = os.path.dirname(target.path)
        os.makedirs(folder, exist_ok=True)
        if folder not in _SWEPT:
            remove_leftover_partials(folder)
            _SWEPT.add(folder)
        partial = partial_name(target.path)
        try:
            shutil.copyfile(local, partial)
            os.replace(partial, target.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(partial)
            raise
    else:
        target.fs.put_file(local, target.path)
