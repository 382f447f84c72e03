"""Local locations written as URIs: ``file:///abs/path``, ``/abs/path``, and
``file:relative/path`` (relative to the current directory; the CLI rewrites
paths relative to a job file before it submits the job)."""

from __future__ import annotations

import os
from urllib.parse import unquote, urlparse


def local_path(uri: str) -> str | None:
    """The local filesystem path named by ``uri``, or None when it is not local
    (``s3://``, ``https://``...)."""
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
