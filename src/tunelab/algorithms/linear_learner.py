"""SageMaker's Linear Learner as a training program:
``python -m tunelab.algorithms.linear_learner train``.

Channels ``train`` (required), ``validation`` and ``test``, in ``text/csv`` (label
first, no header). Every epoch prints the train and validation objective loss in
the format of Amazon's algorithms::

    #quality_metric: host=algo-1, epoch=3, train binary_classification_cross_entropy_objective <loss>=0.1412
    #quality_metric: host=algo-1, epoch=3, validation binary_classification_cross_entropy_objective <loss>=0.1531

Early stopping watches the validation loss (the train loss without validation) and
keeps the best epoch's model. At the end a binary classifier's threshold is chosen
(``binary_classifier_model_selection_criteria``) and the final model's metrics are
printed for each channel (``validation binary_classification_accuracy <score>=...``).
The model goes to ``model/model_algo-1`` (numpy ``.npz``: weights, bias, scaler,
threshold).
"""  # noqa: E501

from __future__ import annotations

import sys
import time
from typing import Any

import numpy as np

from tunelab.algorithms import evaluation as ev
from tunelab.algorithms import linear_model as lm
from tunelab.algorithms.data import Dataset, read_channel, same_features
from tunelab.algorithms.linear_learner_spec import SPEC
from tunelab.algorithms.runtime import HOST, ClientError, Environment, log, read_hyperparameters
from tunelab.algorithms.runtime import run as run_program

Q = f"#quality_metric: host={HOST}, "


def auto(value: Any, default: Any) -> Any:
    return default if value == "auto" else value


def check_labels(data: Dataset, task: str, classes: int) -> None:
    y = data.y
    if task == "binary_classifier":
        bad = np.flatnonzero((y != 0) & (y != 1))
        demand = "0 or 1 for a binary_classifier"
    elif task == "multiclass_classifier":
        bad = np.flatnonzero((y < 0) | (y >= classes) | (y != np.round(y)))
        demand = f"an integer in [0, {classes}) (num_classes={classes})"
    else:
        return
    if bad.size:
        row = int(bad[0])
        raise ClientError(f"{data.where(row)}: label {y[row]:g} must be {demand}")


class Model:
    """Weights, bias and the feature/label scaling of a linear model."""

    def __init__(self, hp: dict[str, Any], train: Dataset, classes: int) -> None:
        rng = np.random.default_rng(hp["seed"])
        d, k = train.features, classes if classes > 2 else 1
        sample = train.x[: hp["num_point_for_scaler"]]
        center = hp["unbias_data"] == "true" or (
            hp["unbias_data"] == "auto" and hp["normalize_data"] == "true"
        )
        self.mean = sample.mean(axis=0) if center else np.zeros(d)
        std = sample.std(axis=0) if hp["normalize_data"] == "true" else np.ones(d)
        self.scale = np.where(std > 0, std, 1.0)
        regressor = hp["predictor_type"] == "regressor"
        normalize = regressor and auto(hp["normalize_label"], "true") == "true"
        unbias = regressor and (
            hp["unbias_label"] == "true" or (hp["unbias_label"] == "auto" and normalize)
        )
        self.y_mean = float(train.y.mean()) if unbias else 0.0
        y_std = float(train.y.std()) if normalize else 1.0
        self.y_scale = y_std if y_std > 0 else 1.0
        if hp["init_method"] == "normal":
            self.w = rng.normal(0.0, hp["init_sigma"], (d, k))
        else:
            self.w = rng.uniform(-hp["init_scale"], hp["init_scale"], (d, k))
        self.b = np.full(k, hp["init_bias"] if hp["use_bias"] == "true" else 0.0)
        self.threshold = 0.5

    def features(self, x: np.ndarray) -> np.ndarray:
        return (x - self.mean) / self.scale

    def labels(self, y: np.ndarray, regressor: bool) -> np.ndarray:
        return (y - self.y_mean) / self.y_scale if regressor else y

    def scores(self, x: np.ndarray) -> np.ndarray:
        """Scores in the training space (normalized label for a regressor)."""
        return self.features(x) @ self.w + self.b

    def copy(self) -> tuple[np.ndarray, np.ndarray]:
        return self.w.copy(), self.b.copy()


def evaluate(model: Model, loss: lm.Loss, data: Dataset, regressor: bool) -> float:
    """The mean objective loss on ``data`` (a regressor's in the label's own units)."""
    scores = model.scores(data.x)
    if regressor:
        scores = scores * model.y_scale + model.y_mean
    return float(np.mean(loss(scores, data.y)[0]))


