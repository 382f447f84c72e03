#!/usr/bin/env python3
"""A support vector classifier (scikit-learn ``SVC`` on standardized features) as a
SageMaker training program: ``train_svm.py train``.

Works unchanged under tunelab and in a SageMaker training container: every path
comes from the toolkit environment variables, falling back to
``$SAGEMAKER_BASE_DIR`` (``/opt/ml`` when unset) and SageMaker's layout.

Input
    hyperparameters.json in ``$SM_INPUT_CONFIG_DIR`` (string values; ``$SM_HPS`` is
    used when the file is missing). Unknown names are rejected, except those
    starting with ``_`` or ``sagemaker_`` (``_tuning_objective_metric``...).
    Channels ``train`` and ``validation`` (``$SM_CHANNEL_TRAIN``,
    ``$SM_CHANNEL_VALIDATION``): CSV files, label in the first column, no header.

Hyperparameters (all optional)
    C                  float > 0                            (1.0)
    gamma              float > 0, or "scale" / "auto"        ("scale")
    kernel             rbf | sigmoid | poly | linear         (rbf)
    degree             int in [1, 10]  (poly only)          (3)
    coef0              float  (poly and sigmoid only)       (0.0)
    calibration_folds  int in [2, 20]                       (5)
    seed               int >= 0                             (0)

Probabilities (for ``validation:logloss``) come from sigmoid (Platt) calibration
of the SVM's decision function on ``calibration_folds`` cross-validation folds of
the training data (``CalibratedClassifierCV(SVC(), ensemble=False)``, what
scikit-learn recommends instead of ``SVC(probability=True)``); predictions are
the calibrated model's.

Output
    The model is not iterative, so there is one metric line::

        train:accuracy=0.985915; validation:accuracy=0.972028; validation:logloss=0.083812;

    The fitted pipeline (scaler + calibrated SVC, pickled) goes to
    ``$SM_MODEL_DIR/model.pkl``, the metrics to ``$SM_OUTPUT_DATA_DIR/metrics.json``.
    On any error the reason is written to ``$SM_OUTPUT_DIR/failure`` and the exit
    status is 1.
"""

from __future__ import annotations

import json
import math
import os
import pickle
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

BASE_DIR = os.environ.get("SAGEMAKER_BASE_DIR") or "/opt/ml"

KERNELS = ("rbf", "sigmoid", "poly", "linear")


def as_float(text: str) -> float:
    value = float(text.strip())
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def as_int(text: str) -> int:
    """An integer, also written as an integral float ("3.0"), as some tuners do."""
    value = as_float(text)
    if not value.is_integer():
        raise ValueError(text)
    return int(value)


def as_gamma(text: str) -> float | str:
    return text.strip() if text.strip() in ("scale", "auto") else as_float(text)


# name -> (parse, default, check, what the check demands)
HYPERPARAMETERS: dict[str, tuple[Callable[[str], Any], Any, Callable[[Any], bool], str]] = {
    "C": (as_float, 1.0, lambda v: v > 0, "a number > 0"),
    "gamma": (
        as_gamma,
        "scale",
        lambda v: isinstance(v, str) or v > 0,
        'a number > 0, "scale" or "auto"',
    ),
    "kernel": (str.strip, "rbf", lambda v: v in KERNELS, f"one of {', '.join(KERNELS)}"),
    "degree": (as_int, 3, lambda v: 1 <= v <= 10, "an integer in [1, 10]"),
    "coef0": (as_float, 0.0, lambda v: True, "a number"),
    "calibration_folds": (as_int, 5, lambda v: 2 <= v <= 20, "an integer in [2, 20]"),
    "seed": (as_int, 0, lambda v: v >= 0, "an integer >= 0"),
}


class HyperparameterError(ValueError):
    """A hyperparameter is unknown or has a bad value."""


def env_path(variable: str, *default: str) -> Path:
    """The path in ``variable``, else ``$SAGEMAKER_BASE_DIR/<default...>``."""
    return Path(os.environ.get(variable) or os.path.join(BASE_DIR, *default))


def raw_hyperparameters() -> dict[str, str]:
    path = env_path("SM_INPUT_CONFIG_DIR", "input", "config") / "hyperparameters.json"
    if path.is_file():
        source, values = str(path), json.loads(path.read_text() or "{}")
    else:
        source, values = "SM_HPS", json.loads(os.environ.get("SM_HPS") or "{}")
    if not isinstance(values, dict):
        raise HyperparameterError(f"{source} must hold a JSON object, not {type(values).__name__}")
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}


def read_hyperparameters() -> tuple[dict[str, Any], dict[str, str]]:
    """The typed hyperparameters (defaults filled in) and everything received."""
    received = raw_hyperparameters()
    unknown = sorted(
        name
        for name in received
        if name not in HYPERPARAMETERS and not name.startswith(("_", "sagemaker_"))
    )
    if unknown:
        raise HyperparameterError(
            f"unknown name(s) {', '.join(unknown)}; "
            f"this program takes {', '.join(HYPERPARAMETERS)}"
        )
    values: dict[str, Any] = {}
    for name, (parse, default, check, demand) in HYPERPARAMETERS.items():
        if name not in received:
            values[name] = default
            continue
        try:
            value = parse(received[name])
        except ValueError:
            value = None
        if value is None or not check(value):
            raise HyperparameterError(f"{name} must be {demand}, got {received[name]!r}")
        values[name] = value
    return values, received


