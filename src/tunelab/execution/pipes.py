"""Pipe input mode: each Pipe channel is streamed through FIFOs ``input/data/<channel>_0``,
``<channel>_1``... one per epoch, as SageMaker does. A :class:`PipeFeeder` thread per
channel creates FIFO ``n+1``, then writes the whole channel into FIFO ``n`` once a reader
opens it (Gzip objects decompressed, each object or augmented-manifest attribute wrapped as
one RecordIO record when ``RecordWrapperType`` is ``RecordIO``) and closes it. So a reader
done with epoch ``n`` -- at its end or early -- can open ``n+1`` at once; that open blocks
until the feeder saw ``n`` closed by the reader.

With ``ShuffleConfig.Seed`` the objects (or the augmented manifest's lines) of epoch ``n``
come in the order :func:`epoch_order` draws from the seed and ``n``: the same for the same
seed and epoch, different from one epoch to the next.

A read error (a missing object, a corrupt gzip stream) stops the channel and is kept as
:attr:`PipeFeeder.failure` (naming the channel and the object) *before* the reader sees
the end of the FIFO, so the executor fails the job instead of training on partial data.
"""

from __future__ import annotations

import errno
import gzip
import json
import os
import random
import select
import struct
import threading
import zlib
from collections.abc import Iterator, Sequence
from typing import TypeVar

from tunelab.execution.contract import LaunchError
from tunelab.execution.staging import PipeSource
from tunelab.execution.storage import DataPlane, Location, resolve

RECORDIO_MAGIC = 0xCED7230A
_CHUNK = 1 << 16
_OPEN_RETRY = 0.05
_WRITE_WAIT = 0.2
T = TypeVar("T")


def recordio(payload: bytes) -> bytes:
    """One MXNet RecordIO record: magic, length (flag 0), payload, padding to 4 bytes."""
    header = struct.pack("<II", RECORDIO_MAGIC, len(payload))
    return header + payload + b"\0" * (-len(payload) % 4)


def epoch_order(items: Sequence[T], seed: int | None, epoch: int) -> list[T]:
    """``items`` in the order epoch ``epoch`` feeds them: as given without a seed, else a
    permutation determined by ``seed`` and ``epoch`` alone (reproducible across runs)."""
    ordered = list(items)
    if seed is not None:
        random.Random(f"tunelab-shuffle:{seed}:{epoch}").shuffle(ordered)
    return ordered


class _Stop(Exception):
    """The feeder was closed."""


