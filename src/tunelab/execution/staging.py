"""Data in: staging ``InputDataConfig`` channels into ``input/data/`` as SageMaker does.

Sources (:mod:`.storage`): local paths, ``file://``, ``s3://`` (tunelab's local object
store, or an S3 endpoint through s3fs). ``S3DataType``: ``S3Prefix`` (every object under
a key prefix), ``ManifestFile`` (a JSON list ``[{"prefix": P}, "rel/key", ...]``),
``AugmentedManifestFile`` (JSON lines, Pipe mode only) and ``FileSystemDataSource`` (a local
directory, mounted in place as the channel directory). Input modes:

- ``File``: objects are copied to ``input/data/<channel>/<name>`` (``<name>``: the key relative
  to the prefix's folder, see :func:`.storage.prefix_objects`), as stored (a ``Gzip``
  channel's files stay compressed: SageMaker decompresses only in Pipe mode).
- ``FastFile``: read in place: local and object-store files are symlinked, nothing is
  copied (programs must not write through them); ``s3://`` from an endpoint is copied.
- ``Pipe``: the FIFO ``input/data/<channel>_0`` is created here; :mod:`.pipes` feeds it.

``ShardedByS3Key`` gives host ``i`` of ``n`` the objects ``i, i+n, i+2n...`` (sorted by
key); ``FullyReplicated`` gives every host everything. A channel with no objects, a
missing object or a ``Gzip`` file that is not gzip fails the launch with a reason naming
the channel and the file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tunelab.domain.definition import DataChannel, TrainingJobDefinition
from tunelab.domain.enums import TrainingInputMode
from tunelab.execution.contract import JobLayout, LaunchError
from tunelab.execution.errors import check_stopped
from tunelab.execution.outputs import artifact_dir, package_outputs
from tunelab.execution.storage import DataPlane, Location, exists, prefix_objects, resolve
from tunelab.execution.uris import s3_key_problem, unsafe_segment

__all__ = ["PipeSource", "artifact_dir", "package_outputs", "stage_channel", "stage_channels"]

GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class PipeSource:
    """What a Pipe-mode channel streams each epoch: ``objects`` in order, or (augmented
    manifest) the ``attributes`` of each JSON line of ``manifest``."""

    channel: DataChannel
    fifo_prefix: str
    objects: tuple[tuple[Location, str], ...] = ()
    manifest: Location | None = None
    attributes: tuple[str, ...] = ()
    plane: DataPlane | None = None
    role_arn: str = ""


def channel_document(definition: TrainingJobDefinition, name: str) -> Mapping[str, Any]:
    """The ``InputDataConfig`` entry of the channel ``name`` as the user wrote it."""
    for entry in definition.document.get("InputDataConfig") or ():
        if isinstance(entry, Mapping) and entry.get("ChannelName") == name:
            return entry
    return {}


def attribute_names(definition: TrainingJobDefinition, name: str) -> tuple[str, ...]:
    """``S3DataSource.AttributeNames`` of a channel (augmented manifests)."""
    source = channel_document(definition, name).get("DataSource") or {}
    return tuple((source.get("S3DataSource") or {}).get("AttributeNames") or ())


def stage_channels(
    definition: TrainingJobDefinition,
    layout: JobLayout,
    data: DataPlane | str | None = None,
    *,
    host_index: int = 0,
    host_count: int = 1,
    stopped: Callable[[], bool] | None = None,
) -> list[PipeSource]:
    """Stage every channel for host ``host_index`` of ``host_count`` (``input/data/<channel>``
    must exist; ``data``: a :class:`DataPlane` or a local object store root). Returns what
    the Pipe-mode channels stream. Raises :class:`LaunchError` naming the channel, and
    :class:`LaunchStopped` between two objects once ``stopped`` says so."""
    plane = DataPlane.of(data)
    pipes: list[PipeSource] = []
    for channel in definition.channels:
        check_stopped(stopped)
        mode = channel.input_mode or definition.input_mode
        dest = layout.channel_dir(channel.name)
        if channel.s3_data_type == "FileSystem":
            _mount(channel, dest)
            continue
        if channel.s3_data_type == "AugmentedManifestFile":
            if mode is not TrainingInputMode.PIPE:
                raise LaunchError(
                    f"channel '{channel.name}': AugmentedManifestFile needs Pipe input mode"
                )
            manifest = _checked(channel, plane, definition.role_arn)
            pipes.append(
                _pipe(
                    channel,
                    layout,
                    manifest=manifest,
                    attributes=attribute_names(definition, channel.name),
                    plane=plane,
                    role_arn=definition.role_arn,
                )
            )
            continue
        objects = channel_objects(channel, plane, definition.role_arn)
        mine = shard(objects, channel.distribution, host_index, host_count)
        if mode is TrainingInputMode.PIPE:
            pipes.append(_pipe(channel, layout, objects=tuple(mine)))
        else:
            fast = mode is TrainingInputMode.FAST_FILE
            for location, name in mine:
                check_stopped(stopped)
                _deliver(channel, location, os.path.join(dest, name), fast, stopped)
    return pipes


def stage_channel(
    channel: DataChannel, dest: str, data: DataPlane | str | None = None, role_arn: str = ""
) -> None:
    """Copy one channel's objects into the directory ``dest`` (File mode, one host)."""
    plane = DataPlane.of(data)
    if channel.s3_data_type == "FileSystem":
        _mount(channel, dest)
        return
    for location, name in channel_objects(channel, plane, role_arn):
        _deliver(channel, location, os.path.join(dest, name), fast=False)


