"""SageMaker's XGBoost algorithm as a training program:
``python -m tunelab.algorithms.xgboost train``.

Reads ``train`` (required) and ``validation`` in ``text/csv`` (label first, no header;
``csv_weights=1``: weights in the second column) or ``text/libsvm`` (SageMaker's
default when a channel has no ``ContentType``). Each round prints one line as
SageMaker's container does, ``[3]#011train-rmse:0.41230#011validation-rmse:0.47061``,
so SageMaker's predefined regexes match it. The objective named by
``_tuning_objective_metric`` is added to ``eval_metric``, as SageMaker does.
Checkpoints go to ``checkpoints/`` every round (the five latest are kept) and a
restarted job resumes from the latest. The model is ``model/xgboost-model`` (UBJSON).
"""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path
from typing import Any

from tunelab.algorithms import evaluation as ev
from tunelab.algorithms.runtime import ClientError, Environment, log, run
from tunelab.algorithms.xgboost_spec import CUSTOM_METRICS, MAXIMIZED, SPEC

TWEEDIE = "tweedie-nloglik"
CHECKPOINT = "xgboost-checkpoint"
KEEP_CHECKPOINTS = 5
PARAMETERS = (  # passed to XGBoost as they are
    "alpha", "lambda", "eta", "gamma", "max_depth", "min_child_weight", "max_delta_step",
    "subsample", "colsample_bytree", "colsample_bylevel", "colsample_bynode", "booster",
    "tree_method", "grow_policy", "max_leaves", "max_bin", "sketch_eps", "scale_pos_weight",
    "base_score", "seed", "verbosity", "num_parallel_tree", "tweedie_variance_power",
    "sample_type", "normalize_type", "rate_drop", "skip_drop", "one_drop", "process_type",
    "refresh_leaf", "updater", "monotone_constraints", "interaction_constraints", "num_class",
)  # fmt: skip


def eval_metrics(hp: dict[str, Any], objective_metric: str | None) -> list[str]:
    """``eval_metric`` with the tuning objective's metric added (SageMaker's union)."""
    metrics = list(hp["eval_metric"] or [])
    if objective_metric and ":" in objective_metric:
        name = objective_metric.split(":", 1)[1]
        if name not in metrics:
            metrics.append(name)
    return metrics


def native_metrics(metrics: list[str], power: float) -> tuple[list[str], dict[str, list[str]]]:
    """The ``eval_metric`` to give XGBoost for ``metrics``, and the names each metric
    XGBoost reports is printed under. XGBoost takes tweedie-nloglik only as
    ``tweedie-nloglik@rho``: the bare name SageMaker predefines is evaluated at the
    ``tweedie_variance_power`` ``power`` and printed as ``tweedie-nloglik``."""
    native: list[str] = []
    printed: dict[str, list[str]] = {}
    for metric in metrics:
        name = f"{TWEEDIE}@{power:g}" if metric == TWEEDIE else metric  # XGBoost's own name
        if name not in native:
            native.append(name)
        printed.setdefault(name, []).append(metric)
    return native, printed


def check_labels(y: Any, objective: str, num_class: int | None, where: Any) -> None:
    """Labels the objective can learn from, else a ``ClientError`` naming the row."""
    import numpy as np

    if objective.startswith("binary:") or objective == "reg:logistic":
        bad = np.flatnonzero((y < 0) | (y > 1))
        demand = "in [0, 1]"
    elif objective.startswith("multi:"):
        bad = np.flatnonzero((y < 0) | (y >= (num_class or 0)) | (y != np.round(y)))
        demand = f"an integer in [0, {num_class})"
    elif objective in ("count:poisson", "reg:gamma", "reg:tweedie"):
        bad = np.flatnonzero(y < 0 if objective != "reg:gamma" else y <= 0)
        demand = "positive" if objective == "reg:gamma" else "non-negative"
    else:
        return
    if bad.size:
        row = int(bad[0])
        raise ClientError(f"{where(row)}: label {y[row]:g} must be {demand} for {objective}")


