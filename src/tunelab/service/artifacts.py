"""Fetching a training job's artifacts (``model.tar.gz``, ``output.tar.gz``) from wherever
they were written (a local path, the local object store or the S3 endpoint), decrypted
with tunelab's key store when they were encrypted under ``OutputDataConfig.KmsKeyId``."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from tunelab.domain.errors import ResourceNotFound, ValidationError
from tunelab.execution.contract import LaunchError
from tunelab.execution.outputs import decrypt_file, encrypted_key_id, is_encrypted
from tunelab.execution.storage import exists, resolve
from tunelab.service.dataplane import data_plane, key_store
from tunelab.service.settings import Settings


def fetch_artifact(uri: str, destination: Path, settings: Settings) -> tuple[Path, str | None]:
    """Copy the artifact ``uri`` to ``destination`` (a folder keeps its name), decrypted
    if needed; returns (the file written, the key id that decrypted it or None)."""
    plane = data_plane(settings)
    try:
        source = resolve(uri, plane)
    except LaunchError as exc:
        raise ValidationError(exc.reason) from None
    if not exists(source) or source.fs.isdir(source.path):
        raise ResourceNotFound(f"{uri}: no such artifact")
    target = destination / os.path.basename(source.path) if destination.is_dir() else destination
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".fetch-") as work:
        local = os.path.join(work, "artifact")
        source.fs.get_file(source.path, local)
        if not is_encrypted(local):
            os.replace(local, target)
            return target, None
        keys = key_store(settings)
        try:
            key_id = decrypt_file(local, str(target), keys.data_key)
        except KeyError:
            raise ResourceNotFound(
                f"{uri} is encrypted with the key {encrypted_key_id(local)}, which tunelab's key "
                "store does not hold"
            ) from None
        except ValueError as exc:
            raise ValidationError(f"{uri}: {exc}") from None
    return target, key_id
