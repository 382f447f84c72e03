"""Where data lives: locations (``s3://``, ``file://``, local paths) resolved to an fsspec
filesystem and a path in it, and listing of ``S3Prefix`` objects.

``s3://bucket/key`` names tunelab's local object store (``s3_root/bucket/key``) unless an
S3 endpoint is configured (``AWS_ENDPOINT_URL_S3``), in which case it is read and written
through s3fs (the ``s3`` extra) with the endpoint and the usual AWS credentials.
"""

from __future__ import annotations

import os
import posixpath
import shutil
from collections.abc import Callable
from dataclasses import dataclass

import fsspec
from fsspec import AbstractFileSystem

from tunelab.execution.contract import LaunchError
from tunelab.execution.uris import local_path

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
    """The filesystem and path of ``uri``; :class:`LaunchError` when it is not reachable."""
    path = local_path(uri, plane.s3_root)
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
    prefix names every key that starts with it: below a prefix ending at a ``/`` boundary
    names drop the prefix, otherwise they keep their last component (``train/da`` ->
    ``data.csv``, ``dax/y.csv``)."""
    fs, path = location.fs, location.path
    key = location.uri[len("s3://") :].partition("/")[2]
    found: list[tuple[str, str]] = []
    if not location.uri.startswith("s3://") or not key or key.endswith("/"):
        if fs.isdir(path):
            root = path.rstrip("/")
            found = [(item, posixpath.relpath(item, root)) for item in fs.find(root)]
        elif fs.isfile(path):
            found = [(path, posixpath.basename(path))]
    else:
        parent, _, stem = path.rpartition("/")
        if parent and fs.isdir(parent):
            for entry in fs.ls(parent, detail=True):
                name = str(entry["name"]).rstrip("/")
                base = posixpath.basename(name)
                if not base.startswith(stem):
                    continue
                if entry["type"] == "directory":
                    cut = name if base == stem else parent
                    found += [(item, posixpath.relpath(item, cut)) for item in fs.find(name)]
                else:
                    found.append((name, base))
    return [(Location(fs, item, _uri_of(location, item)), rel) for item, rel in sorted(found)]


def _uri_of(base: Location, path: str) -> str:
    """The URI of ``path`` (found at or below ``base``) in ``base``'s notation."""
    if base.uri.startswith("s3://") and not base.is_local:
        return "s3://" + path
    folder = base.path if base.path.endswith("/") else posixpath.dirname(base.path)
    folder_uri = base.uri if base.uri.endswith("/") else base.uri.rsplit("/", 1)[0]
    return folder_uri.rstrip("/") + "/" + posixpath.relpath(path, folder)


def put_file(local: str, target: Location) -> None:
    """Write the local file ``local`` to ``target``; a local target is written atomically
    (a temporary file, then a rename)."""
    if target.is_local:
        os.makedirs(os.path.dirname(target.path), exist_ok=True)
        partial = f"{target.path}.partial"
        shutil.copyfile(local, partial)
        os.replace(partial, target.path)
    else:
        target.fs.put_file(local, target.path)
