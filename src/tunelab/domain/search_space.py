"""Hyperparameter ranges and the search space: every range maps to one dimension
of the unit cube and back.

Contract (tested with Hypothesis): for every valid value ``x`` of a range,
``decode(encode(x)) == x`` (floats within rounding); for every ``u`` in [0, 1],
``decode(u)`` is a valid value. Integer and categorical values own a bin of the
unit interval; ``encode`` returns a point inside the bin (its centre, except for
log-scaled integers, where it is the log position of the value).

``ScalingType.Auto`` encodes linearly here; model-based strategies may learn a
warping on top of the linear encoding.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from tunelab.domain.enums import ScalingType

ParamValue = float | int | str


MIN_LOG_SPAN = 2.0**-20
"""A log-scaled range whose ends are closer than this on the log scale (a ratio under
1.000001) is encoded linearly: there the two scalings differ by less than a millionth of
the range, and the float logarithm may not tell its values apart at all."""


def _clip01(u: float) -> float:
    return 0.0 if u < 0.0 else 1.0 if u > 1.0 else float(u)


def _between(lo: float, hi: float, u: float) -> float:
    """``lo + u * (hi - lo)``, also when ``hi - lo`` overflows (``[-1e308, 1e308]``)."""
    span = hi - lo
    if math.isfinite(span):
        return lo + u * span
    return 2.0 * (lo / 2.0 + u * (hi / 2.0 - lo / 2.0))


def _fraction(x: float, lo: float, hi: float) -> float:
    """The inverse of :func:`_between`: ``(x - lo) / (hi - lo)``; 0.0 when ``lo == hi``."""
    span = hi - lo
    if span == 0.0:
        return 0.0
    if math.isfinite(span):
        return (x - lo) / span
    return (x / 2.0 - lo / 2.0) / (hi / 2.0 - lo / 2.0)


def format_float(x: float) -> str:
    """The shortest text that reads back as ``x`` (``0.1``, ``1e-05``, ``3.0``)."""
    return repr(float(x))


@dataclass(frozen=True)
class ContinuousRange:
    name: str
    min_value: float
    max_value: float
    scaling: ScalingType = ScalingType.AUTO

    def decode(self, u: float) -> float:
        u = _clip01(u)
        lo, hi = self.min_value, self.max_value
        ends = self._scaled_ends()
        if ends is None:
            x = _between(lo, hi, u)
        elif self.scaling is ScalingType.LOGARITHMIC:
            x = math.exp(_between(*ends, u))
        else:
            x = -math.expm1(_between(*ends, u))
        return min(max(x, lo), hi)

    def encode(self, x: ParamValue) -> float:
        x = float(x)
        ends = self._scaled_ends()
        if ends is None:
            return _clip01(_fraction(x, self.min_value, self.max_value))
        scaled = math.log(x) if self.scaling is ScalingType.LOGARITHMIC else math.log1p(-x)
        return _clip01(_fraction(scaled, *ends))

    def _scaled_ends(self) -> tuple[float, float] | None:
        """The ends on the log scale (``log x``, or ``log(1 - x)`` for ReverseLogarithmic),
        or None for a linear encoding: Auto or Linear scaling, or ends too close on the log
        scale (:data:`MIN_LOG_SPAN`; e.g. two neighbouring floats)."""
        lo, hi = self.min_value, self.max_value
        if self.scaling is ScalingType.LOGARITHMIC:
            ends = (math.log(lo), math.log(hi))
        elif self.scaling is ScalingType.REVERSE_LOGARITHMIC:
            ends = (math.log1p(-lo), math.log1p(-hi))
        else:
            return None
        return ends if abs(ends[1] - ends[0]) >= MIN_LOG_SPAN else None

    def contains(self, x: ParamValue) -> bool:
        return isinstance(x, int | float) and self.min_value <= float(x) <= self.max_value

    def format(self, x: ParamValue) -> str:
        return format_float(float(x))

    def parse(self, text: str) -> float:
        return float(text)

    @property
    def cardinality(self) -> int | None:
        return None


@dataclass(frozen=True)
class IntegerRange:
    name: str
    min_value: int
    max_value: int
    scaling: ScalingType = ScalingType.AUTO

    def log_ends(self) -> tuple[float, float] | None:
        """The outer edges of the end bins on the log scale for Logarithmic scaling, or
        None for linear bins: Auto or Linear scaling, or edges too close on the log scale
        (:data:`MIN_LOG_SPAN`; e.g. ``[10**15, 10**15 + 5]``, whose bins the float
        logarithm cannot tell apart)."""
        if self.scaling is not ScalingType.LOGARITHMIC:
            return None
        a, b = math.log(self.min_value - 0.5), math.log(self.max_value + 0.5)
        return (a, b) if b - a >= MIN_LOG_SPAN else None

    def decode(self, u: float) -> int:
        u = _clip01(u)
        lo, hi = self.min_value, self.max_value
        ends = self.log_ends()
        if ends is not None:
            a, b = ends
            x = math.floor(math.exp(a + u * (b - a)) + 0.5)
        else:
            x = lo + math.floor(u * (hi - lo + 1))
        return int(min(max(x, lo), hi))

    def encode(self, x: ParamValue) -> float:
        x = int(x)  # type: ignore[arg-type]
        lo, hi = self.min_value, self.max_value
        ends = self.log_ends()
        if ends is not None:
            a, b = ends
            return _clip01((math.log(x) - a) / (b - a))
        return _clip01((x - lo + 0.5) / (hi - lo + 1))

    def contains(self, x: ParamValue) -> bool:
        return isinstance(x, int) and self.min_value <= x <= self.max_value

    def format(self, x: ParamValue) -> str:
        return str(int(x))  # type: ignore[arg-type]

    def parse(self, text: str) -> int:
        return int(text)

    @property
    def cardinality(self) -> int:
        return self.max_value - self.min_value + 1

    def values(self) -> range:
        return range(self.min_value, self.max_value + 1)


@dataclass(frozen=True)
class CategoricalRange:
    name: str
    values: tuple[str, ...]

    def decode(self, u: float) -> str:
        n = len(self.values)
        return self.values[min(int(_clip01(u) * n), n - 1)]

    def encode(self, x: ParamValue) -> float:
        return (self.values.index(str(x)) + 0.5) / len(self.values)

    def contains(self, x: ParamValue) -> bool:
        return isinstance(x, str) and x in self.values

    def format(self, x: ParamValue) -> str:
        return str(x)

    def parse(self, text: str) -> str:
        return text

    @property
    def cardinality(self) -> int:
        return len(self.values)


ParameterRange = ContinuousRange | IntegerRange | CategoricalRange


@dataclass(frozen=True)
class SearchSpace:
    """The tuned hyperparameters of one training job definition, in a fixed order."""

    ranges: tuple[ParameterRange, ...] = field(default_factory=tuple)

    @property
    def dimension(self) -> int:
        return len(self.ranges)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.ranges)

    def __getitem__(self, name: str) -> ParameterRange:
        for r in self.ranges:
            if r.name == name:
                return r
        raise KeyError(name)

    def encode(self, params: Mapping[str, ParamValue]) -> np.ndarray:
        """Unit-cube point of ``params`` (one coordinate per range, in order)."""
        return np.array([r.encode(params[r.name]) for r in self.ranges], dtype=float)

    def decode(self, point: Sequence[float] | np.ndarray) -> dict[str, ParamValue]:
        """Hyperparameter values of a unit-cube point; coordinates are clipped to [0, 1]."""
        if len(point) != self.dimension:
            raise ValueError(f"point has {len(point)} coordinates, space has {self.dimension}")
        return {r.name: r.decode(float(u)) for r, u in zip(self.ranges, point, strict=True)}

    def contains(self, params: Mapping[str, ParamValue]) -> bool:
        return set(params) == set(self.names) and all(
            r.contains(params[r.name]) for r in self.ranges
        )

    def format(self, params: Mapping[str, ParamValue]) -> dict[str, str]:
        """The wire (string) form of ``params``, as a training job receives them."""
        return {r.name: r.format(params[r.name]) for r in self.ranges}

    def parse(self, values: Mapping[str, str]) -> dict[str, ParamValue]:
        """Inverse of :meth:`format`."""
        return {r.name: r.parse(values[r.name]) for r in self.ranges}

    @property
    def is_discrete(self) -> bool:
        return all(not isinstance(r, ContinuousRange) for r in self.ranges)

    @property
    def cardinality(self) -> int | None:
        """Number of distinct configurations, or None when a range is continuous."""
        if not self.is_discrete:
            return None
        return math.prod(r.cardinality or 0 for r in self.ranges)

    def grid(self) -> Iterator[dict[str, ParamValue]]:
        """Every configuration of a discrete space, in lexicographic order of the
        ranges (the last range varies fastest)."""
        axes: list[Sequence[ParamValue]] = []
        for r in self.ranges:
            if isinstance(r, CategoricalRange):
                axes.append(r.values)
            elif isinstance(r, IntegerRange):
                axes.append(r.values())
            else:
                raise ValueError(f"range {r.name!r} is continuous and has no grid")
        for combo in _product(axes):
            yield dict(zip(self.names, combo, strict=True))


def _product(axes: Sequence[Sequence[ParamValue]]) -> Iterator[tuple[ParamValue, ...]]:
    """``itertools.product(*axes)`` without copying each axis into a tuple first: an
    integer range may hold more values than memory (or an index) can."""
    if not axes:
        yield ()
        return
    for head in axes[0]:
        for tail in _product(axes[1:]):
            yield (head, *tail)
