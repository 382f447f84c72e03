"""Create-time checks of one data channel: what staging would fail on, found before
anything is stored, each message naming the channel and the file."""

from __future__ import annotations

import os

from tunelab.domain.definition import DataChannel, TrainingJobDefinition
from tunelab.domain.enums import TrainingInputMode
from tunelab.execution.contract import LaunchError
from tunelab.execution.staging import GZIP_MAGIC, attribute_names, channel_objects
from tunelab.execution.storage import DataPlane, exists, resolve

GZIP_CHECKED = 50
"""How many of a Gzip channel's files have their gzip header checked at create time."""


def channel_problems(
    definition: TrainingJobDefinition, channel: DataChannel, plane: DataPlane
) -> list[str]:
    """Why ``channel`` cannot be staged (empty when it can)."""
    name = f"channel '{channel.name}'"
    mode = channel.input_mode or definition.input_mode
    if channel.s3_data_type == "FileSystem":
        problems = []
        if not os.path.isabs(channel.uri) or not os.path.isdir(channel.uri):
            problems.append(
                f"{name}: FileSystemDataSource.DirectoryPath {channel.uri!r} is not a "
                "directory on this machine (tunelab mounts it in place as the channel)"
            )
        if mode is TrainingInputMode.PIPE:
            field = (
                "InputMode" if channel.input_mode else "AlgorithmSpecification.TrainingInputMode"
            )
            problems.append(
                f"{name}: Pipe input mode ({field}) streams S3DataSource channels only; a "
                "FileSystemDataSource is mounted in place as a directory (File or FastFile)"
            )
        return problems
    if channel.s3_data_type == "ManifestFile" and mode is TrainingInputMode.FAST_FILE:
        return [f"{name}: FastFile input mode reads S3Prefix channels only (SageMaker's rule)"]
    if channel.s3_data_type == "AugmentedManifestFile":
        problems = []
        if mode is not TrainingInputMode.PIPE:
            problems.append(
                f"{name}: an AugmentedManifestFile is streamed in Pipe input mode only"
            )
        if not attribute_names(definition, channel.name):
            problems.append(f"{name}: an AugmentedManifestFile needs S3DataSource.AttributeNames")
        try:
            if not exists(resolve(channel.uri, plane)):
                problems.append(f"{name}: the data source {channel.uri} does not exist")
        except LaunchError as exc:
            problems.append(f"{name}: {exc.reason}")
        return problems
    try:
        source = resolve(channel.uri, plane)
    except LaunchError as exc:
        return [f"{name}: {exc.reason}"]
    if not channel.uri.startswith("s3://") and not exists(source):
        return [f"{name}: the data source {channel.uri} does not exist"]
    try:
        objects = channel_objects(channel, plane)
    except LaunchError as exc:
        reason = exc.reason.replace(": data source ", ": the data source ", 1)
        return [reason]
    if channel.compression == "Gzip":
        for location, _ in objects[:GZIP_CHECKED]:
            try:
                with location.fs.open(location.path, "rb") as f:
                    head = f.read(2)
            except OSError as exc:
                return [f"{name}: cannot read {location.uri}: {exc}"]
            if head != GZIP_MAGIC:
                return [
                    f"{name}: {location.uri} is not a gzip file (the channel's "
                    "CompressionType is Gzip)"
                ]
    return []
