"""Hyperparameter importance: how much of the final objective's variance each
hyperparameter explains on its own.

The estimate is the epsilon-squared effect size of a one-way analysis of
variance, a first-order (main-effect) sensitivity index: the training jobs are
grouped by the hyperparameter's value (numbers with more than ``MAX_GROUPS``
distinct values into equal-count quantile bins, so scaling does not matter;
other values as they are), and

    importance = (SS_between - (k - 1) * MS_within) / SS_total, clipped to [0, 1]

which, unlike the plain share of variance (eta-squared), does not reward a
hyperparameter for splitting few jobs into many groups. It says nothing about
interactions between hyperparameters, and with few jobs it is noisy: it is
computed from at least ``MIN_JOBS`` jobs with a final objective. With several
definitions the definition itself is one more factor.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

MAX_GROUPS = 10
MIN_JOBS = 8
DEFINITION_FACTOR = "(definition)"


@dataclass(frozen=True)
class Importance:
    name: str
    value: float
    """Epsilon-squared in [0, 1]."""
    jobs: int
    """How many jobs had this hyperparameter and a final objective."""


def _groups(values: Sequence[str]) -> np.ndarray:
    """A group number per value: quantile bins for many distinct numbers, else one
    group per distinct value."""
    distinct = sorted(set(values))
    try:
        numbers = np.array([float(v) for v in values])
    except ValueError:
        numbers = None
    if numbers is None or len(distinct) <= MAX_GROUPS:
        index = {v: i for i, v in enumerate(distinct)}
        return np.array([index[v] for v in values])
    edges = np.quantile(numbers, np.linspace(0, 1, MAX_GROUPS + 1)[1:-1])
    return np.searchsorted(edges, numbers, side="right")


def epsilon_squared(groups: np.ndarray, y: np.ndarray) -> float:
    """One-way ANOVA's epsilon-squared of ``y`` by ``groups``, clipped to [0, 1]."""
    labels = np.unique(groups)
    k, n = len(labels), len(y)
    total = float(((y - y.mean()) ** 2).sum())
    if k < 2 or n <= k or total <= 0:
        return 0.0
    between = sum(
        float((groups == g).sum()) * (float(y[groups == g].mean()) - float(y.mean())) ** 2
        for g in labels
    )
    within_mean_square = (total - between) / (n - k)
    return float(min(1.0, max(0.0, (between - (k - 1) * within_mean_square) / total)))


def importances(
    jobs: Sequence[tuple[str | None, Mapping[str, str], float]],
) -> list[Importance]:
    """Importance of each tuned hyperparameter (and of the definition, when there are
    several) from (definition, tuned values, final objective) of training jobs,
    most important first. Empty when fewer than ``MIN_JOBS`` jobs have an objective."""
    finite = [(d, p, v) for d, p, v in jobs if np.isfinite(v)]
    if len(finite) < MIN_JOBS:
        return []
    names = sorted({name for _, params, _ in finite for name in params})
    found: list[Importance] = []
    factors: list[tuple[str, list[tuple[str, float]]]] = [
        (name, [(p[name], v) for _, p, v in finite if name in p]) for name in names
    ]
    if len({d for d, _, _ in finite}) > 1:
        factors.append((DEFINITION_FACTOR, [(d or "", v) for d, _, v in finite]))
    for name, pairs in factors:
        if len(pairs) < MIN_JOBS:
            continue
        y = np.array([v for _, v in pairs], dtype=float)
        value = epsilon_squared(_groups([x for x, _ in pairs]), y)
        found.append(Importance(name, value, len(pairs)))
    return sorted(found, key=lambda i: (-i.value, i.name))
