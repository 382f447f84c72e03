"""Local locations written as URIs: ``file:///abs/path``, ``/abs/path``,
``file:relative/path`` (relative to the current directory; the CLI rewrites
paths relative to a job file before it submits the job), and ``s3://bucket/key``
when tunelab's local object store is in use (``s3_root``: ``<root>/<bucket>/<key>``).

An ``s3://`` key maps to a file path, so a key with a ``.``, ``..`` or empty segment
(``a//b``, a leading ``/``) could name a file outside its bucket, or another key's file:
:func:`s3_key_problem` says why such a URI is refused and :func:`local_path` raises
:class:`UnsafeS3Uri` for it, whatever the roles allow."""

from __future__ import annotations

import os
from urllib.parse import unquote, urlparse


class UnsafeS3Uri(ValueError):
    """An ``s3://`` URI whose bucket or key cannot name a location (see :func:`s3_key_problem`);
    ``str()`` is the reason, naming the URI."""


def s3_key_problem(uri: str) -> str | None:
    """Why the ``s3://`` URI ``uri`` is refused (no bucket, a bucket ``.`` or ``..``, or a
    key with a ``.``, ``..`` or empty segment; a trailing ``/`` is allowed), or None when
    it is acceptable (and for any other scheme)."""
    if not uri.startswith("s3://"):
        return None
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not bucket or bucket in (".", "..") or "\\" in bucket:
        return f"{uri}: {bucket!r} is not a bucket name (s3://bucket/key)"
    segment = unsafe_segment(key[:-1] if key.endswith("/") else key) if key else None
    if segment is not None:  # (a prefix's trailing "/": "train/" is the segment "train")
        what = "an empty segment" if not segment else f"a {segment!r} segment"
        return (
            f"{uri}: the key {key!r} has {what}; tunelab refuses '.', '..' and empty "
            "segments in s3:// keys"
        )
    return None


def unsafe_segment(path: str) -> str | None:
    """The first ``/``-separated segment of ``path`` that is empty, ``.`` or ``..`` (a
    path that could leave, or name other than, the folder it is relative to), or None."""
    return next((part for part in path.split("/") if part in ("", ".", "..")), None)


def local_path(uri: str, s3_root: str | None = None) -> str | None:
    """The local filesystem path named by ``uri``, or None when it is not local
    (``https://``..., or ``s3://`` without a local object store). An ``s3://`` URI
    always maps to ``<s3_root>/<bucket>/<key>`` (never outside it): one that
    :func:`s3_key_problem` refuses raises :class:`UnsafeS3Uri`."""
    if uri.startswith("s3://"):
        if s3_root is None:
            return None
        problem = s3_key_problem(uri)
        if problem is not None:
            raise UnsafeS3Uri(problem)
        bucket, _, key = uri[len("s3://") :].partition("/")
        path = os.path.join(s3_root, bucket, key)
        bucket_dir = os.path.normpath(os.path.join(s3_root, bucket))
        inside = os.path.normpath(path)
        if inside != bucket_dir and not inside.startswith(bucket_dir + os.sep):
            raise UnsafeS3Uri(f"{uri}: the key names a file outside its bucket")
        return path + "/" if key.endswith("/") and not path.endswith("/") else path
    if uri.startswith("file:"):
        parsed = urlparse(uri)
        if parsed.netloc not in ("", "localhost"):
            return None
        rest = unquote(parsed.path)
        return rest if rest.startswith("/") else os.path.abspath(rest)
    if "://" in uri:
        return None
    return os.path.abspath(uri)


def file_uri(path: str) -> str:
    """``file:///abs/path`` for a local path."""
    return "file://" + os.path.abspath(path)


def image_path_problem(image: str | None) -> str | None:
    """Why a ``TrainingImage`` written as an absolute path (``/abs/train.py``, which no
    container image name can be) is refused: a program is named ``file:///abs/train.py``.
    None for any other image."""
    if not image or not image.startswith("/"):
        return None
    return (
        f"{image!r} is a path: write it as {file_uri(image)} (tunelab runs programs named "
        "by file:// URIs)"
    )
