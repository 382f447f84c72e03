"""Reading a file a training program could have replaced (``output/failure``, its log),
without being led astray: only a regular file is read, never a FIFO (whose open blocks
until a writer comes), a device or a socket; a symlink only when it resolves inside the
folder the file belongs to; and at most a bounded number of bytes.
"""

from __future__ import annotations

import os
import stat

_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_NOCTTY | os.O_CLOEXEC


def open_regular_file(path: str, root: str) -> int | None:
    """A read-only descriptor of ``path`` (the caller closes it), or None when it is
    missing, not a regular file, or resolves outside ``root``. Never blocks."""
    try:
        real, real_root = os.path.realpath(path), os.path.realpath(root)
        if os.path.commonpath([real, real_root]) != real_root:
            return None
        fd = os.open(real, _FLAGS)  # O_NONBLOCK: opening a FIFO returns at once
    except (OSError, ValueError):
        return None
    try:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            return fd
    except OSError:
        pass
    os.close(fd)
    return None


def read_regular_file(path: str, root: str, max_bytes: int, *, tail: bool = False) -> bytes | None:
    """At most ``max_bytes`` of ``path`` (its last ones with ``tail``), or None as for
    :func:`open_regular_file`."""
    fd = open_regular_file(path, root)
    if fd is None:
        return None
    try:
        if tail:
            os.lseek(fd, max(0, os.fstat(fd).st_size - max_bytes), os.SEEK_SET)
        chunks: list[bytes] = []
        left = max_bytes
        while left > 0 and (chunk := os.read(fd, left)):
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)
