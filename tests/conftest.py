"""Fixtures shared by several test packages."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

RAY_CPUS = 8
"""The CPUs the test Ray cluster's one node offers (``ray start --num-cpus``)."""
RAY_MEMORY_GIB = 8
"""The memory it offers (``ray start --memory``): four ml.m5.large (8 GiB / overcommit 4)."""


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[str]:
    """A one-node Ray cluster started by this test process for the whole session (about
    4 s); yields its address, which other processes join with ``TUNELAB_RAY_ADDRESS``."""
    import ray  # the ray extra: scripts/setup installs it for the tests

    ray.init(
        address="local",  # a new cluster, even where one runs already
        num_cpus=RAY_CPUS,
        _memory=RAY_MEMORY_GIB * 2**30,
        include_dashboard=False,
        log_to_driver=False,
        logging_level=logging.ERROR,
    )
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()
