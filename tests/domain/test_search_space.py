"""Unit-cube encoding of every range kind: round trips (Hypothesis) and the
shape of each scaling."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tunelab.domain.enums import ScalingType
from tunelab.domain.search_space import (
    CategoricalRange,
    ContinuousRange,
    IntegerRange,
    SearchSpace,
)

unit = st.floats(0.0, 1.0, allow_nan=False)


@st.composite
def continuous_ranges(draw: st.DrawFn) -> ContinuousRange:
    scaling = draw(st.sampled_from(list(ScalingType)))
    if scaling is ScalingType.LOGARITHMIC:
        lo = draw(st.floats(1e-8, 1e6))
        hi = lo * draw(st.floats(1.001, 1e6))
    elif scaling is ScalingType.REVERSE_LOGARITHMIC:
        lo = draw(st.floats(0.0, 0.99))
        hi = draw(st.floats(lo + 1e-6, 0.999999))
        assume(hi > lo)
    else:
        lo = draw(st.floats(-1e6, 1e6))
        hi = lo + draw(st.floats(1e-3, 1e6))
    return ContinuousRange("x", lo, hi, scaling)


@st.composite
def integer_ranges(draw: st.DrawFn) -> IntegerRange:
    scaling = draw(
        st.sampled_from([ScalingType.AUTO, ScalingType.LINEAR, ScalingType.LOGARITHMIC])
    )
    lo = draw(
        st.integers(1, 10_000)
        if scaling is ScalingType.LOGARITHMIC
        else st.integers(-10_000, 10_000)
    )
    hi = lo + draw(st.integers(1, 100_000))
    return IntegerRange("n", lo, hi, scaling)


categorical_ranges = st.lists(
    st.text(min_size=1, max_size=8), min_size=1, max_size=30, unique=True
).map(lambda values: CategoricalRange("c", tuple(values)))


@given(continuous_ranges(), unit)
def test_continuous_decode_stays_in_range_and_round_trips(r: ContinuousRange, u: float) -> None:
    x = r.decode(u)
    assert r.min_value <= x <= r.max_value
    assert r.contains(x)
    # encode is the inverse of decode (up to floating-point rounding)
    assert r.decode(r.encode(x)) == pytest.approx(
        x, rel=1e-9, abs=1e-9 * (r.max_value - r.min_value)
    )


@given(continuous_ranges(), st.floats(0.0, 1.0))
def test_continuous_value_round_trips(r: ContinuousRange, t: float) -> None:
    x = min(r.max_value, r.min_value + t * (r.max_value - r.min_value))
    assert r.decode(r.encode(x)) == pytest.approx(
        x, rel=1e-7, abs=1e-7 * (r.max_value - r.min_value)
    )


@given(integer_ranges(), st.data())
def test_integer_values_round_trip_exactly(r: IntegerRange, data: st.DataObject) -> None:
    x = data.draw(st.integers(r.min_value, r.max_value))
    assert r.decode(r.encode(x)) == x
    u = data.draw(unit)
    decoded = r.decode(u)
    assert isinstance(decoded, int) and r.min_value <= decoded <= r.max_value


@given(categorical_ranges, st.data())
def test_categorical_values_round_trip(r: CategoricalRange, data: st.DataObject) -> None:
    value = data.draw(st.sampled_from(r.values))
    assert r.decode(r.encode(value)) == value
    assert r.decode(data.draw(unit)) in r.values


@given(
    st.lists(
        st.tuples(continuous_ranges(), integer_ranges(), categorical_ranges),
        min_size=1,
        max_size=3,
    ),
    st.data(),
)
def test_space_encode_decode_round_trip(parts, data: st.DataObject) -> None:
    ranges = []
    for i, (c, n, k) in enumerate(parts):
        ranges += [
            ContinuousRange(f"c{i}", c.min_value, c.max_value, c.scaling),
            IntegerRange(f"n{i}", n.min_value, n.max_value, n.scaling),
            CategoricalRange(f"k{i}", k.values),
        ]
    space = SearchSpace(tuple(ranges))
    point = np.array(data.draw(st.lists(unit, min_size=space.dimension, max_size=space.dimension)))
    params = space.decode(point)
    assert space.contains(params)
    again = space.decode(space.encode(params))
    for r in ranges:
        if isinstance(r, ContinuousRange):
            span = r.max_value - r.min_value
            assert again[r.name] == pytest.approx(params[r.name], rel=1e-7, abs=1e-7 * span)
        else:
            assert again[r.name] == params[r.name]
    # the wire form (strings) parses back to the same values
    assert space.parse(space.format(params)) == {
        name: float(v) if isinstance(space[name], ContinuousRange) else v
        for name, v in params.items()
    }


def test_logarithmic_scaling_puts_the_geometric_middle_at_half() -> None:
    r = ContinuousRange("lr", 1e-4, 1e-0, ScalingType.LOGARITHMIC)
    assert r.decode(0.5) == pytest.approx(1e-2)
    assert r.decode(0.25) == pytest.approx(1e-3)


def test_reverse_logarithmic_scaling_is_dense_near_one() -> None:
    r = ContinuousRange("momentum", 0.0, 0.999, ScalingType.REVERSE_LOGARITHMIC)
    assert r.decode(0.0) == 0.0
    assert r.decode(1.0) == pytest.approx(0.999)
    # half of the unit interval maps to values above 1 - sqrt(0.001) ~ 0.968
    assert r.decode(0.5) == pytest.approx(1 - math.sqrt(0.001))


def test_linear_and_auto_scaling_are_linear() -> None:
    for scaling in (ScalingType.LINEAR, ScalingType.AUTO):
        r = ContinuousRange("x", -1.0, 3.0, scaling)
        assert r.decode(0.25) == pytest.approx(0.0)


def test_integer_bins_have_equal_width_on_linear_scale() -> None:
    r = IntegerRange("depth", 2, 5)
    assert [r.decode(u) for u in (0.0, 0.24, 0.26, 0.49, 0.51, 0.74, 0.76, 1.0)] == [
        2,
        2,
        3,
        3,
        4,
        4,
        5,
        5,
    ]


def test_integer_log_scale_favours_small_values() -> None:
    r = IntegerRange("trees", 1, 1000, ScalingType.LOGARITHMIC)
    values = [r.decode(u) for u in np.linspace(0, 1, 101)]
    assert sum(v <= 31 for v in values) > 40  # sqrt(1000) ~ 31 is the log-scale middle


def test_grid_enumerates_discrete_spaces_in_lexicographic_order() -> None:
    space = SearchSpace((CategoricalRange("k", ("a", "b")), IntegerRange("n", 1, 3)))
    assert space.cardinality == 6
    assert list(space.grid()) == [
        {"k": "a", "n": 1},
        {"k": "a", "n": 2},
        {"k": "a", "n": 3},
        {"k": "b", "n": 1},
        {"k": "b", "n": 2},
        {"k": "b", "n": 3},
    ]


def test_continuous_space_has_no_cardinality_or_grid() -> None:
    space = SearchSpace((ContinuousRange("x", 0.0, 1.0),))
    assert space.cardinality is None
    with pytest.raises(ValueError, match="continuous"):
        list(space.grid())


def test_format_gives_strings_that_read_back() -> None:
    space = SearchSpace(
        (ContinuousRange("lr", 1e-6, 1.0, ScalingType.LOGARITHMIC), IntegerRange("n", 1, 9))
    )
    formatted = space.format({"lr": 1e-05, "n": 7})
    assert formatted == {"lr": "1e-05", "n": "7"}


def test_linear_range_wider_than_the_largest_float_spreads_its_values() -> None:
    """max - min overflows to inf for [-1e308, 1e308]: values still spread over it."""
    r = ContinuousRange("x", -1e308, 1e308, ScalingType.LINEAR)
    assert [r.decode(u) for u in (0.0, 0.25, 0.5, 1.0)] == [-1e308, -5e307, 0.0, 1e308]
    for x in (-1e308, -3e307, 0.0, 7e307, 1e308):
        assert r.decode(r.encode(x)) == pytest.approx(x, rel=1e-12)
    assert r.encode(0.0) == 0.5


@pytest.mark.parametrize(
    "r",
    [
        ContinuousRange("x", 0.3, 0.30000000000000004),
        ContinuousRange("x", 0.3, 0.30000000000000004, ScalingType.REVERSE_LOGARITHMIC),
        ContinuousRange("x", 1e300, math.nextafter(1e300, math.inf), ScalingType.LOGARITHMIC),
        ContinuousRange("x", 0.0, 1e-300, ScalingType.REVERSE_LOGARITHMIC),
        ContinuousRange("x", 0.0, 5e-324),
    ],
)
def test_ranges_of_a_few_floats_encode_and_decode_both_ends(r: ContinuousRange) -> None:
    """Ranges whose ends the logarithm (or the width) cannot tell apart: no division by
    zero, both ends reachable, every decoded value in the range."""
    assert r.decode(0.0) == r.min_value
    assert r.decode(1.0) == r.max_value
    for x in (r.min_value, r.max_value):
        assert r.decode(r.encode(x)) == x
    assert all(r.contains(r.decode(u)) for u in np.linspace(0.0, 1.0, 11))


def test_reverse_logarithmic_range_near_zero_keeps_its_resolution() -> None:
    r = ContinuousRange("x", 0.0, 1e-300, ScalingType.REVERSE_LOGARITHMIC)
    assert r.decode(0.5) == pytest.approx(5e-301)
    assert r.encode(2.5e-301) == pytest.approx(0.25)


@pytest.mark.parametrize(
    "r",
    [
        IntegerRange("n", 10**15, 10**15 + 5, ScalingType.LOGARITHMIC),
        IntegerRange("n", 10**20, 10**20 + 5, ScalingType.LOGARITHMIC),
        IntegerRange("n", -(10**255), 10**255 + 3),
        IntegerRange("n", 1, 10**255, ScalingType.LOGARITHMIC),
    ],
)
def test_integer_ranges_at_the_edges_of_float_precision(r: IntegerRange) -> None:
    """Bounds of up to 256 digits (the longest a request holds) and log ranges too narrow
    for the float logarithm: decode stays in the range and small ones round-trip."""
    assert all(r.contains(r.decode(u)) for u in np.linspace(0.0, 1.0, 101))
    assert r.decode(0.0) == r.min_value
    if r.cardinality <= 10:
        assert [r.decode(r.encode(v)) for v in r.values()] == list(r.values())


def test_grid_of_an_integer_range_larger_than_an_index_is_lazy() -> None:
    space = SearchSpace((IntegerRange("n", 0, 10**20), CategoricalRange("c", ("a", "b"))))
    grid = space.grid()
    assert [next(grid) for _ in range(3)] == [
        {"n": 0, "c": "a"},
        {"n": 0, "c": "b"},
        {"n": 1, "c": "a"},
    ]