def load_channel(channel: str) -> tuple[Any, Any]:
    """Features and labels of every file in the channel directory (CSV, label first)."""
    import numpy as np

    directory = env_path(f"SM_CHANNEL_{channel.upper()}", "input", "data", channel)
    if not directory.is_dir():
        raise FileNotFoundError(f"channel {channel!r}: {directory} is not a directory")
    files = sorted(
        path
        for path in directory.rglob("*")
        if path.is_file() and not any(p.startswith(".") for p in path.relative_to(directory).parts)
    )
    blocks = [np.loadtxt(path, delimiter=",", ndmin=2) for path in files]
    blocks = [block for block in blocks if block.size]
    if not blocks:
        raise ValueError(f"channel {channel!r}: no CSV rows in {directory}")
    widths = {block.shape[1] for block in blocks}
    if len(widths) > 1 or min(widths) < 2:
        raise ValueError(
            f"channel {channel!r}: rows need a label and at least one feature, all files the "
            f"same number of columns; got widths {sorted(widths)}"
        )
    data = np.vstack(blocks)
    labels = data[:, 0]
    if np.all(labels == np.round(labels)):
        labels = labels.astype(int)
    return data[:, 1:], labels


def write_failure(message: str) -> None:
    try:
        directory = env_path("SM_OUTPUT_DIR", "output")
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "failure").write_text(message + "\n")
    except OSError as error:
        print(f"could not write the failure file: {error}", file=sys.stderr)


def train() -> None:
    hp, received = read_hyperparameters()
    print(f"training job: {os.environ.get('TRAINING_JOB_NAME', '(unnamed)')}", flush=True)
    print(f"hyperparameters received: {json.dumps(received, sort_keys=True)}", flush=True)
    print(f"hyperparameters used: {json.dumps(hp, sort_keys=True)}", flush=True)
    x_train, y_train = load_channel("train")
    x_valid, y_valid = load_channel("validation")
    print(
        f"data: train {x_train.shape[0]} rows, validation {x_valid.shape[0]} rows, "
        f"{x_train.shape[1]} features",
        flush=True,
    )
    if x_valid.shape[1] != x_train.shape[1]:
        raise ValueError(
            f"validation has {x_valid.shape[1]} features, train has {x_train.shape[1]}"
        )

    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.metrics import accuracy_score, log_loss
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    svm = SVC(
        C=hp["C"],
        gamma=hp["gamma"],
        kernel=hp["kernel"],
        degree=hp["degree"],
        coef0=hp["coef0"],
        random_state=hp["seed"],
    )
    folds = StratifiedKFold(hp["calibration_folds"], shuffle=True, random_state=hp["seed"])
    model = make_pipeline(
        StandardScaler(), CalibratedClassifierCV(svm, method="sigmoid", cv=folds, ensemble=False)
    )
    started = time.monotonic()
    model.fit(x_train, y_train)
    classes = model.classes_
    proba = model.predict_proba(x_valid)
    metrics = {
        "train:accuracy": accuracy_score(y_train, model.predict(x_train)),
        "validation:accuracy": accuracy_score(y_valid, classes[proba.argmax(1)]),
        "validation:logloss": log_loss(y_valid, proba, labels=classes),
    }
    support = [int(n) for n in model[-1].calibrated_classifiers_[0].estimator.n_support_]
    print(f"fitted in {time.monotonic() - started:.2f}s, support vectors per class {support}")
    print(
        f"train:accuracy={metrics['train:accuracy']:.6f};"
        f" validation:accuracy={metrics['validation:accuracy']:.6f};"
        f" validation:logloss={metrics['validation:logloss']:.6f};",
        flush=True,
    )

    model_dir = env_path("SM_MODEL_DIR", "model")
    model_dir.mkdir(parents=True, exist_ok=True)
    with open(model_dir / "model.pkl", "wb") as file:
        pickle.dump(model, file)
    output_data = env_path("SM_OUTPUT_DATA_DIR", "output", "data")
    output_data.mkdir(parents=True, exist_ok=True)
    (output_data / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")
    print(f"saved {model_dir / 'model.pkl'} and {output_data / 'metrics.json'}", flush=True)


def main(argv: list[str]) -> int:
    try:
        if argv and argv[0] != "train":
            raise ValueError(f"unsupported mode {argv[0]!r}; this program only trains ('train')")
        train()
    except HyperparameterError as error:
        message = f"Invalid hyperparameters: {error}"
    except Exception as error:
        traceback.print_exc()
        message = f"{type(error).__name__}: {error}"
    else:
        return 0
    print(f"training failed: {message}", file=sys.stderr, flush=True)
    write_failure(message)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