class PipeFeeder(threading.Thread):
    """Feeds one Pipe-mode channel until :meth:`close`; ``epochs`` counts the FIFOs
    written in full."""

    def __init__(self, source: PipeSource) -> None:
        super().__init__(name=f"tunelab-pipe-{source.channel.name}", daemon=True)
        self.source = source
        self.failure: str | None = None
        self.epochs = 0
        self._stop_event = threading.Event()

    def close(self, timeout: float = 5.0) -> None:
        self._stop_event.set()
        if self.is_alive():
            self.join(timeout)

    def run(self) -> None:
        epoch = 0
        while not self._stop_event.is_set():
            try:
                self._make_next(epoch + 1)
                fd = self._open_writer(f"{self.source.fifo_prefix}_{epoch}")
            except _Stop:
                return
            except _DataError as error:
                self.failure = str(error)
                return
            try:
                completed = self._write_epoch(fd, epoch)
            except _Stop:
                os.close(fd)
                return
            except (_DataError, OSError) as error:
                name = self.source.channel.name
                self.failure = (
                    str(error)
                    if isinstance(error, _DataError)
                    else (f"channel '{name}': Pipe mode failed: {error}")
                )
                os.close(fd)  # only now does the reader see the end of the data
                return
            os.close(fd)  # the reader sees the end of the epoch
            self.epochs += int(completed)
            epoch += 1

    def _make_next(self, epoch: int) -> None:
        """Create FIFO ``epoch`` before the reader can be done with the one before it."""
        fifo = f"{self.source.fifo_prefix}_{epoch}"
        try:
            os.mkfifo(fifo, 0o600)
        except OSError as exc:
            raise _DataError(
                f"channel '{self.source.channel.name}': cannot create {fifo}: {exc}"
            ) from exc

    def _open_writer(self, fifo: str) -> int:
        """Open ``fifo`` for writing once a reader has it open (polling, so that
        :meth:`close` is noticed)."""
        while True:
            try:
                return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            except OSError as exc:
                if exc.errno != errno.ENXIO:  # ENXIO: no reader yet
                    raise _DataError(
                        f"channel '{self.source.channel.name}': cannot open {fifo}: {exc}"
                    ) from exc
            if self._stop_event.wait(_OPEN_RETRY):
                raise _Stop

    def _write_epoch(self, fd: int, epoch: int) -> bool:
        """Write the whole channel; False when the reader closed the FIFO early."""
        try:
            for chunk in self._stream(epoch):
                view = memoryview(chunk)
                while view:
                    _, ready, _ = select.select([], [fd], [], _WRITE_WAIT)
                    if self._stop_event.is_set():
                        raise _Stop
                    if ready:
                        try:
                            view = view[os.write(fd, view) :]
                        except BlockingIOError:
                            continue
        except BrokenPipeError:
            return False
        return True

    def _stream(self, epoch: int) -> Iterator[bytes]:
        source, seed = self.source, self.source.channel.shuffle_seed
        wrap = (source.channel.record_wrapper or "None") == "RecordIO"
        if source.manifest is not None:
            for payload in self._augmented(source.manifest, epoch):
                yield recordio(payload) if wrap else payload
            return
        for location, _ in epoch_order(source.objects, seed, epoch):
            if wrap:
                yield recordio(b"".join(self._read(location)))
            else:
                yield from self._read(location)

    def _read(self, location: Location) -> Iterator[bytes]:
        """An object's bytes (decompressed for a Gzip channel)."""
        name = self.source.channel.name
        try:
            with location.fs.open(location.path, "rb") as raw:
                stream = (
                    gzip.GzipFile(fileobj=raw, mode="rb")
                    if self.source.channel.compression == "Gzip"
                    else raw
                )
                while chunk := stream.read(_CHUNK):
                    yield chunk
        except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
            raise _DataError(
                f"channel '{name}': {location.uri} is not a readable gzip file "
                f"(CompressionType Gzip): {exc}"
            ) from exc
        except OSError as exc:
            raise _DataError(f"channel '{name}': cannot read {location.uri}: {exc}") from exc

    def _augmented(self, manifest: Location, epoch: int) -> Iterator[bytes]:
        """Each line's ``AttributeNames`` (the lines in :func:`epoch_order`), in order: a
        ``-ref`` attribute's object content, any other attribute's value (a string as it
        is, anything else as JSON)."""
        source, name = self.source, self.source.channel.name
        plane = source.plane or DataPlane()
        try:
            with manifest.fs.open(manifest.path, "rb") as f:
                lines = f.read().decode().splitlines()
        except (OSError, UnicodeError) as exc:
            raise _DataError(f"channel '{name}': cannot read {manifest.uri}: {exc}") from exc
        numbered = list(enumerate(lines, 1))
        for number, line in epoch_order(numbered, source.channel.shuffle_seed, epoch):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as exc:
                raise _DataError(
                    f"channel '{name}': {manifest.uri} line {number} is not JSON: {exc}"
                ) from exc
            for attribute in source.attributes:
                if attribute not in record:
                    raise _DataError(
                        f"channel '{name}': {manifest.uri} line {number} has no attribute "
                        f"{attribute!r} (AttributeNames)"
                    )
                value = record[attribute]
                if attribute.endswith("-ref"):
                    yield b"".join(self._read(self._ref(str(value), plane)))
                else:
                    yield (value if isinstance(value, str) else json.dumps(value)).encode()

    def _ref(self, uri: str, plane: DataPlane) -> Location:
        name, source = self.source.channel.name, self.source
        if plane.authorize is not None and source.role_arn:
            denied = plane.authorize(source.role_arn, uri, "read")
            if denied:
                raise _DataError(f"channel '{name}': {denied}")
        try:
            return resolve(uri, plane)
        except LaunchError as exc:
            raise _DataError(f"channel '{name}': {exc.reason}") from exc


class _DataError(Exception):
    """A channel's data cannot be delivered; the message names the channel and object."""
