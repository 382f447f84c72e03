"""Hyperband's brackets and ASHA's rung rule, as pure functions.

With ``MinResource`` r, ``MaxResource`` R and reduction factor eta, bracket ``b``
(0 = the most aggressive) has its rungs at r * eta^(b+k), k = 0, 1, ... below R;
R itself is where every job is stopped. There are s_max + 1 brackets, s_max the
largest s with r * eta^s <= R. New jobs go to bracket b with probability
proportional to the number of configurations synchronous Hyperband starts in it,
ceil(eta^s * (s_max+1) / (s+1)) with s = s_max - b, as ASHA-based Hyperband does.

The rung rule (asynchronous successive halving, stopping variant): a job reaching
a rung of its bracket goes on when its value there ranks in the top ceil(n / eta)
of the n values recorded at that rung so far, its own included; it is stopped
otherwise. Values only strictly better than the job's rank ahead of it, so the
first job at a rung always goes on, and a tie favours the newcomer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from tunelab.domain.enums import ObjectiveType


@dataclass(frozen=True)
class Observation:
    """A value a job reported at a resource level (used by the model-based samplers)."""

    point: tuple[float, ...]
    """Unit-cube point of the configuration."""
    level: int
    """Resource (reports of the objective) at which ``value`` was reported."""
    value: float


@dataclass(frozen=True)
class Brackets:
    min_resource: int
    max_resource: int
    eta: int = 3
    limit: int | None = None
    """Use only the first ``limit`` brackets (1 = plain ASHA); None: all of them."""

    def __post_init__(self) -> None:
        if not 1 <= self.min_resource <= self.max_resource or self.eta < 2:
            raise ValueError(f"invalid Hyperband resources: {self}")
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"invalid bracket limit: {self.limit}")

    @property
    def s_max(self) -> int:
        s = 0
        while self.min_resource * self.eta ** (s + 1) <= self.max_resource:
            s += 1
        return s

    @property
    def count(self) -> int:
        every = self.s_max + 1
        return every if self.limit is None else min(every, self.limit)

    def rungs(self, bracket: int) -> tuple[int, ...]:
        """The rung levels of ``bracket`` (numbers of reports), below MaxResource."""
        levels = []
        level = self.min_resource * self.eta**bracket
        while level < self.max_resource:
            levels.append(level)
            level *= self.eta
        return tuple(levels)

    def weights(self) -> list[float]:
        """Probability of each bracket for a new job."""
        s_max = self.s_max
        sizes = [
            math.ceil(self.eta**s * (s_max + 1) / (s + 1))
            for s in (s_max - b for b in range(self.count))
        ]
        total = sum(sizes)
        return [size / total for size in sizes]


@dataclass(frozen=True)
class Verdict:
    rank: int
    """1 for the best value at the rung; values equal to this one do not count."""
    recorded: int
    """Values at the rung, this one included."""
    keep: int
    """How many of them go on: ceil(recorded / eta)."""

    @property
    def promoted(self) -> bool:
        return self.rank <= self.keep


def judge(
    value: float, earlier: Sequence[float], objective_type: ObjectiveType, eta: int
) -> Verdict:
    """The rung rule for a job reporting ``value`` at a rung where ``earlier`` were
    recorded before it (see the module doc)."""
    ahead = sum(1 for other in earlier if objective_type.better(other, value))
    recorded = len(earlier) + 1
    return Verdict(rank=ahead + 1, recorded=recorded, keep=math.ceil(recorded / eta))