STOP_CHECK_BYTES = 16 << 20
"""How much of a file is copied between two checks for a stop."""


def _copy_checking(location: Location, target: str, stopped: Callable[[], bool]) -> None:
    """Copy one object to ``target`` in pieces, stopping between two once ``stopped``."""
    with location.fs.open(location.path, "rb") as source, open(target, "wb") as out:
        while True:
            check_stopped(stopped)
            chunk = source.read(STOP_CHECK_BYTES)
            if not chunk:
                return
            out.write(chunk)


def channel_objects(
    channel: DataChannel, plane: DataPlane, role_arn: str = ""
) -> list[tuple[Location, str]]:
    """The objects of an ``S3Prefix`` or ``ManifestFile`` channel with their names in the
    channel directory. A channel with none is an error, never an empty dataset."""
    source = _checked(channel, plane, role_arn)
    if channel.s3_data_type == "ManifestFile":
        objects = manifest_objects(channel, source, plane, role_arn)
    else:
        try:
            objects = prefix_objects(source)
        except OSError as exc:
            raise LaunchError(
                f"channel '{channel.name}': cannot list {channel.uri}: {exc}"
            ) from exc
    if not objects:
        what = "holds no files" if exists(source) else "does not exist"
        raise LaunchError(f"channel '{channel.name}': data source {channel.uri} {what}")
    return objects


def _checked(channel: DataChannel, plane: DataPlane, role_arn: str) -> Location:
    """The channel's resolved source, which must exist and which the role may read."""
    try:
        source = resolve(channel.uri, plane)
    except LaunchError as exc:
        raise LaunchError(f"channel '{channel.name}': {exc.reason}") from None
    _authorize(channel, plane, role_arn, channel.uri)
    key_prefix = channel.s3_data_type == "S3Prefix" and channel.uri.startswith("s3://")
    if not key_prefix and not exists(source):  # a key prefix need not be an object
        raise LaunchError(f"channel '{channel.name}': data source {channel.uri} does not exist")
    return source


def _authorize(channel: DataChannel, plane: DataPlane, role_arn: str, uri: str) -> None:
    if plane.authorize is not None and role_arn:
        denied = plane.authorize(role_arn, uri, "read")
        if denied:
            raise LaunchError(f"channel '{channel.name}': {denied}")


