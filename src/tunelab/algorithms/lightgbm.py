"""SageMaker's LightGBM algorithm as a training program:
``python -m tunelab.algorithms.lightgbm train``.

Reads ``train`` (CSV, label first, no header; an optional ``categorical_index.json``,
``{"cat_index_list": [...]}``, names categorical CSV columns, the label being column
0) and ``validation`` (without it, 20% of train is held out). As SageMaker's
algorithm does, the task follows the labels: non-integers are a regression, two
integers a binary and more a multiclass classification. Each round prints the
validation metrics as LightGBM does, ``[12]\tvalidation's multi_logloss: 0.214530``.
The model is ``model/model.txt`` (LightGBM's text format).
"""

from __future__ import annotations

import json
import sys
from typing import Any

import numpy as np

from tunelab.algorithms.data import Dataset, read_channel, same_features
from tunelab.algorithms.lightgbm_spec import METRICS, SPEC
from tunelab.algorithms.runtime import (
    ClientError,
    Environment,
    log,
    read_hyperparameters,
    skip_optional_imports,
)
from tunelab.algorithms.runtime import run as run_program

CATEGORICAL_FILE = "categorical_index.json"
PARAMETERS = (
    "learning_rate", "num_leaves", "feature_fraction", "bagging_fraction", "bagging_freq",
    "max_depth", "min_data_in_leaf", "max_delta_step", "lambda_l1", "lambda_l2", "boosting",
    "min_gain_to_split", "tree_learner", "feature_fraction_bynode", "max_bin",
    "tweedie_variance_power", "num_threads", "verbosity", "seed",
)  # fmt: skip
DEFAULT_METRIC = {"regression": "rmse", "binary": "binary_logloss", "multiclass": "multi_logloss"}
TASK_METRICS = {
    "regression": ("rmse", "l1", "l2", "huber", "fair"),
    "binary": ("binary_logloss", "binary_error", "auc", "average_precision", "cross_entropy"),
    "multiclass": ("multi_logloss", "multi_error", "auc_mu"),
}


def task_of(y: np.ndarray) -> tuple[str, int]:
    """(LightGBM objective, number of classes) from the labels, as SageMaker decides."""
    if not np.all(y == np.round(y)):
        return "regression", 1
    classes = np.unique(y)
    if len(classes) <= 2:
        return "binary", 2
    return "multiclass", int(classes.max()) + 1


def categorical_columns(env: Environment) -> list[int]:
    path = env.channels["train"] / CATEGORICAL_FILE
    if not path.is_file():
        return []
    try:
        columns = json.loads(path.read_text())["cat_index_list"]
        return [int(c) - 1 for c in columns]
    except (ValueError, KeyError, TypeError) as error:
        raise ClientError(
            f"channel 'train', file {CATEGORICAL_FILE}: expected "
            f'{{"cat_index_list": [column, ...]}} ({error})'
        ) from None


def hold_out(data: Dataset, seed: int) -> tuple[Dataset, Dataset]:
    """80% / 20% of ``data``, shuffled with ``seed``."""
    order = np.random.default_rng(seed).permutation(data.rows)
    cut = max(1, round(data.rows * 0.8))
    parts = []
    for rows in (np.sort(order[:cut]), np.sort(order[cut:])):
        parts.append(
            Dataset(data.channel, data.x[rows], data.y[rows], None, data.origins, data.lines[rows])
        )
    return parts[0], parts[1]


def train(env: Environment) -> None:
    hp = read_hyperparameters(SPEC, env.hyperparameters)
    skip_optional_imports()
    import lightgbm as lgb

    data = read_channel(env, "train", "text/csv", allow_missing=True, skip=(CATEGORICAL_FILE,))
    if data is None:
        raise ClientError("the 'train' channel is required")
    valid = same_features(data, read_channel(env, "validation", "text/csv", allow_missing=True))
    if valid is None:
        data, valid = hold_out(data, hp["seed"])
        log(f"no validation channel: {valid.rows} training rows held out for validation")
    objective, classes = task_of(data.y)
    for dataset in (data, valid) if objective != "regression" else ():
        y = dataset.y
        bad = np.flatnonzero((y < 0) | (y >= classes) | (y != np.round(y)))
        if bad.size:
            row = int(bad[0])
            raise ClientError(
                f"{dataset.where(row)}: label {y[row]:g} must be an integer in [0, {classes}) "
                f"for {objective} classification"
            )
    metrics = [DEFAULT_METRIC[objective] if hp["metric"] == "auto" else hp["metric"]]
    target = env.hyperparameters.get("_tuning_objective_metric", "").split(":")[-1]
    if target in METRICS and target not in metrics:
        metrics.append(target)
    unfit = [m for m in metrics if m not in TASK_METRICS[objective]]
    if unfit:
        raise ClientError(
            f"metric {unfit[0]} does not fit the {objective} task the labels make (integer "
            f"labels: classification); use one of {', '.join(TASK_METRICS[objective])}"
        )
    params: dict[str, Any] = {k: hp[k] for k in PARAMETERS}
    quiet = "verbosity" not in env.hyperparameters  # LightGBM's warnings only when asked
    params.update(objective=objective, metric=metrics, verbosity=-1 if quiet else hp["verbosity"])
    if objective == "multiclass":
        params["num_class"] = classes
    if objective == "binary":
        if hp["is_unbalance"] == "True":
            params["is_unbalance"] = True
        else:
            params["scale_pos_weight"] = hp["scale_pos_weight"]
    categorical = categorical_columns(env)
    train_set = lgb.Dataset(data.x, label=data.y, categorical_feature=categorical or "auto")
    valid_set = lgb.Dataset(valid.x, label=valid.y, reference=train_set)
    log(
        f"data: train {data.rows} rows, validation {valid.rows} rows, {data.features} "
        f"features; task {objective}; metrics: {', '.join(metrics)}"
    )
    callbacks = [rounds_callback(env)]
    if hp["early_stopping_rounds"] > 0:
        callbacks.append(lgb.early_stopping(hp["early_stopping_rounds"], verbose=False))
    booster = lgb.train(
        params,
        train_set,
        num_boost_round=hp["num_boost_round"],
        valid_sets=[valid_set],
        valid_names=["validation"],
        callbacks=callbacks,
    )
    env.model_dir.mkdir(parents=True, exist_ok=True)
    booster.save_model(str(env.model_dir / "model.txt"))
    best = booster.best_iteration or "-"
    log(
        f"trained {booster.current_iteration()} rounds (best {best}); "
        "model saved to model/model.txt"
    )


def rounds_callback(env: Environment) -> Any:
    """Prints each round's validation metrics as LightGBM does; ends after SIGTERM."""
    import lightgbm as lgb

    def callback(state: Any) -> None:
        parts = [
            f"{data}'s {name}: {value:.6f}"
            for data, name, value, *_ in state.evaluation_result_list
            if data == "validation"
        ]
        log(f"[{state.iteration + 1}]\t" + "\t".join(parts))
        if env.stopping:
            log(f"stopped (SIGTERM) after round {state.iteration + 1}")
            raise lgb.callback.EarlyStopException(state.iteration, state.evaluation_result_list)

    callback.order = 5  # type: ignore[attr-defined]  # before early stopping (30)
    return callback


if __name__ == "__main__":
    sys.exit(run_program(SPEC, train, sys.argv[1:]))