def choose_threshold(hp: dict[str, Any], proba: np.ndarray, y: np.ndarray) -> float:
    """The decision threshold for ``binary_classifier_model_selection_criteria``."""
    criterion = hp["binary_classifier_model_selection_criteria"]
    if criterion == "loss_function":
        return 0.5
    best, best_value = 0.5, -np.inf
    for t in np.unique(np.concatenate([proba, [0.5]])):
        predicted = proba >= t
        scores = ev.binary_scores(y, predicted, hp["f_beta"])
        if criterion == "accuracy":
            value = ev.accuracy(y > 0.5, predicted)
        elif criterion == "f_beta":
            value = scores["f_beta"]
        elif criterion == "precision_at_target_recall":
            value = scores["precision"] if scores["recall"] >= hp["target_recall"] else -1
        else:
            value = scores["recall"] if scores["precision"] >= hp["target_precision"] else -1
        if value > best_value:
            best, best_value = float(t), value
    return best


def final_metrics(
    hp: dict[str, Any], model: Model, data: Dataset, classes: int
) -> dict[str, float]:
    task, s = hp["predictor_type"], model.scores(data.x)
    y = data.y
    if task == "regressor":
        predicted = s[:, 0] * model.y_scale + model.y_mean
        return {"mse": ev.mse(y, predicted), "absolute_loss": ev.mae(y, predicted)}
    if task == "binary_classifier":
        proba = lm.sigmoid(s[:, 0]) if hp["loss"] != "hinge_loss" else lm.sigmoid(2 * s[:, 0])
        predicted = proba >= model.threshold
        scores = ev.binary_scores(y, predicted, hp["f_beta"])
        return {
            "binary_classification_accuracy": ev.accuracy(y > 0.5, predicted),
            f"binary_f_{hp['f_beta']:.3f}": scores["f_beta"],
            "precision": scores["precision"],
            "recall": scores["recall"],
            "roc_auc_score": ev.roc_auc(y, s[:, 0]),
        }
    scores = ev.class_scores(y, s.argmax(axis=1), classes, hp["f_beta"])
    return {
        "multiclass_accuracy": ev.accuracy(y, s.argmax(axis=1)),
        f"multiclass_top_k_accuracy_{hp['accuracy_top_k']}": ev.top_k_accuracy(
            y, s, hp["accuracy_top_k"]
        ),
        "macro_precision": scores["macro_precision"],
        "macro_recall": scores["macro_recall"],
        f"macro_f_{hp['f_beta']:.3f}": scores["macro_f_beta"],
        "dcg": ev.dcg(y, s),
    }


