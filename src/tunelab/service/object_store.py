"""tunelab's local object store: ``s3://bucket/key`` kept as files under
``$TUNELAB_HOME/s3/bucket/key``, so jobs written for AWS (and the SageMaker SDK,
which sends ``s3://`` URIs) run offline. ``tunelab data put|ls|get`` fill and
read it.

Keys map to files, so a key cannot be both an object and a prefix (``s3://b/d`` and
``s3://b/d/x``): :meth:`LocalObjectStore.put` refuses such a write before copying
anything. A key with a ``.``, ``..`` or empty segment is refused (it could name a file
outside its bucket)."""

from __future__ import annotations

import shutil
from pathlib import Path

from tunelab.domain.errors import ResourceNotFound, ValidationError
from tunelab.execution.storage import object_clash
from tunelab.execution.uris import s3_key_problem


class LocalObjectStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, uri: str) -> Path:
        """The file (or folder, for a prefix) behind ``uri``."""
        if not uri.startswith("s3://"):
            raise ValidationError(f"{uri!r}: an object store location is s3://bucket/key")
        problem = s3_key_problem(uri)
        if problem is not None:
            raise ValidationError(f"an object store location is s3://bucket/key: {problem}")
        bucket, _, key = uri[len("s3://") :].partition("/")
        return self.root / bucket / key

    def put(self, source: Path, uri: str) -> list[str]:
        """Copy a file or a folder (recursively) to ``uri``; a file copied to a
        location ending in ``/`` keeps its name. Returns the URIs written.
        ``ValidationError`` (nothing written) when a key would be both an object and a
        prefix."""
        if not source.exists():
            raise ResourceNotFound(f"{source}: no such file or folder")
        target = self.path(uri)
        if source.is_file():
            if uri.endswith("/"):
                target = target / source.name
            copies = [(source, target)]
        else:
            files = sorted(p for p in source.rglob("*") if p.is_file())
            copies = [(item, target / item.relative_to(source)) for item in files]
        for _, destination in copies:
            clash = object_clash(str(destination), self.uri(destination))
            if clash is not None:
                raise ValidationError(clash)
        for item, destination in copies:
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(item, destination)
        return [self.uri(destination) for _, destination in copies]

    def list(self, uri: str) -> list[tuple[str, int]]:
        """(URI, size in bytes) of every object at or under ``uri``."""
        found = self.path(uri)
        if found.is_file():
            return [(self.uri(found), found.stat().st_size)]
        if not found.is_dir():
            return []
        return [(self.uri(p), p.stat().st_size) for p in sorted(found.rglob("*")) if p.is_file()]

    def get(self, uri: str, destination: Path) -> list[Path]:
        """Copy an object, or every object under a prefix, to ``destination``."""
        found = self.path(uri)
        if found.is_file():
            target = destination / found.name if destination.is_dir() else destination
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(found, target)
            return [target]
        if not found.is_dir():
            raise ResourceNotFound(f"{uri}: no such object or prefix")
        copied = []
        for item in sorted(p for p in found.rglob("*") if p.is_file()):
            target = destination / item.relative_to(found)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(item, target)
            copied.append(target)
        return copied

    def uri(self, path: Path) -> str:
        return "s3://" + path.relative_to(self.root).as_posix()