def custom_metric(names: list[str], objective: str, num_class: int | None) -> Any:
    """XGBoost's ``custom_metric`` computing SageMaker's own metrics (accuracy, f1...)."""
    import numpy as np

    def predicted_labels(preds: Any) -> Any:
        if preds.ndim == 2:
            return preds.argmax(axis=1)
        if objective == "binary:logitraw":
            return (preds > 0).astype(float)
        if objective.startswith("binary:") or objective == "reg:logistic":
            return (preds > 0.5).astype(float)
        return preds

    def metric(preds: Any, data: Any) -> list[tuple[str, float]]:
        y = data.get_label()
        labels = predicted_labels(preds)
        classes = max(num_class or 2, int(np.max(y)) + 1)
        scores = ev.class_scores(y, labels, classes)
        binary = ev.binary_scores(y, labels) if classes == 2 else scores
        values = {
            "accuracy": ev.accuracy(y, labels),
            "balanced_accuracy": scores["balanced_accuracy"],
            "f1": binary.get("f_beta", scores["macro_f_beta"]),
            "f1_binary": binary.get("f_beta", math.nan),
            "f1_macro": scores["macro_f_beta"],
            "precision": binary.get("precision", scores["macro_precision"]),
            "precision_macro": scores["macro_precision"],
            "precision_micro": scores["micro_precision"],
            "recall": binary.get("recall", scores["macro_recall"]),
            "recall_macro": scores["macro_recall"],
            "recall_micro": scores["micro_recall"],
            "mse": ev.mse(y, preds) if preds.ndim == 1 else math.nan,
            "r2": ev.r2(y, preds) if preds.ndim == 1 else math.nan,
        }
        return [(name, values[name]) for name in names]

    return metric


def latest_checkpoint(directory: Path) -> tuple[int, Path] | None:
    found = sorted(directory.glob(f"{CHECKPOINT}.*")) if directory.is_dir() else []
    found = [p for p in found if p.suffix[1:].isdigit()]
    return (int(found[-1].suffix[1:]), found[-1]) if found else None


def train(env: Environment) -> None:
    """:func:`_train`; a check XGBoost makes of the data or the hyperparameters fails
    it as a ``ClientError`` with XGBoost's message, without its C++ stack trace."""
    try:
        _train(env)
    except Exception as error:
        if type(error).__name__ != "XGBoostError":
            raise
        refused = _check(error)
        raise ClientError(f"XGBoost refused the data or hyperparameters: {refused}") from None