def train(env: Environment) -> None:
    hp = read_hyperparameters(SPEC, env.hyperparameters)
    task = hp["predictor_type"]
    regressor, classes = task == "regressor", hp["num_classes"] or 2
    default = SPEC.default_content_type or ""
    data = read_channel(env, "train", default)
    if data is None:
        raise ClientError("the 'train' channel is required")
    sets = {
        "validation": read_channel(env, "validation", default),
        "test": read_channel(env, "test", default),
    }
    for name, other in sets.items():
        sets[name] = same_features(data, other)
    if hp["feature_dim"] != "auto" and hp["feature_dim"] != data.features:
        raise ClientError(
            f"feature_dim is {hp['feature_dim']}, but channel 'train' has {data.features} features"
        )
    for dataset in (data, *sets.values()):
        if dataset is not None:
            check_labels(dataset, task, classes)
    loss_name = auto(hp["loss"], lm.AUTO_LOSS[task])
    if loss_name not in lm.TASK_LOSSES[task]:
        raise ClientError(
            f"loss {loss_name} does not fit predictor_type {task}; "
            f"use one of {', '.join(lm.TASK_LOSSES[task])}"
        )
    hp["loss"] = loss_name
    loss = lm.make_loss(
        loss_name, hp["margin"], hp["loss_insensitivity"], hp["quantile"], hp["huber_delta"]
    )
    objective = lm.OBJECTIVE_NAMES.get(loss_name, f"{loss_name}_objective")
    model = Model(hp, data, classes)
    kind = auto(hp["optimizer"], "adam")
    default_lr = {"sgd": 0.01, "adam": 0.005, "rmsprop": 0.001}[kind]
    opt = lm.Optimizer(kind, auto(hp["learning_rate"], default_lr), auto(hp["momentum"], 0.0),
                       auto(hp["beta_1"], 0.9), auto(hp["beta_2"], 0.999))  # fmt: skip
    wd, l1 = auto(hp["wd"], 0.0), auto(hp["l1"], 0.0)
    bias_lr, bias_wd = auto(hp["bias_lr_mult"], 10.0), auto(hp["bias_wd_mult"], 0.0)
    weights = row_weights(hp, data.y, task, classes)
    x, y = model.features(data.x), model.labels(data.y, regressor)
    n, batch = data.rows, hp["mini_batch_size"]
    step_every = auto(hp["lr_scheduler_step"], max(1, -(-n // batch)))
    rng = np.random.default_rng(hp["seed"])
    watched = sets["validation"] or data
    best, best_loss, waited, started = model.copy(), np.inf, 0, time.monotonic()
    for epoch in range(hp["epochs"]):
        order = rng.permutation(n)
        for begin in range(0, n, batch):
            rows = order[begin : begin + batch]
            _, grad = loss(x[rows] @ model.w + model.b, y[rows])
            g = grad * weights[rows, None] / len(rows)
            opt.step("w", model.w, x[rows].T @ g + wd * model.w)
            lm.soft_threshold(model.w, opt.learning_rate * l1)
            if hp["use_bias"] == "true":
                opt.step("b", model.b, g.sum(axis=0) + bias_wd * wd * model.b, bias_lr)
            opt.steps += 1
            if hp["use_lr_scheduler"] == "true" and opt.steps % step_every == 0:
                floor = auto(hp["lr_scheduler_minimum_lr"], 1e-5)
                opt.learning_rate = max(
                    opt.learning_rate * auto(hp["lr_scheduler_factor"], 0.99), floor
                )
        log(
            f"{Q}epoch={epoch}, train {objective} "
            f"<loss>={evaluate(model, loss, data, regressor):.6g}"
        )
        current = evaluate(model, loss, watched, regressor)
        if sets["validation"] is not None:
            log(f"{Q}epoch={epoch}, validation {objective} <loss>={current:.6g}")
        log(
            f"#progress_metric: host={HOST}, "
            f"completed {100 * (epoch + 1) / hp['epochs']:.3f} % of epochs"
        )
        if current < best_loss * (1 - hp["early_stopping_tolerance"]):
            best, best_loss, waited = model.copy(), current, 0
        else:
            waited += 1
        if waited >= hp["early_stopping_patience"]:
            log(
                f"early stopping: no improvement for {waited} epochs; "
                f"keeping epoch {epoch - waited}"
            )
            break
        if env.stopping:
            log(f"stopped (SIGTERM) after epoch {epoch}")
            break
    model.w, model.b = best
    log(
        f"#throughput_metric: host={HOST}, train throughput="
        f"{n * (epoch + 1) / max(time.monotonic() - started, 1e-9):.1f} records/second"
    )
    if task == "binary_classifier":
        chosen = sets["validation"] or data
        rows = chosen.x[: hp["num_calibration_samples"]]
        s = model.scores(rows)[:, 0]
        proba = lm.sigmoid(s) if loss_name != "hinge_loss" else lm.sigmoid(2 * s)
        model.threshold = choose_threshold(hp, proba, chosen.y[: len(rows)])
        log(
            f"threshold {model.threshold:.6g} ({hp['binary_classifier_model_selection_criteria']})"
        )
    for split, dataset in (("train", data), *sets.items()):
        if dataset is None:
            continue
        log(f"{Q}{split} {objective} <loss>={evaluate(model, loss, dataset, regressor):.6g}")
        for name, value in final_metrics(hp, model, dataset, classes).items():
            kind_of = "loss" if name in ("mse", "absolute_loss") else "score"
            log(f"{Q}{split} {name} <{kind_of}>={value:.6g}")
    save(env, model, hp)


def row_weights(hp: dict[str, Any], y: np.ndarray, task: str, classes: int) -> np.ndarray:
    weights = np.ones(len(y))
    if task == "binary_classifier":
        mult = hp["positive_example_weight_mult"]
        if mult == "balanced":
            mult = float(np.sum(y == 0)) / max(float(np.sum(y == 1)), 1.0)
        weights[y == 1] = auto(mult, 1.0)
    elif task == "multiclass_classifier" and hp["balance_multiclass_weights"] == "true":
        counts = np.bincount(y.astype(int), minlength=classes).astype(float)
        weights = len(y) / (classes * np.maximum(counts, 1.0))[y.astype(int)]
    return weights


def save(env: Environment, model: Model, hp: dict[str, Any]) -> None:
    env.model_dir.mkdir(parents=True, exist_ok=True)
    with open(env.model_dir / f"model_{HOST}", "wb") as f:
        np.savez(f, weight=model.w, bias=model.b, mean=model.mean, scale=model.scale,
                 label_mean=model.y_mean, label_scale=model.y_scale, threshold=model.threshold,
                 predictor_type=hp["predictor_type"], loss=hp["loss"])  # fmt: skip
    log(f"model saved to model/model_{HOST}")


if __name__ == "__main__":
    sys.exit(run_program(SPEC, train, sys.argv[1:]))
