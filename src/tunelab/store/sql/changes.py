"""What this process committed, per scope: a generation number that goes up right after
each commit touching the scope. A reader that notes the generations of the scopes an
answer depends on *before* computing it can later tell whether the answer may have
changed (``tunelab.api.cache``). Only this process's commits are seen: commits of other
processes sharing the database are not.

Scopes:

| scope | bumped by a commit that changes |
| --- | --- |
| ``("tuning", key)`` | the tuning job, or any of its training jobs (their status, values, ...) |
| ``("training", key)`` | the training job, its metric points, or the link to its tuning job |
| ``("tags", resource type, key)`` | the tags of one resource |
| ``ALL_TUNING`` / ``ALL_TRAINING`` | any tuning job / any training job |
| ``ALGORITHMS`` | the registered algorithms |
| ``DOCUMENTS`` | the request document of any tuning job (its definitions) |

``key`` is the lower-cased name (``rows.key``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

Scope = tuple[str, ...]
ALL_TUNING: Scope = ("tuning",)
ALL_TRAINING: Scope = ("training",)
ALGORITHMS: Scope = ("algorithms",)
DOCUMENTS: Scope = ("documents",)


def tuning(key: str) -> Scope:
    return ("tuning", key)


def training(key: str, tuning_key: str | None = None) -> list[Scope]:
    """A training job's scope, and its tuning job's when it has one."""
    return [("training", key)] if tuning_key is None else [("training", key), tuning(tuning_key)]


def tags(resource_type: str, key: str) -> Scope:
    return ("tags", resource_type, key)


class Changes:
    """Generations per scope; safe to share between threads."""

    def __init__(self) -> None:
        self._generations: dict[Scope, int] = {}
        self._lock = threading.Lock()

    def bump(self, scopes: Iterable[Scope]) -> None:
        """Call after a commit that changed ``scopes`` (before telling anyone it did)."""
        with self._lock:
            for scope in set(_widen(scopes)):
                self._generations[scope] = self._generations.get(scope, 0) + 1

    def generations(self, scopes: Iterable[Scope]) -> tuple[int, ...]:
        """The current generation of each scope, in order (0 for one never bumped)."""
        found = self._generations
        return tuple(found.get(scope, 0) for scope in scopes)


def _widen(scopes: Iterable[Scope]) -> Iterable[Scope]:
    for scope in scopes:
        yield scope
        if scope[0] == "tuning" and len(scope) == 2:
            yield ALL_TUNING
        elif scope[0] == "training" and len(scope) == 2:
            yield ALL_TRAINING
