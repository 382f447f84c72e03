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
lookup.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tunelab.domain.request import parse_tuning_job
from tunelab.domain.search_space import ParamValue, SearchSpace

CACHE = Path(__file__).parent / "cache"


@dataclass
class Problem:
    name: str
    ranges: dict[str, Any]
    """SageMaker ``ParameterRanges``."""
    max_resource: int
    curve_of_point: Callable[[np.ndarray], np.ndarray]
    space: SearchSpace

    def curve(self, params: Mapping[str, ParamValue]) -> np.ndarray:
        return self.curve_of_point(self.space.encode(params))


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


def _digits(scale: bool) -> tuple[np.ndarray, ...]:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    x, y = load_digits(return_X_y=True)
    xt, xv, yt, yv = train_test_split(x, y, test_size=0.3, random_state=0, stratify=y)
    if scale:
        scaler = StandardScaler().fit(xt)
        xt, xv = scaler.transform(xt), scaler.transform(xv)
    return xt, xv, yt, yv


def _xgboost_curve(params: dict[str, ParamValue]) -> np.ndarray:
    import xgboost as xgb

    xt, xv, yt, yv = _digits(scale=False)
    train, valid = xgb.DMatrix(xt, label=yt), xgb.DMatrix(xv, label=yv)
    booster_params = {
        "objective": "multi:softprob",
        "num_class": 10,
        "eval_metric": "mlogloss",
        "nthread": 1,
        "verbosity": 0,
        "seed": 0,
        **params,
    }
    result: dict[str, Any] = {}
    xgb.train(
        booster_params, train, 81, evals=[(valid, "v")], evals_result=result, verbose_eval=False
    )
    return np.array(result["v"]["mlogloss"])


def _mlp_curve(params: dict[str, ParamValue]) -> np.ndarray:
    from sklearn.metrics import log_loss
    from sklearn.neural_network import MLPClassifier

    xt, xv, yt, yv = _digits(scale=True)
    model = MLPClassifier(
        hidden_layer_sizes=(int(params["hidden"]),),
        learning_rate_init=float(params["learning_rate_init"]),
        alpha=float(params["alpha"]),
        beta_1=float(params["beta_1"]),
        batch_size=int(params["batch_size"]),
        random_state=0,
    )
    labels = np.arange(10)
    curve = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(27):
            model.partial_fit(xt, yt, classes=labels)
            curve.append(log_loss(yv, model.predict_proba(xv), labels=labels))
    return np.minimum(np.nan_to_num(np.array(curve), nan=10.0), 10.0)


def _pool(name: str, space: SearchSpace, size: int, fn: Callable[..., np.ndarray]):
    path = CACHE / f"{name}-{size}.npz"
    if path.exists():
        data = np.load(path)
        return data["points"], data["curves"]
    rng = np.random.default_rng(12345)
    points = rng.random((size, space.dimension))
    configs = [space.decode(p) for p in points]
    print(f"computing {size} learning curves of {name} (once; cached in {path})", flush=True)
    with ProcessPoolExecutor(2) as pool:
        curves = np.array(list(pool.map(fn, configs, chunksize=8)))
    points = np.array([space.encode(c) for c in configs])
    CACHE.mkdir(exist_ok=True)
    np.savez_compressed(path, points=points, curves=curves)
    return points, curves


def _nearest(points: np.ndarray, curves: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    def curve(u: np.ndarray) -> np.ndarray:
        return curves[int(np.argmin(((points - u) ** 2).sum(axis=1)))]

    return curve


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
    xgb_pool = _pool("xgboost-digits", xgb_space, pool_sizes[0], _xgboost_curve)
    mlp_pool = _pool("mlp-digits", mlp_space, pool_sizes[1], _mlp_curve)
    return [
        Problem("xgboost-digits", XGB_RANGES, 81, _nearest(*xgb_pool), xgb_space),
        Problem("mlp-digits", MLP_RANGES, 27, _nearest(*mlp_pool), mlp_space),
        Problem("synthetic", SYNTHETIC_RANGES, 81, _synthetic, space_of(SYNTHETIC_RANGES)),
    ]
