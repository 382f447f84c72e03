"""Scrambled Sobol points read by index: one sequence per seed, whatever the block."""

from __future__ import annotations

import numpy as np

from tunelab.strategies.sobol import MIN_BLOCK, SobolPoints


def test_points_do_not_depend_on_the_order_they_are_read_in() -> None:
    ahead, in_order = SobolPoints(3, seed=11), SobolPoints(3, seed=11)
    late = ahead[300]  # the block grows past 2^MIN_BLOCK first
    first = [in_order[i] for i in range(301)]
    assert np.array_equal(late, first[300])
    assert np.array_equal(ahead[5], first[5])
    assert not np.array_equal(SobolPoints(3, seed=12)[5], first[5])


def test_every_prefix_of_a_power_of_two_is_stratified() -> None:
    points = SobolPoints(2, seed=0)
    for k in range(2, MIN_BLOCK + 3):
        block = np.array([points[i] for i in range(2**k)])
        assert np.all((block >= 0) & (block < 1))
        for axis in range(2):
            assert sorted((block[:, axis] * 2**k).astype(int)) == list(range(2**k))
