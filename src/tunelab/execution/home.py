"""Where tunelab keeps its files: ``$TUNELAB_HOME``, by default ``~/.tunelab``
(read by :mod:`tunelab.service.settings` and by script mode's environments folder)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path


def tunelab_home(env: Mapping[str, str]) -> Path:
    """``TUNELAB_HOME`` of ``env`` (``~`` expanded, absolute), else ``~/.tunelab``."""
    return Path(env.get("TUNELAB_HOME") or Path.home() / ".tunelab").expanduser().resolve()