def _train(env: Environment) -> None:
    from tunelab.algorithms.data import read_channel, same_features
    from tunelab.algorithms.runtime import read_hyperparameters, skip_optional_imports

    hp = read_hyperparameters(SPEC, env.hyperparameters)
    skip_optional_imports()
    import numpy as np
    import xgboost as xgb

    def hint(channel: str) -> str:
        if env.content_types.get(channel):
            return ""
        return (
            f" (channel '{channel}' has no ContentType, so it is read as text/libsvm, "
            "SageMaker's default for XGBoost; set ContentType text/csv for CSV)"
        )

    options = {"allow_missing": True, "weights": hp["csv_weights"] == 1}
    data = read_channel(
        env, "train", SPEC.default_content_type or "", **options, hint=hint("train")
    )
    if data is None:
        raise ClientError("the 'train' channel is required")
    valid = read_channel(env, "validation", "text/libsvm", **options, hint=hint("validation"))
    valid = same_features(data, valid)
    objective = "reg:squarederror" if hp["objective"] == "reg:linear" else hp["objective"]
    for dataset in (data, valid):
        if dataset is not None:
            check_labels(dataset.y, objective, hp["num_class"], dataset.where)
    target = env.hyperparameters.get("_tuning_objective_metric")
    metrics = eval_metrics(hp, target)
    power = hp["tweedie_variance_power"]
    native, printed = native_metrics([m for m in metrics if m not in CUSTOM_METRICS], power)
    custom = [m for m in metrics if m in CUSTOM_METRICS]
    given = env.hyperparameters  # XGBoost's own defaults are SageMaker's
    params: dict[str, Any] = {k: hp[k] for k in PARAMETERS if k in given}
    params.update(objective=objective, nthread=hp["nthread"] or env.num_cpus)
    if native:
        params["eval_metric"] = native
    dtrain = xgb.DMatrix(data.x, label=data.y, weight=data.weights, missing=np.nan)
    evals = [(dtrain, "train")]
    if valid is not None:
        dvalid = xgb.DMatrix(valid.x, label=valid.y, weight=valid.weights, missing=np.nan)
        evals.append((dvalid, "validation"))
    shown = ", ".join(metrics) or "the objective's default"
    log(
        f"data: train {data.rows} rows, validation {valid.rows if valid else 0} rows, "
        f"{data.features} features; objective {objective}; metrics: {shown}"
    )

    resume = latest_checkpoint(env.checkpoint_dir)
    start, model = 0, None
    if resume is not None:
        start, model = resume[0] + 1, xgb.Booster(model_file=bytearray(resume[1].read_bytes()))
        log(f"resuming from checkpoint {resume[1].name}: {start} rounds done")
    callbacks: list[Any] = [rounds_callback(env, start, printed)]
    if hp["early_stopping_rounds"] and valid is not None:
        name = target.split(":", 1)[1] if target and ":" in target else (metrics or [None])[-1]
        reported = native_metrics([name], power)[0][0] if name else None  # XGBoost's name
        callbacks.append(xgb.callback.EarlyStopping(
            rounds=hp["early_stopping_rounds"], metric_name=reported, data_name="validation",
            maximize=name in MAXIMIZED if name else None))  # fmt: skip
    booster = xgb.train(
        params,
        dtrain,
        num_boost_round=max(hp["num_round"] - start, 0),
        evals=evals,
        custom_metric=custom_metric(custom, objective, hp["num_class"]) if custom else None,
        callbacks=callbacks,
        verbose_eval=False,
        xgb_model=model,
    )
    if env.stopping and hp["save_model_on_termination"] != "true":
        log("stopped (SIGTERM): the model is not saved (save_model_on_termination is false)")
        return
    env.model_dir.mkdir(parents=True, exist_ok=True)
    (env.model_dir / "xgboost-model").write_bytes(bytes(booster.save_raw("ubj")))
    log(f"trained {booster.num_boosted_rounds()} rounds; model saved to model/xgboost-model")


def _check(error: Exception) -> str:
    """XGBoost's message without its time, source location and C++ stack trace."""
    first = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
    return re.sub(r"^\[[0-9:]+\] [^ ]+:\d+: ", "", first)


def rounds_callback(env: Environment, start: int, printed: dict[str, list[str]]) -> Any:
    """A ``TrainingCallback`` that prints each round's metrics as SageMaker's container
    does (a metric XGBoost reports under the names ``printed`` gives it, else its own),
    saves a checkpoint, and ends training after SIGTERM."""
    import xgboost as xgb

    class Rounds(xgb.callback.TrainingCallback):
        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
            done = start + epoch
            parts = [
                f"{data}-{label}:{values[-1]:.5f}"
                for data, metrics in evals_log.items()
                for name, values in metrics.items()
                for label in printed.get(name, [name])
            ]
            log(f"[{done}]#011" + "#011".join(parts))
            save_checkpoint(env.checkpoint_dir, done, model)
            return env.stopping

    return Rounds()


def save_checkpoint(directory: Path, iteration: int, model: Any) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{CHECKPOINT}.{iteration:012d}"
    partial = target.with_name(target.name + ".sagemaker-ignore")
    partial.write_bytes(bytes(model.save_raw("ubj")))
    partial.replace(target)
    kept = sorted(p for p in directory.glob(f"{CHECKPOINT}.*") if p.suffix[1:].isdigit())
    for old in kept[:-KEEP_CHECKPOINTS]:
        old.unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(run(SPEC, train, sys.argv[1:]))
