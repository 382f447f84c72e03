"""Model features of one definition's search space.

A configuration becomes a feature vector with one entry per range: the unit-cube
coordinate of a continuous or integer range (``SearchSpace.encode``), or the index
of a categorical value. Integer coordinates are snapped to the centre of their value's
bin, so every feature vector the optimizer proposes decodes to exactly one
configuration and encodes back to the same vector.

``ScalingType.Auto`` numeric ranges whose values are positive and span at least a
factor :data:`MIN_WARP_RATIO` are *warpable*: the Gaussian process learns a warping
``w_s(u) = log(1 + (R**s - 1) u) / log(R**s)`` (``s = 0`` linear, ``s = 1`` exactly
the logarithmic encoding, ``R`` the ratio of the range's ends, at most
``e**MAX_WARP_LOG_RATIO``), i.e. whether the range behaves logarithmically, as
SageMaker's Auto scaling does.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from tunelab.domain.enums import ScalingType
from tunelab.domain.search_space import (
    CategoricalRange,
    ContinuousRange,
    IntegerRange,
    ParamValue,
    SearchSpace,
)

MIN_WARP_RATIO = 4.0
MAX_WARP_LOG_RATIO = 600.0
"""``ln R`` is capped here (R = e**600, 260 decades): ``R**s`` must stay a finite float.
A range spanning more decades (``[1e-300, 1e300]``) gets the warping of one that spans
260, still nearly its logarithmic encoding at ``s = 1``."""

Config = tuple[ParamValue, ...]


class SpaceEncoder:
    """Feature encoding of one ``SearchSpace`` (see the module doc)."""

    def __init__(self, space: SearchSpace) -> None:
        self.space = space
        self.dimension = space.dimension
        self.is_cat = np.array([isinstance(r, CategoricalRange) for r in space.ranges], bool)
        self.n_values = np.array(
            [r.cardinality if isinstance(r, CategoricalRange | IntegerRange) else 0
             for r in space.ranges],
            dtype=float,
        )  # fmt: skip
        """Values of each categorical or integer range (0 for continuous ones), as floats:
        an integer range may hold more values than an int64 can count."""
        self.is_int = np.array([isinstance(r, IntegerRange) for r in space.ranges], bool)
        self.log_ratio = np.array([_warp_log_ratio(r) for r in space.ranges])
        """ln R for warpable ranges, 0 for the others."""

    @property
    def warped(self) -> np.ndarray:
        return np.flatnonzero(self.log_ratio > 0)

    @property
    def numeric(self) -> np.ndarray:
        return np.flatnonzero(~self.is_cat)

    def key(self, params: Mapping[str, ParamValue]) -> Config:
        return tuple(params[n] for n in self.space.names)

    def features(self, params: Mapping[str, ParamValue]) -> np.ndarray | None:
        """The feature vector, or None when ``params`` lie outside this space
        (e.g. a warm-start parent's configuration beyond the current ranges)."""
        if set(params) != set(self.space.names):
            return None
        x = np.empty(self.dimension)
        for i, r in enumerate(self.space.ranges):
            value = params[r.name]
            if isinstance(r, CategoricalRange):
                if str(value) not in r.values:
                    return None
                x[i] = r.values.index(str(value))
                continue
            if isinstance(value, str) or not r.min_value <= value <= r.max_value:
                return None
            if isinstance(r, IntegerRange):
                value = int(value)
            x[i] = r.encode(value)
        return x

    def snap(self, x: np.ndarray) -> np.ndarray:
        """Feature vectors (rows) moved to the nearest representable point: categorical
        indices rounded, integer coordinates moved to their value's bin centre."""
        x = np.array(x, dtype=float, copy=True)
        for i, r in enumerate(self.space.ranges):
            if isinstance(r, CategoricalRange):
                x[:, i] = np.clip(np.round(x[:, i]), 0, len(r.values) - 1)
            elif isinstance(r, IntegerRange):
                x[:, i] = [r.encode(r.decode(float(u))) for u in x[:, i]]
            else:
                x[:, i] = np.clip(x[:, i], 0.0, 1.0)
        return x

    def from_unit(self, u: np.ndarray) -> np.ndarray:
        """Feature vectors of unit-cube points (rows), snapped."""
        x = np.array(u, dtype=float, copy=True)
        for i in np.flatnonzero(self.is_cat):
            x[:, i] = np.minimum(np.floor(u[:, i] * self.n_values[i]), self.n_values[i] - 1)
        return self.snap(x)

    def params(self, x: np.ndarray) -> dict[str, ParamValue]:
        """The configuration of one snapped feature vector."""
        out: dict[str, ParamValue] = {}
        for i, r in enumerate(self.space.ranges):
            if isinstance(r, CategoricalRange):
                out[r.name] = r.values[round(float(x[i]))]
            else:
                out[r.name] = r.decode(float(x[i]))
        return out


def _warp_log_ratio(r: object) -> float:
    """``ln R`` of a warpable range (at most :data:`MAX_WARP_LOG_RATIO`), else 0."""
    if isinstance(r, ContinuousRange) and r.scaling is ScalingType.AUTO and r.min_value > 0:
        log_ratio = math.log(r.max_value) - math.log(r.min_value)  # the ratio may overflow
    elif isinstance(r, IntegerRange) and r.scaling is ScalingType.AUTO and r.min_value >= 1:
        log_ratio = math.log(r.max_value + 0.5) - math.log(r.min_value - 0.5)
    else:
        return 0.0
    return min(log_ratio, MAX_WARP_LOG_RATIO) if log_ratio >= math.log(MIN_WARP_RATIO) else 0.0


def warp(u: np.ndarray, s: float, log_ratio: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``w_s(u)``, ``dw/du`` and ``dw/ds`` (see the module doc); ``s`` in [0.01, 1]."""
    c = math.expm1(s * log_ratio)
    lc = math.log1p(c)  # = s * log_ratio
    cu1 = 1.0 + c * u
    w = np.log1p(c * u) / lc
    dw_du = c / (cu1 * lc)
    dw_dc = (u / cu1 * lc - np.log1p(c * u) / (1.0 + c)) / lc**2
    dw_ds = dw_dc * log_ratio * (1.0 + c)
    return w, dw_du, dw_ds
