"""Which bracket each new Hyperband job runs in, drawn from a random stream of its own.

Contract (:class:`BracketDraws`):

- The k-th configuration suggested gets the k-th draw of the bracket stream
  (:meth:`BracketDraws.assign`, when it is suggested); its job runs in that bracket
  from its first report on (:meth:`BracketDraws.take`, matched by definition and
  unit-cube point). The configurations come from another stream
  (:func:`derived_stream`), so with a ``RandomSeed`` the k-th job's bracket, and with
  the random sampler its configuration, do not depend on the order in which jobs
  report (with ``MaxParallelTrainingJobs`` > 1, timing decides that order).
- A job with no assignment (one the strategy did not suggest, or one suggested by a
  strategy saved before assignments existed) gets a fresh draw at its first report.
- The stream and the assignments still waiting for their job's first report are part
  of the strategy's state (:meth:`BracketDraws.to_json`, :meth:`BracketDraws.load`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Self

import numpy as np

from tunelab.strategies.base import rng_from_state, rng_state

SAME_POINT = 1e-6
"""A reporting job is an assigned suggestion when their points differ by less."""
PENDING_LIMIT = 1024
"""Assignments kept at most (the oldest go first: their job never reported)."""


def derived_stream(rng: np.random.Generator) -> np.random.Generator:
    """A generator fixed by ``rng``'s current state, which it leaves untouched, whose
    draws do not overlap ``rng``'s: ``rng``'s bit generator jumped ahead (for PCG64,
    ``default_rng``'s, as if about 2^127 numbers had been drawn). Raises
    AttributeError for a bit generator that cannot jump (SFC64)."""
    return np.random.Generator(rng.bit_generator.jumped())


class BracketDraws:
    """Bracket draws from ``rng`` with probabilities ``weights`` (see the module doc).
    Not thread-safe."""

    def __init__(self, rng: np.random.Generator, weights: Sequence[float]) -> None:
        self._rng, self._weights = rng, list(weights)
        self._pending: list[tuple[int, list[float], int]] = []
        """(definition index, point, bracket) of each suggestion whose job has not
        reported yet, oldest first."""

    def assign(self, index: int, point: Sequence[float]) -> None:
        """A configuration of definition ``index`` was suggested: draw its bracket."""
        self._pending.append((index, [float(u) for u in point], self._draw()))
        del self._pending[:-PENDING_LIMIT]

    def take(self, index: int, point: Sequence[float]) -> int:
        """The bracket of a job reporting for the first time: its assignment, or a
        fresh draw when it has none."""
        found = self._find(index, point)
        return self._draw() if found is None else self._pending.pop(found)[2]

    def forget(self, index: int, point: Sequence[float]) -> None:
        """A job ended before its first report: its assignment goes."""
        found = self._find(index, point)
        if found is not None:
            del self._pending[found]

    def to_json(self, names: Sequence[str | None]) -> dict[str, Any]:
        return {
            "rng": rng_state(self._rng),
            "pending": [[names[i], point, bracket] for i, point, bracket in self._pending],
        }

    @classmethod
    def load(
        cls, data: Mapping[str, Any], index: Mapping[str | None, int], weights: Sequence[float]
    ) -> Self:
        """Restore :meth:`to_json`'s output (KeyError for an unknown definition)."""
        draws = cls(rng_from_state(data["rng"]), weights)
        draws._pending = [
            (index[name], [float(u) for u in point], int(bracket))
            for name, point, bracket in data["pending"]
        ]
        return draws

    def _draw(self) -> int:
        return int(self._rng.choice(len(self._weights), p=self._weights))

    def _find(self, index: int, point: Sequence[float]) -> int | None:
        for k, (i, assigned, _) in enumerate(self._pending):
            if i == index and len(assigned) == len(point):
                gap = max((abs(a - b) for a, b in zip(assigned, point, strict=True)), default=0.0)
                if gap < SAME_POINT:
                    return k
        return None
