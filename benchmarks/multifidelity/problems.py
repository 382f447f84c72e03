"""The benchmark's problems: learning curves, one value of the objective per
resource unit (boosting round or epoch), to be replayed on the simulated executor.

- ``xgboost-digits``: XGBoost on scikit-learn's digits, validation multi-class
  log-loss after each of 81 boosting rounds;
- ``mlp-digits``: scikit-learn's MLPClassifier trained epoch by epoch
  (``partial_fit``) on digits, validation log-loss after each of 27 epochs;
- ``synthetic``: a family of power-law learning curves whose final value and
  speed depend on the configuration (slow starters are often the best at the
  end, so low-fidelity values mislead), 81 steps.

Real curves are computed once for a fixed pool of random configurations and
cached in ``cache/``; a configuration proposed by a tuner gets the curve of the
nearest pool configuration in the unit cube (a tabular benchmark with a 1-NN
surrogate, as in Syne Tune's blackbox repository). Every method sees the same
lookup. With ``--live`` the real problems are trained instead, for every proposed
configuration, one step per report (:mod:`training`).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from training import LiveCurve, Steps, curve, mlp_steps, xgboost_steps

from tunelab.domain.request import parse_tuning_job
from tunelab.domain.search_space import ParamValue, SearchSpace

CACHE = Path(__file__).parent / "cache"


@dataclass
class Problem:
    name: str
    ranges: dict[str, Any]
    """SageMaker ``ParameterRanges``."""
    max_resource: int
    space: SearchSpace
    curve_of_point: Callable[[np.ndarray], np.ndarray] | None = None
    """Computes the curve of a unit-cube point (problems that are not tabulated)."""
    table: _Table | None = None
    """The tabulated curves."""
    steps: Steps | None = None
    """The real training, step by step (``--live``)."""

    def __post_init__(self) -> None:
        if (self.curve_of_point is None) == (self.table is None):
            raise ValueError(f"{self.name}: give either curve_of_point or table")

    def lookup(self, unique: bool = False, live: bool = False) -> Lookup:
        """A fresh lookup for one run (see :class:`Lookup`)."""
        return Lookup(self, unique, live)


class Lookup:
    """One run's curves. On a tabulated problem a configuration gets the curve of the
    nearest pool configuration; with ``unique``, of the nearest one not used yet in
    this run (no configuration is evaluated twice in a run, as in Syne Tune's tabulated
    benchmarks), which turns proposals near a used configuration into a walk through
    its neighbours; with ``live``, its own curve, trained as it is read (the same
    configuration twice in a run shares one)."""

    def __init__(self, problem: Problem, unique: bool, live: bool = False) -> None:
        self._problem, self._unique, self._live = problem, unique, live
        self._used: set[int] = set()
        self._trained: dict[tuple[ParamValue, ...], LiveCurve] = {}
        self.taken = 0
        """Configurations whose nearest pool configuration had been used already."""

    def curve(self, params: Mapping[str, ParamValue]) -> Sequence[float]:
        table, u = self._problem.table, self._problem.space.encode(params)
        if table is None:
            assert self._problem.curve_of_point is not None  # see Problem.__post_init__
            return self._problem.curve_of_point(u)
        order = np.argsort(((table.points - u) ** 2).sum(axis=1), kind="stable")
        entry = int(order[0])
        if entry in self._used:
            self.taken += 1
            if self._unique:
                entry = next((int(e) for e in order if int(e) not in self._used), entry)
        self._used.add(entry)
        if self._live and self._problem.steps is not None:
            key = tuple(params[n] for n in self._problem.space.names)
            if key not in self._trained:
                steps = self._problem.steps(params)
                self._trained[key] = LiveCurve(steps, self._problem.max_resource)
            return self._trained[key]
        return table.curves[entry]


def space_of(ranges: dict[str, Any]) -> SearchSpace:
    document = {
        "HyperParameterTuningJobName": "space",
        "HyperParameterTuningJobConfig": {
            "Strategy": "Random",
            "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "loss"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 1, "MaxParallelTrainingJobs": 1},
            "ParameterRanges": ranges,
        },
        "TrainingJobDefinition": {
            "AlgorithmSpecification": {
                "TrainingImage": "file:///bin/true",
                "TrainingInputMode": "File",
                "MetricDefinitions": [{"Name": "loss", "Regex": "loss=(.*)"}],
            },
            "RoleArn": "arn:aws:iam::123456789012:role/b",
            "OutputDataConfig": {"S3OutputPath": "file:///tmp"},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
            "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
        },
    }
    return parse_tuning_job(document).definitions[0].search_space


def _cont(name: str, lo: float, hi: float, log: bool = False) -> dict[str, str]:
    scaling = "Logarithmic" if log else "Linear"
    return {"Name": name, "MinValue": str(lo), "MaxValue": str(hi), "ScalingType": scaling}


XGB_RANGES = {
    "ContinuousParameterRanges": [
        _cont("eta", 0.005, 1.0, log=True),
        _cont("min_child_weight", 0.1, 30.0, log=True),
        _cont("subsample", 0.3, 1.0),
        _cont("colsample_bytree", 0.2, 1.0),
        _cont("lambda", 0.001, 100.0, log=True),
    ],
    "IntegerParameterRanges": [
        {"Name": "max_depth", "MinValue": "1", "MaxValue": "12", "ScalingType": "Linear"}
    ],
}
MLP_RANGES = {
    "ContinuousParameterRanges": [
        _cont("learning_rate_init", 1e-5, 0.3, log=True),
        _cont("alpha", 1e-7, 1.0, log=True),
        _cont("beta_1", 0.5, 0.99),
    ],
    "IntegerParameterRanges": [
        {"Name": "hidden", "MinValue": "8", "MaxValue": "256", "ScalingType": "Logarithmic"},
        {"Name": "batch_size", "MinValue": "32", "MaxValue": "256", "ScalingType": "Logarithmic"},
    ],
}
SYNTHETIC_RANGES = {
    "ContinuousParameterRanges": [_cont(f"x{i}", 0.0, 1.0) for i in range(4)],
}


def _pool(name: str, space: SearchSpace, size: int, fn: Callable[..., np.ndarray]):
    """``size`` random configurations (a fixed stream, so a smaller pool is a prefix
    of a larger one) and their curves, from ``cache/`` or computed and cached; a
    larger pool reuses the curves of the largest smaller one cached."""
    path = CACHE / f"{name}-{size}.npz"
    if path.exists():
        data = np.load(path)
        return data["points"], data["curves"]
    rng = np.random.default_rng(12345)
    configs = [space.decode(p) for p in rng.random((size, space.dimension))]
    points = np.array([space.encode(c) for c in configs])
    known = _largest_cached_prefix(name, size)
    if known is not None and not np.allclose(known[0], points[: len(known[0])]):
        raise RuntimeError(f"cached pool of {name} is not a prefix of the {size}-pool")
    done = [] if known is None else list(known[1])
    print(f"computing {size - len(done)} learning curves of {name} (once; cached in {path})")
    with ProcessPoolExecutor(2) as pool:
        done += list(pool.map(fn, configs[len(done) :], chunksize=8))  # type: ignore[arg-type]
    curves = np.array(done)
    CACHE.mkdir(exist_ok=True)
    np.savez_compressed(path, points=points, curves=curves)
    return points, curves


def _largest_cached_prefix(name: str, size: int) -> tuple[np.ndarray, np.ndarray] | None:
    sizes = [int(f.stem.rsplit("-", 1)[1]) for f in CACHE.glob(f"{name}-*.npz")]
    smaller = [s for s in sizes if s < size]
    if not smaller:
        return None
    data = np.load(CACHE / f"{name}-{max(smaller)}.npz")
    return data["points"], data["curves"]


@dataclass(frozen=True)
class _Table:
    """A tabulated problem's pool: unit-cube points and their curves, row by row
    (:class:`Lookup` finds a configuration's nearest row)."""

    points: np.ndarray
    curves: np.ndarray


def _synthetic(u: np.ndarray) -> np.ndarray:
    """Final value from a shifted bowl, speed from u2 (slow ones end better), noise
    seeded by the point."""
    final = 0.1 + 0.6 * ((u[0] - 0.3) ** 2 + (u[1] - 0.7) ** 2) + 0.08 * u[2]
    speed = 0.25 + 1.5 * u[2]
    start = 1.2 + 0.6 * u[3]
    steps = np.arange(1, 82)
    digest = hashlib.sha256(np.round(u, 12).tobytes()).digest()
    noise = np.random.default_rng(int.from_bytes(digest[:8], "little")).normal(0, 0.004, 81)
    return final + (start - final) * steps ** (-speed) + noise


def problems(pool_sizes: tuple[int, int] = (500, 300)) -> list[Problem]:
    xgb_space, mlp_space = space_of(XGB_RANGES), space_of(MLP_RANGES)
    synthetic_space = space_of(SYNTHETIC_RANGES)
    xgb_curve = functools.partial(curve, xgboost_steps, length=81)
    mlp_curve = functools.partial(curve, mlp_steps, length=27)
    xgb = _Table(*_pool("xgboost-digits", xgb_space, pool_sizes[0], xgb_curve))
    mlp = _Table(*_pool("mlp-digits", mlp_space, pool_sizes[1], mlp_curve))
    return [
        Problem("xgboost-digits", XGB_RANGES, 81, xgb_space, table=xgb, steps=xgboost_steps),
        Problem("mlp-digits", MLP_RANGES, 27, mlp_space, table=mlp, steps=mlp_steps),
        Problem("synthetic", SYNTHETIC_RANGES, 81, synthetic_space, curve_of_point=_synthetic),
    ]
