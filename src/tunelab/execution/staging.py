"""Data in and artifacts out: staging channels, packaging ``model.tar.gz``.

Channels are read through fsspec so that other protocols can be added; this version
stages local locations only (as :func:`.uris.local_path` reads them: ``file://``
URIs and paths). Outputs are written under a local ``S3OutputPath`` in SageMaker's
layout:
``<output>/<training job name>/output/model.tar.gz`` and ``output.tar.gz``.
"""

from __future__ import annotations

import os
import tarfile
from pathlib import Path
from urllib.parse import urlsplit

import fsspec

from tunelab.domain.definition import DataChannel, TrainingJobDefinition
from tunelab.domain.enums import TrainingInputMode
from tunelab.execution.contract import JobLayout, LaunchError
from tunelab.execution.uris import local_path

_COMPRESS_LEVEL = 6


def stage_channels(
    definition: TrainingJobDefinition, layout: JobLayout, s3_root: str | None = None
) -> None:
    """Copy every channel's data into ``input/data/<channel>/`` (which must exist).
    Raises :class:`LaunchError` naming the channel when a source cannot be staged."""
    for channel in definition.channels:
        mode = channel.input_mode or definition.input_mode
        if mode is TrainingInputMode.PIPE:
            raise LaunchError(
                f"channel '{channel.name}': Pipe input mode is not supported by the local "
                "executor yet; use File or FastFile"
            )
        stage_channel(channel, layout.channel_dir(channel.name), s3_root)


def stage_channel(channel: DataChannel, dest: str, s3_root: str | None = None) -> None:
    """Copy ``channel.uri`` into the directory ``dest``: a directory's content
    recursively, a single file as ``dest/<file name>``."""
    uri = channel.uri
    if channel.s3_data_type in ("ManifestFile", "AugmentedManifestFile"):
        raise LaunchError(
            f"channel '{channel.name}': S3DataType {channel.s3_data_type} is not supported "
            "by the local executor yet; use S3Prefix"
        )
    source = local_path(uri, s3_root)
    if source is None:
        scheme = urlsplit(uri).scheme
        raise LaunchError(
            f"channel '{channel.name}': {scheme}:// data sources are not supported by the "
            "local executor yet; use a local path or file:// URI"
        )
    fs, path = fsspec.core.url_to_fs(source)
    if not fs.exists(path):
        raise LaunchError(f"channel '{channel.name}': data source {uri} does not exist")
    try:
        if fs.isdir(path):
            root = path.rstrip("/")
            for item in fs.find(root):
                target = os.path.join(dest, os.path.relpath(item, root))
                os.makedirs(os.path.dirname(target), exist_ok=True)
                fs.get_file(item, target)
        else:
            fs.get_file(path, os.path.join(dest, os.path.basename(path.rstrip("/"))))
    except OSError as exc:
        raise LaunchError(f"channel '{channel.name}': could not copy {uri}: {exc}") from exc


def artifact_dir(
    output_path: str, training_job_name: str, s3_root: str | None = None
) -> str | None:
    """``<output>/<job>/output`` for a local output path, None for any other protocol."""
    base = local_path(output_path, s3_root)
    return None if base is None else os.path.join(base, training_job_name, "output")


def package_outputs(
    layout: JobLayout, output_path: str, training_job_name: str, s3_root: str | None = None
) -> str | None:
    """Pack ``model/`` into ``model.tar.gz`` and ``output/data/`` into ``output.tar.gz``
    (entries relative to the packed directory) and return the ``file://`` URI of
    ``model.tar.gz``; None when ``output_path`` is not local. Raises ``OSError``."""
    target = artifact_dir(output_path, training_job_name, s3_root)
    if target is None:
        return None
    os.makedirs(target, exist_ok=True)
    model = os.path.join(target, "model.tar.gz")
    _pack(layout.model_dir, model)
    _pack(layout.output_data_dir, os.path.join(target, "output.tar.gz"))
    return Path(model).as_uri()


def _pack(source: str, archive: str) -> None:
    """Write ``archive`` atomically (temporary file, then rename)."""
    partial = f"{archive}.partial"
    with tarfile.open(partial, "w:gz", compresslevel=_COMPRESS_LEVEL) as tar:
        if os.path.isdir(source):
            for name in sorted(os.listdir(source)):
                tar.add(os.path.join(source, name), arcname=name)
    os.replace(partial, archive)
