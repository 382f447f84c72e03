#!/usr/bin/env python3
"""A support vector classifier (scikit-learn ``SVC`` on standardized features) as a
SageMaker training program: ``train_svm.py train``.

Works unchanged under tunelab and in a SageMaker training container: every path
comes from the toolkit environment variables, falling back to
``$SAGEMAKER_BASE_DIR`` (``/opt/ml`` when unset) and SageMaker's layout. That
contract is implemented in ``sagemaker_contract.py``, which must sit next to this file.

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

import sys
import time

from sagemaker_contract import Hyperparameters, as_float, as_int, run, save_model, start_training

KERNELS = ("rbf", "sigmoid", "poly", "linear")


def as_gamma(text: str) -> float | str:
    return text.strip() if text.strip() in ("scale", "auto") else as_float(text)


# name -> (parse, default, check, what the check demands)
HYPERPARAMETERS: Hyperparameters = {
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


def train() -> None:
    hp, x_train, y_train, x_valid, y_valid = start_training(HYPERPARAMETERS)

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

    save_model(model, metrics)


if __name__ == "__main__":
    sys.exit(run(train, sys.argv[1:]))
