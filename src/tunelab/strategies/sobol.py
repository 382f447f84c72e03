"""Scrambled Sobol points read by index: the initial designs' space-filling draws.

``SobolPoints(dimension, seed)[i]`` is the i-th point of one scrambled Sobol sequence
in the unit cube; the same seed gives the same sequence, so a strategy keeps only
(seed, position) in its state. Points are generated in blocks of powers of two (the
first 2^m points of the sequence do not depend on m).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import qmc

MIN_BLOCK = 6
"""The first block holds 2^MIN_BLOCK points."""


class SobolPoints:
    def __init__(self, dimension: int, seed: int) -> None:
        self.dimension, self.seed = dimension, seed
        self._points: np.ndarray | None = None

    def __getitem__(self, index: int) -> np.ndarray:
        if self._points is None or index >= len(self._points):
            m = max(MIN_BLOCK, math.ceil(math.log2(index + 1)) + 1)
            sobol = qmc.Sobol(self.dimension, scramble=True, seed=self.seed)
            self._points = sobol.random_base2(m)
        return self._points[index]
