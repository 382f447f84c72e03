"""Local locations written as URIs: ``file:///abs/path``, ``/abs/path``,
``file:relative/path`` (relative to the current directory; the CLI rewrites
paths relative to a job file before it submits the job), and ``s3://bucket/key``
when tunelab's local object store is in use (``s3_root``: ``<root>/<bucket>/<key>``)."""

from __future__ import annotations

import os
from urllib.parse import unquote, urlparse


def local_path(uri: str, s3_root: str | None = None) -> str | None:
    """The local filesystem path named by ``uri``, or None when it is not local
    (``https://``..., or ``s3://`` without a local object store)."""
    if uri.startswith("s3://"):
        if s3_root is None:
            return None
        bucket, _, key = uri[len("s3://") :].partition("/")
        path = os.path.join(s3_root, bucket, key)
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