def manifest_objects(
    channel: DataChannel, manifest: Location, plane: DataPlane, role_arn: str = ""
) -> list[tuple[Location, str]]:
    """The objects a manifest lists: each entry appended to the prefix as it is (SageMaker's
    rule: ``p/part-`` + ``1.csv`` is ``p/part-1.csv``), named by its key relative to the
    prefix's folder (its part up to the last ``/``). An entry whose key has a ``.``, ``..``
    or empty segment is refused; with a prefix that does not end in ``/`` each object is
    checked against the role too. The manifest names a set of objects: a key listed again
    is the object already listed (one file in File and FastFile mode, streamed once an
    epoch in Pipe mode, given to one host when sharded), so only its first entry counts."""
    try:
        with manifest.fs.open(manifest.path, "rb") as f:
            entries = json.loads(f.read())
    except (OSError, ValueError) as exc:
        raise LaunchError(
            f"channel '{channel.name}': cannot read the manifest {channel.uri}: {exc}"
        ) from exc
    head = entries[0] if isinstance(entries, list) and entries else None
    if not isinstance(head, dict) or not isinstance(head.get("prefix"), str):
        raise LaunchError(
            f"channel '{channel.name}': the manifest {channel.uri} must be a JSON list whose "
            'first element is {"prefix": "s3://bucket/prefix/"}'
        )
    prefix = head["prefix"]
    _authorize(channel, plane, role_arn, prefix)
    folder = prefix.rsplit("/", 1)[0] + "/"  # names are relative to the prefix's folder
    objects, listed = [], set()
    for relative in entries[1:]:
        uri = prefix + relative if isinstance(relative, str) else ""
        if uri in listed:
            continue
        listed.add(uri)
        problem = s3_key_problem(uri) if relative else None
        if not relative or not uri or problem or unsafe_segment(uri[len(folder) :]) is not None:
            raise LaunchError(
                f"channel '{channel.name}': the manifest {channel.uri} lists {relative!r}, "
                f"not a relative key to append to its prefix {prefix}"
                + (f" ({problem})" if problem else "")
            )
        if not prefix.endswith("/"):  # "p/part-" + "1.csv" is not below what was allowed
            _authorize(channel, plane, role_arn, uri)
        try:
            location = resolve(uri, plane)
        except LaunchError as exc:
            raise LaunchError(f"channel '{channel.name}': manifest prefix {exc.reason}") from None
        if not location.fs.isfile(location.path):
            raise LaunchError(
                f"channel '{channel.name}': {location.uri} (listed in the manifest "
                f"{channel.uri}) does not exist"
            )
        objects.append((location, uri[len(folder) :]))
    return objects


def shard(
    objects: Sequence[tuple[Location, str]], distribution: str, host_index: int, host_count: int
) -> list[tuple[Location, str]]:
    """The objects host ``host_index`` (0-based) of ``host_count`` receives."""
    if distribution != "ShardedByS3Key" or host_count <= 1:
        return list(objects)
    ordered = sorted(objects, key=lambda item: item[0].uri)
    return ordered[host_index::host_count]


def _deliver(
    channel: DataChannel,
    location: Location,
    target: str,
    fast: bool,
    stopped: Callable[[], bool] | None = None,
) -> None:
    """Copy (or, ``fast`` and local, symlink) one object to ``target``; a copy checks
    ``stopped`` every :data:`STOP_CHECK_BYTES` (:class:`LaunchStopped`)."""
    try:
        os.makedirs(os.path.dirname(target), exist_ok=True)
    except OSError as exc:  # an S3 endpoint may hold both the object "d" and "d/x"
        raise LaunchError(
            f"channel '{channel.name}': cannot stage {location.uri}: a file of the channel "
            f"has the name of its folder ({exc})"
        ) from exc
    try:
        if fast and location.is_local:
            os.symlink(os.path.abspath(location.path), target)
        elif stopped is None:
            location.fs.get_file(location.path, target)
        else:
            _copy_checking(location, target, stopped)
    except OSError as exc:
        raise LaunchError(
            f"channel '{channel.name}': could not read {location.uri}: {exc}"
        ) from exc
    if channel.compression == "Gzip":
        with open(target, "rb") as f:
            if f.read(2) != GZIP_MAGIC:
                raise LaunchError(
                    f"channel '{channel.name}': {location.uri} is not a gzip file "
                    "(the channel's CompressionType is Gzip)"
                )


def _mount(channel: DataChannel, dest: str) -> None:
    """A ``FileSystemDataSource``: the channel directory becomes the directory itself."""
    source = os.path.abspath(channel.uri)
    if not os.path.isdir(source):
        raise LaunchError(
            f"channel '{channel.name}': FileSystemDataSource directory {channel.uri} does not "
            "exist (it must be a directory on this machine)"
        )
    if os.path.isdir(dest) and not os.path.islink(dest):
        os.rmdir(dest)
    os.symlink(source, dest)


def _pipe(channel: DataChannel, layout: JobLayout, **fields: Any) -> PipeSource:
    """Create the channel's first FIFO, ``input/data/<channel>_0``."""
    prefix = os.path.join(layout.data_dir, channel.name)
    try:
        os.mkfifo(f"{prefix}_0", 0o600)
    except OSError as exc:
        raise LaunchError(f"channel '{channel.name}': cannot create its FIFO: {exc}") from exc
    return PipeSource(channel, prefix, **fields)
