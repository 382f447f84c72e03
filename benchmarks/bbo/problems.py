"""Benchmark problems: synthetic functions with known optima, a mixed integer +
categorical function, and scikit-learn tuning tasks on bundled datasets.

Every objective is minimized and computed in-process. A parameter is
``Param(name, kind, low, high, log, choices)`` with ``kind`` in float / int / cat;
``log`` is "log" (Logarithmic), "linear" (Linear) or "auto" (SageMaker's default
Auto scaling: peers that have no such notion get a linear range).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Param:
    name: str
    kind: str  # "float" | "int" | "cat"
    low: float = 0.0
    high: float = 1.0
    scale: str = "linear"  # "linear" | "log" | "auto"
    choices: tuple[str, ...] = ()

    @property
    def log(self) -> bool:
        return self.scale == "log"


@dataclass(frozen=True)
class Problem:
    name: str
    params: tuple[Param, ...]
    objective: Callable[[dict[str, Any]], float] = field(repr=False)
    optimum: float | None = None
    """Known minimum; None: the best value seen anywhere in the benchmark."""


# -- synthetic -------------------------------------------------------------------------


def _branin(p: dict[str, Any]) -> float:
    x, y = p["x0"], p["x1"]
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (y - b * x**2 + c * x - 6) ** 2 + 10 * (1 - t) * math.cos(x) + 10


_H_A = np.array(
    [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8],
     [17, 8, 0.05, 10, 0.1, 14]]
)  # fmt: skip
_H_P = 1e-4 * np.array(
    [[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
     [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]]
)  # fmt: skip
_H_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])


def _hartmann6(p: dict[str, Any]) -> float:
    x = np.array([p[f"x{i}"] for i in range(6)])
    return float(-(_H_ALPHA * np.exp(-(_H_A * (x - _H_P) ** 2).sum(axis=1))).sum())


def _rosenbrock(p: dict[str, Any]) -> float:
    x = np.array([p[f"x{i}"] for i in range(4)])
    return float((100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum())


_MIXED_SHIFT = {"relu": 0.0, "tanh": 0.25, "sigmoid": 0.6, "linear": 1.0}
_MIXED_CENTRE = {"relu": 0.3, "tanh": 0.5, "sigmoid": 0.7, "linear": 0.2}


def _mixed(p: dict[str, Any]) -> float:
    """Two continuous, two integer (one log-scaled) and one categorical parameter
    interacting: the best x0 depends on the category, the best units on layers.
    Minimum 0 at act=relu, x0=0.3, x1=0.65, layers=3, units=64."""
    act, x0, x1 = p["act"], p["x0"], p["x1"]
    layers, units = p["layers"], p["units"]
    value = 4 * (x0 - _MIXED_CENTRE[act]) ** 2 + 2 * (x1 - 0.65) ** 2
    value += 0.3 * (1 - math.cos(8 * math.pi * (x1 - 0.65)))
    value += 0.15 * (layers - 3) ** 2 + 0.5 * (math.log2(units) - 3 - layers) ** 2
    return value + _MIXED_SHIFT[act]


# -- scikit-learn ------------------------------------------------------------------------


@cache
def _data(name: str) -> tuple[np.ndarray, np.ndarray]:
    from sklearn import datasets

    if name == "digits":
        x, y = datasets.load_digits(return_X_y=True)
        rng = np.random.default_rng(0)
        keep = rng.permutation(len(y))[:900]  # a fixed subsample keeps one fit ~0.1 s
        return x[keep], y[keep]
    return datasets.load_breast_cancer(return_X_y=True)


def _cv_error(model: Any, dataset: str) -> float:
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    x, y = _data(dataset)
    folds = StratifiedKFold(3, shuffle=True, random_state=0)
    return float(1.0 - cross_val_score(model, x, y, cv=folds).mean())


def _svc(p: dict[str, Any]) -> float:
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    model = make_pipeline(StandardScaler(), SVC(C=p["C"], gamma=p["gamma"], tol=1e-3))
    return _cv_error(model, "breast_cancer")


def _random_forest(p: dict[str, Any]) -> float:
    from sklearn.ensemble import RandomForestClassifier

    model = RandomForestClassifier(
        n_estimators=p["n_estimators"],
        max_depth=p["max_depth"],
        max_features=p["max_features"],
        min_samples_leaf=p["min_samples_leaf"],
        criterion=p["criterion"],
        random_state=0,
        n_jobs=1,
    )
    return _cv_error(model, "digits")


def _unit(names: int) -> tuple[Param, ...]:
    return tuple(Param(f"x{i}", "float", 0.0, 1.0) for i in range(names))


PROBLEMS: dict[str, Problem] = {
    p.name: p
    for p in (
        Problem(
            "branin",
            (Param("x0", "float", -5.0, 10.0), Param("x1", "float", 0.0, 15.0)),
            _branin,
            0.397887357729738,
        ),
        Problem("hartmann6", _unit(6), _hartmann6, -3.322368011391339),
        Problem(
            "rosenbrock4",
            tuple(Param(f"x{i}", "float", -5.0, 10.0) for i in range(4)),
            _rosenbrock,
            0.0,
        ),
        Problem(
            "mixed-int-cat",
            (
                Param("x0", "float", 0.0, 1.0),
                Param("x1", "float", 0.0, 1.0),
                Param("layers", "int", 1, 6),
                Param("units", "int", 4, 512, "log"),
                Param("act", "cat", choices=("relu", "tanh", "sigmoid", "linear")),
            ),
            _mixed,
            0.0,
        ),
        Problem(
            "svc-breast-cancer",
            (Param("C", "float", 1e-2, 1e4, "log"), Param("gamma", "float", 1e-6, 1.0, "log")),
            _svc,
        ),
        Problem(
            "rf-digits",
            (
                Param("n_estimators", "int", 4, 40, "auto"),
                Param("max_depth", "int", 2, 24),
                Param("max_features", "float", 0.02, 0.6, "auto"),
                Param("min_samples_leaf", "int", 1, 16),
                Param("criterion", "cat", choices=("gini", "entropy")),
            ),
            _random_forest,
        ),
    )
}


def random_config(problem: Problem, rng: np.random.Generator) -> dict[str, Any]:
    """A uniform draw in each parameter's native scale (log-uniform for log ranges)."""
    out: dict[str, Any] = {}
    for p in problem.params:
        if p.kind == "cat":
            out[p.name] = p.choices[int(rng.integers(len(p.choices)))]
        elif p.kind == "int":
            if p.log:
                v = math.exp(rng.uniform(math.log(p.low - 0.5), math.log(p.high + 0.5)))
                out[p.name] = int(min(max(round(v), p.low), p.high))
            else:
                out[p.name] = int(rng.integers(int(p.low), int(p.high) + 1))
        elif p.log:
            out[p.name] = float(math.exp(rng.uniform(math.log(p.low), math.log(p.high))))
        else:
            out[p.name] = float(rng.uniform(p.low, p.high))
    return out
