"""One BLAS/OpenMP thread in tunelab's own process. The Bayesian strategy's linear
algebra on small matrices is fastest single-threaded, and a multi-threaded BLAS
competing with training jobs for the cores made one suggest ~15x slower. The limit
applies to this process only (threadpoolctl), never to the training jobs it starts,
whose threads are their own business (``OMP_NUM_THREADS`` per job)."""

from __future__ import annotations

from tunelab.domain.enums import StrategyType
from tunelab.domain.tuning_job import TuningJobSpec
from tunelab.strategies.hyperband_sampling import SAMPLER_TAG

_limited = False


def uses_linear_algebra(spec: TuningJobSpec) -> bool:
    """The job's strategy fits Gaussian processes (scipy): Bayesian, or Hyperband with
    the ``gp`` sampler. Other jobs never load scipy, and need no limit."""
    sampler = dict(spec.tags).get(SAMPLER_TAG)
    return spec.strategy is StrategyType.BAYESIAN or (
        spec.strategy is StrategyType.HYPERBAND and sampler == "gp"
    )


def limit_math_threads() -> None:
    """Limit BLAS/OpenMP pools of the already loaded native libraries to one thread
    (idempotent)."""
    global _limited
    if _limited:
        return
    import numpy  # noqa: F401  (its BLAS must be loaded for threadpoolctl to see it)
    import scipy.linalg  # noqa: F401
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)
    _limited = True
