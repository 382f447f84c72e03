#!/usr/bin/env python3
"""Gradient boosting (scikit-learn ``GradientBoostingClassifier``) as a SageMaker
training program: ``train_gradient_boosting.py train``.

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
    learning_rate     float > 0           (0.1)
    max_depth         int >= 1            (3)
    n_estimators      int in [1, 10000]   (100)
    subsample         float in (0, 1]     (1.0)  < 1 gives stochastic boosting
    min_samples_leaf  int >= 1            (1)
    eval_interval     int >= 1            (10)   estimators between metric lines
    seed              int >= 0            (0)

Output
    One line per ``eval_interval`` estimators (the last one after all of them),
    flushed immediately so a tuner can stop the job early (values are printed with
    6 decimals, shortened here)::

        estimators=20/100 train:accuracy=1.0; validation:accuracy=0.94; validation:logloss=0.2;

    The model (pickled ``GradientBoostingClassifier``) goes to
    ``$SM_MODEL_DIR/model.pkl``, the metric history to
    ``$SM_OUTPUT_DATA_DIR/metrics.json``. On SIGTERM the current chunk is
    finished and the partial model saved. On any error the reason is written to
    ``$SM_OUTPUT_DIR/failure`` and the exit status is 1.
"""

from __future__ import annotations

import signal
import sys
import time

from sagemaker_contract import Hyperparameters, as_float, as_int, run, save_model, start_training

# name -> (parse, default, check, what the check demands)
HYPERPARAMETERS: Hyperparameters = {
    "learning_rate": (as_float, 0.1, lambda v: v > 0, "a number > 0"),
    "max_depth": (as_int, 3, lambda v: v >= 1, "an integer >= 1"),
    "n_estimators": (as_int, 100, lambda v: 1 <= v <= 10_000, "an integer in [1, 10000]"),
    "subsample": (as_float, 1.0, lambda v: 0 < v <= 1, "a number in (0, 1]"),
    "min_samples_leaf": (as_int, 1, lambda v: v >= 1, "an integer >= 1"),
    "eval_interval": (as_int, 10, lambda v: v >= 1, "an integer >= 1"),
    "seed": (as_int, 0, lambda v: v >= 0, "an integer >= 0"),
}


def train() -> None:
    hp, x_train, y_train, x_valid, y_valid = start_training(HYPERPARAMETERS)

    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.metrics import accuracy_score, log_loss

    stop_requested = []
    signal.signal(signal.SIGTERM, lambda signum, frame: stop_requested.append(signum))

    model = GradientBoostingClassifier(
        learning_rate=hp["learning_rate"],
        max_depth=hp["max_depth"],
        subsample=hp["subsample"],
        min_samples_leaf=hp["min_samples_leaf"],
        random_state=hp["seed"],
        warm_start=True,
    )
    total, history = hp["n_estimators"], []
    started = time.monotonic()
    for stage in range(hp["eval_interval"], total + hp["eval_interval"], hp["eval_interval"]):
        model.set_params(n_estimators=min(stage, total))
        model.fit(x_train, y_train)
        proba = model.predict_proba(x_valid)
        point = {
            "estimators": model.n_estimators_,
            "train:accuracy": accuracy_score(y_train, model.predict(x_train)),
            "validation:accuracy": accuracy_score(y_valid, model.classes_[proba.argmax(1)]),
            "validation:logloss": log_loss(y_valid, proba, labels=model.classes_),
        }
        history.append(point)
        print(
            f"estimators={point['estimators']}/{total}"
            f" train:accuracy={point['train:accuracy']:.6f};"
            f" validation:accuracy={point['validation:accuracy']:.6f};"
            f" validation:logloss={point['validation:logloss']:.6f};",
            flush=True,
        )
        if stop_requested:
            print(f"SIGTERM: stopping after {model.n_estimators_} estimators", flush=True)
            break
    print(f"trained {model.n_estimators_} estimators in {time.monotonic() - started:.2f}s")

    save_model(model, history)


if __name__ == "__main__":
    sys.exit(run(train, sys.argv[1:]))
