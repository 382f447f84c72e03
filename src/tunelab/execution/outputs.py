"""Artifacts out: ``model/`` -> ``<S3OutputPath>/<job>/output/model.tar.gz`` and
``output/data/`` -> ``output.tar.gz``, to a local path, tunelab's local object store or an
S3 endpoint, encrypted with AES-256-GCM when ``OutputDataConfig.KmsKeyId`` names a key.
With ``OutputDataConfig.CompressionType`` ``NONE`` (SageMaker's uncompressed model output)
the files are uploaded as they are, under ``output/model/`` and ``output/data/``, and the
model's URI is the prefix ``.../output/model/``.

An encrypted artifact keeps its name; its bytes are ``MAGIC``, the key id (2-byte length
+ UTF-8), a 12-byte nonce, the ciphertext and the 16-byte GCM tag, the header being
authenticated too. :func:`decrypt_file` writes the plaintext only once the tag verified.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import struct
import tarfile
import tempfile
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from tunelab.domain.definition import TrainingJobDefinition
from tunelab.execution.contract import JobLayout, LaunchError
from tunelab.execution.storage import (
    DataPlane,
    KeyLookup,
    Location,
    check_no_clash,
    partial_name,
    put_file,
    remove_leftover_partials,
    resolve,
)
from tunelab.execution.uris import local_path

MAGIC = b"TUNELAB-AES256GCM\x01"
_COMPRESS_LEVEL = 6
_CHUNK = 1 << 20
_TAG = 16


def kms_key_of(definition: TrainingJobDefinition) -> str | None:
    """``OutputDataConfig.KmsKeyId`` of a definition, if given."""
    output = definition.document.get("OutputDataConfig") or {}
    return output.get("KmsKeyId") or None


def compression_of(definition: TrainingJobDefinition) -> str:
    """``OutputDataConfig.CompressionType``: ``GZIP`` (the default) or ``NONE``."""
    output = definition.document.get("OutputDataConfig") or {}
    return str(output.get("CompressionType") or "GZIP")


def model_artifacts_uri(output_path: str, training_job_name: str, compression: str) -> str:
    """``ModelArtifacts.S3ModelArtifacts``: ``<output>/<job>/output/model.tar.gz``, or the
    prefix ``<output>/<job>/output/model/`` for uncompressed output (``NONE``)."""
    base = f"{output_path.rstrip('/')}/{training_job_name}/output"
    return f"{base}/model/" if compression == "NONE" else f"{base}/model.tar.gz"


def artifact_dir(
    output_path: str, training_job_name: str, s3_root: str | None = None
) -> str | None:
    """``<output>/<job>/output`` for a local output path, None for any other protocol."""
    base = local_path(output_path, s3_root)
    return None if base is None else os.path.join(base, training_job_name, "output")


def output_reachable(output_path: str, data: DataPlane | str | None) -> bool:
    """True when artifacts can be written to ``output_path`` from here."""
    try:
        resolve(output_path, DataPlane.of(data))
    except LaunchError:
        return False
    return True


def package_outputs(
    layout: JobLayout,
    output_path: str,
    training_job_name: str,
    data: DataPlane | str | None = None,
    kms_key_id: str | None = None,
    compression: str = "GZIP",
) -> str | None:
    """Pack ``model/`` and ``output/data/`` (entries relative to the packed directory),
    encrypt them with ``kms_key_id``'s key if given, write them atomically under
    ``<output>/<job>/output/`` and return the URI of ``model.tar.gz`` (``file://`` for
    a local path); with ``compression`` ``NONE``, put each file as it is (encrypted if
    a key is given) under ``output/model/`` and ``output/data/`` and return the URI of
    the prefix ``output/model/``. None when ``output_path`` is not reachable. Raises
    ``OSError``, ``tarfile.TarError`` or :class:`LaunchError` (an unknown key)."""
    plane = DataPlane.of(data)
    try:
        target = resolve(output_path, plane).child(f"{training_job_name}/output")
    except LaunchError:
        return None
    key = _key(plane.kms, kms_key_id)
    for source in (layout.model_dir, layout.output_data_dir):
        _check_inside(source, layout.root)
    if compression == "NONE":
        _put_uncompressed(layout, target, key)
        model = target.child("model")
        if model.is_local and not output_path.startswith("s3://"):
            return Path(model.path).as_uri() + "/"
        return model.uri + "/"
    sources = ((layout.model_dir, "model.tar.gz"), (layout.output_data_dir, "output.tar.gz"))
    if key is None and target.is_local:  # the common case: packed in place, no copy
        for _, name in sources:  # the same clash check as put_file's, before any write
            check_no_clash(target.child(name))
        os.makedirs(target.path, exist_ok=True)
        remove_leftover_partials(target.path)  # a killed tunelab's half archive
        for source, name in sources:
            final = os.path.join(target.path, name)
            partial = partial_name(final)  # this writer's own: a concurrent one has another
            try:
                _pack(source, partial, name)
                os.replace(partial, final)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(partial)  # no half archive beside the artifacts
                raise
    else:
        _pack_elsewhere(layout, sources, target, key)
    model = target.child("model.tar.gz")
    if model.is_local and not output_path.startswith("s3://"):
        return Path(model.path).as_uri()
    return model.uri


def _put_uncompressed(layout: JobLayout, target: Location, key: tuple[str, bytes] | None) -> None:
    """Put every file of ``model/`` under ``target/model/`` and of ``output/data/`` under
    ``target/data/``, keeping their relative paths (each encrypted with ``key`` if given)."""
    os.makedirs(layout.root, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=layout.root, prefix=".artifacts-") as work:
        for source, prefix in ((layout.model_dir, "model"), (layout.output_data_dir, "data")):
            for folder, _, files in sorted(os.walk(source)):
                for name in sorted(files):
                    path = os.path.join(folder, name)
                    _check_inside(path, layout.root)  # a link's target is what is put
                    relative = os.path.relpath(path, source).replace(os.sep, "/")
                    if key is not None:
                        encrypted = os.path.join(work, "file.enc")
                        encrypt_file(path, encrypted, key[1], key[0])
                        path = encrypted
                    put_file(path, target.child(f"{prefix}/{relative}"))


def _pack_elsewhere(
    layout: JobLayout,
    sources: tuple[tuple[str, str], ...],
    target: Location,
    key: tuple[str, bytes] | None,
) -> None:
    """Pack (and encrypt) in a scratch directory of the job, then put each archive."""
    os.makedirs(layout.root, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=layout.root, prefix=".artifacts-") as work:
        for source, name in sources:
            packed = os.path.join(work, name)
            _pack(source, packed, name)
            if key is not None:
                encrypt_file(packed, packed + ".enc", key[1], key[0])
                packed += ".enc"
            put_file(packed, target.child(name))


def _check_inside(path: str, root: str) -> None:
    """Raise ``ValueError`` when ``path`` is a link that leads out of the job directory
    ``root``: SageMaker packs what is in the container's ``/opt/ml/model`` and
    ``output/data``, so tunelab does not pull in files from elsewhere on the machine."""
    if not os.path.islink(path):
        return
    real, real_root = os.path.realpath(path), os.path.realpath(root)
    if os.path.commonpath([real, real_root]) != real_root:
        relative = os.path.relpath(path, root)
        raise ValueError(
            f"{relative} is a symbolic link to {real}, outside the job directory: only "
            "what is inside it is packed (as SageMaker packs /opt/ml/model and "
            "/opt/ml/output/data)"
        )


def _key(lookup: KeyLookup | None, key_id: str | None) -> tuple[str, bytes] | None:
    if not key_id:
        return None
    if lookup is None:
        raise LaunchError(
            f"OutputDataConfig.KmsKeyId {key_id!r}: no key store is configured for this executor"
        )
    try:
        return lookup(key_id)
    except KeyError:
        raise LaunchError(
            f"OutputDataConfig.KmsKeyId {key_id!r} is not a key in tunelab's key store "
            "(tunelab kms list)"
        ) from None


def _pack(source: str, archive: str, name: str) -> None:
    """Write ``source``'s entries as a gzipped tar to ``archive``, whose gzip header names
    the artifact as gzip would (``name`` less ``.gz``), whatever ``archive`` is called."""
    with (
        open(archive, "wb") as raw,
        gzip.GzipFile(name, "wb", _COMPRESS_LEVEL, raw) as packed,
        tarfile.open(fileobj=packed, mode="w") as tar,
    ):
        if os.path.isdir(source):
            for entry in sorted(os.listdir(source)):
                tar.add(os.path.join(source, entry), arcname=entry)


def encrypt_file(source: str, dest: str, key: bytes, key_id: str) -> None:
    """Encrypt ``source`` into ``dest`` (AES-256-GCM, streamed)."""
    nonce = os.urandom(12)
    ident = key_id.encode()
    header = MAGIC + struct.pack(">H", len(ident)) + ident + nonce
    encryptor = Cipher(algorithms.AES(key), modes.GCM(nonce)).encryptor()
    encryptor.authenticate_additional_data(header)
    with open(source, "rb") as src, open(dest, "wb") as out:
        out.write(header)
        while chunk := src.read(_CHUNK):
            out.write(encryptor.update(chunk))
        out.write(encryptor.finalize())
        out.write(encryptor.tag)


def is_encrypted(path: str) -> bool:
    with open(path, "rb") as f:
        return f.read(len(MAGIC)) == MAGIC


def encrypted_key_id(path: str) -> str:
    """The key id an encrypted artifact names (``ValueError`` if it is not one)."""
    with open(path, "rb") as f:
        return _header(f)[1]


def _header(f) -> tuple[bytes, str, bytes]:  # type: ignore[no-untyped-def]
    if f.read(len(MAGIC)) != MAGIC:
        raise ValueError("not an artifact encrypted by tunelab")
    (length,) = struct.unpack(">H", f.read(2))
    ident = f.read(length)
    nonce = f.read(12)
    if len(ident) != length or len(nonce) != 12:
        raise ValueError("truncated encrypted artifact")
    return MAGIC + struct.pack(">H", length) + ident + nonce, ident.decode(), nonce


def decrypt_file(source: str, dest: str, lookup: KeyLookup) -> str:
    """Decrypt ``source`` into ``dest`` and return the key id; ``ValueError`` when the
    artifact was altered or the key is not the one that encrypted it (``dest`` is then
    not written), ``KeyError`` for a key the store does not hold."""
    size = os.path.getsize(source)
    with open(source, "rb") as src:
        header, key_id, nonce = _header(src)
        body = size - len(header) - _TAG
        if body < 0:
            raise ValueError("truncated encrypted artifact")
        src.seek(size - _TAG)
        tag = src.read(_TAG)
        src.seek(len(header))
        decryptor = Cipher(algorithms.AES(lookup(key_id)[1]), modes.GCM(nonce, tag)).decryptor()
        decryptor.authenticate_additional_data(header)
        partial = partial_name(dest)
        try:
            with open(partial, "wb") as out:
                remaining = body
                while remaining > 0:
                    chunk = src.read(min(_CHUNK, remaining))
                    if not chunk:
                        raise ValueError("truncated encrypted artifact")
                    remaining -= len(chunk)
                    out.write(decryptor.update(chunk))
                out.write(decryptor.finalize())
            os.replace(partial, dest)
        except InvalidTag:
            os.unlink(partial)
            raise ValueError(
                "the artifact does not decrypt: it was altered, or encrypted with another key"
            ) from None
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(partial)
            raise
    return key_id
