"""A TPE-like density model for model-based Hyperband (BOHB-style sampling).

Given the configurations that reached one resource level (unit-cube points) and
their objective values there, the best ``GAMMA`` fraction (at least two) is
"good" and the rest "bad"; each set gets a product-kernel density: a Gaussian per
numeric dimension (Scott's bandwidth, at least ``MIN_BANDWIDTH``) and an
Aitchison-Aitken kernel per categorical dimension. A new configuration is the
candidate that maximizes l(x) / g(x) among ``CANDIDATES`` draws from the good
density with its bandwidths widened by ``BANDWIDTH_FACTOR`` (Falkner et al., BOHB,
2018). Pure numpy; randomness only from the generator passed in.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from tunelab.domain.enums import ObjectiveType
from tunelab.domain.search_space import CategoricalRange, SearchSpace

GAMMA = 0.15
"""Fraction of the observations that make the good density (BOHB's top 15%)."""
CANDIDATES = 64
BANDWIDTH_FACTOR = 3.0
MIN_BANDWIDTH = 0.03
CATEGORICAL_SMOOTHING = 0.2
"""Aitchison-Aitken lambda: the kernel's mass spread over the other categories."""


def min_observations(space: SearchSpace) -> int:
    """Observations a level needs before the model is fitted on it."""
    return max(6, space.dimension + 2)


class _ProductKDE:
    """A product-kernel density over unit-cube points of ``space``."""

    def __init__(self, space: SearchSpace, points: np.ndarray) -> None:
        self.points = points
        n, d = points.shape
        self.categories = [
            len(r.values) if isinstance(r, CategoricalRange) else 0 for r in space.ranges
        ]
        scott = n ** (-1.0 / (d + 4))
        spread = points.std(axis=0) if n > 1 else np.zeros(d)
        self.bandwidth = np.maximum(MIN_BANDWIDTH, spread * scott)
        self.index = np.array(
            [
                np.minimum((points[:, j] * m).astype(int), m - 1) if m else np.zeros(n, int)
                for j, m in enumerate(self.categories)
            ]
        ).T.reshape(n, d)

    def log_density(self, x: np.ndarray) -> np.ndarray:
        """log p of each row of ``x`` (shape (k, d)); returns shape (k,)."""
        log_kernel = np.zeros((x.shape[0], self.points.shape[0]))
        for j, m in enumerate(self.categories):
            if m:
                own = np.minimum((x[:, j] * m).astype(int), m - 1)
                same = own[:, None] == self.index[None, :, j]
                other = CATEGORICAL_SMOOTHING / (m - 1) if m > 1 else 0.0
                log_kernel += np.log(np.where(same, 1.0 - CATEGORICAL_SMOOTHING, other) + 1e-12)
            else:
                h = self.bandwidth[j]
                z = (x[:, j][:, None] - self.points[None, :, j]) / h
                log_kernel += -0.5 * z**2 - math.log(h * math.sqrt(2 * math.pi))
        top = log_kernel.max(axis=1, keepdims=True)
        mixture = np.log(np.exp(log_kernel - top).mean(axis=1))
        return top[:, 0] + mixture

    def sample(self, rng: np.random.Generator, count: int, widen: float) -> np.ndarray:
        """``count`` draws, numeric bandwidths multiplied by ``widen``, clipped to [0, 1]."""
        rows = self.points[rng.integers(len(self.points), size=count)].copy()
        for j, m in enumerate(self.categories):
            if m:
                switch = rng.random(count) < CATEGORICAL_SMOOTHING
                rows[switch, j] = (rng.integers(m, size=int(switch.sum())) + 0.5) / m
            else:
                rows[:, j] += rng.normal(0.0, self.bandwidth[j] * widen, size=count)
        return np.clip(rows, 0.0, 1.0)


class DensityModel:
    """Good and bad densities of one resource level (see the module doc). Needs at
    least three observations, so that both sets are non-empty."""

    def __init__(
        self,
        space: SearchSpace,
        points: Sequence[Sequence[float]],
        values: Sequence[float],
        objective_type: ObjectiveType,
    ) -> None:
        if len(values) < 3:
            raise ValueError("the density model needs at least three observations")
        order = np.argsort(np.asarray(values, dtype=float), kind="stable")
        if objective_type is ObjectiveType.MAXIMIZE:
            order = order[::-1]
        data = np.asarray(points, dtype=float).reshape(len(values), space.dimension)
        good = max(2, math.ceil(GAMMA * len(values)))
        self.good = _ProductKDE(space, data[order[:good]])
        self.bad = _ProductKDE(space, data[order[good:]])

    def score(self, candidates: np.ndarray) -> np.ndarray:
        """log l(x) - log g(x) for each row: higher is more promising."""
        return self.good.log_density(candidates) - self.bad.log_density(candidates)

    def candidates(self, rng: np.random.Generator, count: int = CANDIDATES) -> np.ndarray:
        return self.good.sample(rng, count, BANDWIDTH_FACTOR)
