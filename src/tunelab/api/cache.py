"""Answers of read operations (Describe*, List*), kept while what they depend on is
unchanged.

Every answer of those operations is computed from the store alone. Each request is
mapped to the store scopes its answer depends on (``tunelab.store.sql.changes``: this
tuning job and its training jobs, this training job, any tuning job, ...). Their
generations are read *before* the answer is computed and stored with it; the entry is
served only while every one of them is unchanged, so this process's own writes (API
requests and the scheduler's) show at once: an answer computed while a commit landed
carries the older generation and is never served.

Writes by *other processes* sharing the database (``tunelab run``, ``tunelab stop``)
are not seen by the generations: an entry is also dropped at most ``max_age`` seconds
after it was computed, so they show within that time. Without generations (a store other than
``SqlStore``) nothing is cached.
"""

from __future__ import annotations

import random
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any

from tunelab.domain.names import parse_arn

Scope = tuple[str, ...]
Generations = Callable[[Iterable[Scope]], tuple[int, ...]]
ALL_TUNING: Scope = ("tuning",)
ALL_TRAINING: Scope = ("training",)
ALGORITHMS: Scope = ("algorithms",)
DOCUMENTS: Scope = ("documents",)
BY_TUNING_JOB = ("DescribeHyperParameterTuningJob", "ListTrainingJobsForHyperParameterTuningJob")
RESOURCE_SCOPE = {
    "hyper-parameter-tuning-job": "tuning",
    "training-job": "training",
}


def _name(request: dict[str, Any], member: str) -> str | None:
    value = request.get(member)
    return value.lower() if isinstance(value, str) else None


def dependencies(operation: str, request: dict[str, Any]) -> list[Scope] | None:
    """The scopes the answer to ``request`` depends on; None: do not cache it."""
    if operation in BY_TUNING_JOB:
        name = _name(request, "HyperParameterTuningJobName")
        return None if name is None else [("tuning", name)]
    if operation == "DescribeTrainingJob":
        name = _name(request, "TrainingJobName")  # and its tuning job's definition
        return None if name is None else [("training", name), DOCUMENTS]
    if operation == "ListHyperParameterTuningJobs":
        return [ALL_TUNING]
    if operation == "ListTrainingJobs":
        return [ALL_TRAINING]
    if operation in ("DescribeAlgorithm", "ListAlgorithms"):
        return [ALGORITHMS]
    if operation == "ListTags":
        arn = request.get("ResourceArn")
        parsed = parse_arn(arn) if isinstance(arn, str) else None
        if parsed is None:
            return None
        resource_type, name = parsed[0], parsed[1].lower()
        exists: Scope = (
            ALGORITHMS
            if resource_type == "algorithm"
            else (RESOURCE_SCOPE.get(resource_type, resource_type), name)
        )
        return [("tags", resource_type, name), exists]
    return None


class ResponseCache:
    """Least recently used answers, at most ``max_bytes`` of them, each valid for
    between half of ``max_age`` and ``max_age`` seconds (spread, so that answers
    computed together do not all expire together). Not thread-safe: the server uses it
    from its event loop only (the generations it reads are updated by any thread)."""

    def __init__(
        self,
        generations: Generations | None,
        max_age: float = 1.0,
        max_bytes: int = 32 << 20,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._generations, self._clock = generations, clock
        self.max_age, self._max_bytes = max_age, max_bytes
        self._entries: OrderedDict[Hashable, tuple[tuple[int, ...], float, bytes]] = OrderedDict()
        self._bytes = 0
        self._random = random.Random()
        self.hits = self.misses = 0

    def lookup(
        self, key: Hashable, scopes: Sequence[Scope]
    ) -> tuple[bytes | None, tuple[int, ...] | None]:
        """(the answer kept for ``key`` if still valid, the generations to store a new
        answer with: read now, before it is computed)."""
        if self._generations is None:
            return None, None
        now = self._generations(scopes)
        entry = self._entries.get(key)
        if entry is not None and entry[0] == now and self._clock() < entry[1]:
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[2], now
        self.misses += 1
        return None, now

    def put(self, key: Hashable, generations: tuple[int, ...] | None, payload: bytes) -> None:
        """Keep ``payload``, computed after ``generations`` were read."""
        if generations is None or len(payload) > self._max_bytes // 16:
            return
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= len(old[2])
        expires = self._clock() + self.max_age * (0.5 + self._random.random() / 2)
        self._entries[key] = (generations, expires, payload)
        self._bytes += len(payload)
        while self._bytes > self._max_bytes:
            _, (_, _, dropped) = self._entries.popitem(last=False)
            self._bytes -= len(dropped)
