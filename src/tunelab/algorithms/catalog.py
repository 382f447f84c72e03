"""The built-in algorithms by name."""

from __future__ import annotations

from tunelab.algorithms import knn_spec, lightgbm_spec, linear_learner_spec, xgboost_spec
from tunelab.algorithms.spec import AlgorithmSpec

BUILTINS: dict[str, AlgorithmSpec] = {
    spec.name: spec
    for spec in (xgboost_spec.SPEC, linear_learner_spec.SPEC, knn_spec.SPEC, lightgbm_spec.SPEC)
}


def get(name: str) -> AlgorithmSpec | None:
    """The built-in called ``name`` (``tunelab/`` prefix and case ignored), or None."""
    key = name.strip().lower().removeprefix("tunelab/")
    return BUILTINS.get(key)


def names() -> list[str]:
    return list(BUILTINS)
