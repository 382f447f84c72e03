"""Strategy tests run their linear algebra on one BLAS thread: the GP's matrices are
small, and a multi-threaded BLAS on a busy machine (tests run beside other processes)
spends far more time synchronizing threads than computing. threadpoolctl comes with
scikit-learn (a dev dependency); without it the tests still run, only slower."""

from __future__ import annotations

try:
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover - scikit-learn brings it
    pass
else:
    threadpool_limits(limits=1, user_api="blas")
