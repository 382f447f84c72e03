"""The SageMaker training-container contract, shared by the example programs.

Import it as ``from sagemaker_contract import ...`` from a program in the same
directory: Python puts a script's own directory on ``sys.path``, so this works
under tunelab (whose working directory is the job directory) and in a SageMaker
training container (where the programs and this module sit together in the
source directory) alike.

Every path comes from a toolkit environment variable (``SM_INPUT_CONFIG_DIR``,
``SM_CHANNEL_<NAME>``, ``SM_MODEL_DIR``, ``SM_OUTPUT_DIR``, ``SM_OUTPUT_DATA_DIR``),
falling back to SageMaker's layout under ``$SAGEMAKER_BASE_DIR`` (``/opt/ml`` when
unset). numpy is imported only when a channel is read.
"""

from __future__ import annotations

import json
import math
import os
import pickle
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

BASE_DIR = os.environ.get("SAGEMAKER_BASE_DIR") or "/opt/ml"

Hyperparameter = tuple[Callable[[str], Any], Any, Callable[[Any], bool], str]
"""(parse, default, check, what the check demands): ``parse`` turns the received
string into a value or raises ``ValueError``; ``check`` says whether the value is
allowed; the demand completes "<name> must be ..." in the error message."""

Hyperparameters = Mapping[str, Hyperparameter]
"""A program's hyperparameters by name, in the order its error messages list them."""


def as_float(text: str) -> float:
    """A finite number; ``ValueError`` otherwise (also for ``nan`` and ``inf``)."""
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


class HyperparameterError(ValueError):
    """A hyperparameter is unknown or has a bad value."""


def env_path(variable: str, *default: str) -> Path:
    """The path in ``variable``, else ``$SAGEMAKER_BASE_DIR/<default...>``."""
    return Path(os.environ.get(variable) or os.path.join(BASE_DIR, *default))


def raw_hyperparameters() -> dict[str, str]:
    """Everything received, as strings: ``hyperparameters.json`` in
    ``$SM_INPUT_CONFIG_DIR``, else ``$SM_HPS``, else nothing. Raises
    :class:`HyperparameterError` when it is not a JSON object."""
    path = env_path("SM_INPUT_CONFIG_DIR", "input", "config") / "hyperparameters.json"
    if path.is_file():
        source, values = str(path), json.loads(path.read_text() or "{}")
    else:
        source, values = "SM_HPS", json.loads(os.environ.get("SM_HPS") or "{}")
    if not isinstance(values, dict):
        raise HyperparameterError(f"{source} must hold a JSON object, not {type(values).__name__}")
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}


def read_hyperparameters(table: Hyperparameters) -> tuple[dict[str, Any], dict[str, str]]:
    """The typed hyperparameters of ``table`` (defaults filled in) and everything
    received. Names outside ``table`` are rejected unless they start with ``_`` or
    ``sagemaker_``; a bad name or value raises :class:`HyperparameterError`."""
    received = raw_hyperparameters()
    unknown = sorted(
        name for name in received if name not in table and not name.startswith(("_", "sagemaker_"))
    )
    if unknown:
        raise HyperparameterError(
            f"unknown name(s) {', '.join(unknown)}; this program takes {', '.join(table)}"
        )
    values: dict[str, Any] = {}
    for name, (parse, default, check, demand) in table.items():
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
    """Features and labels of every file in the channel directory (CSV, label first).

    Hidden files and folders are skipped; labels are ints when all are integral."""
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


class TrainingInput(NamedTuple):
    """What :func:`start_training` read: typed hyperparameters and both channels."""

    hyperparameters: dict[str, Any]
    x_train: Any
    y_train: Any
    x_valid: Any
    y_valid: Any


def start_training(table: Hyperparameters) -> TrainingInput:
    """Reads the hyperparameters of ``table`` and the ``train`` and ``validation``
    channels, printing the job name, the hyperparameters received and used, and the
    data's size. Raises when the channels' feature counts differ."""
    hp, received = read_hyperparameters(table)
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
    return TrainingInput(hp, x_train, y_train, x_valid, y_valid)


def save_model(model: Any, metrics: Any) -> None:
    """Pickles ``model`` to ``$SM_MODEL_DIR/model.pkl`` (SageMaker packs that folder
    as ``model.tar.gz``), writes ``metrics`` as JSON to
    ``$SM_OUTPUT_DATA_DIR/metrics.json`` and prints where both went."""
    model_dir = env_path("SM_MODEL_DIR", "model")
    model_dir.mkdir(parents=True, exist_ok=True)
    with open(model_dir / "model.pkl", "wb") as file:
        pickle.dump(model, file)
    output_data = env_path("SM_OUTPUT_DATA_DIR", "output", "data")
    output_data.mkdir(parents=True, exist_ok=True)
    (output_data / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")
    print(f"saved {model_dir / 'model.pkl'} and {output_data / 'metrics.json'}", flush=True)


def write_failure(message: str) -> None:
    """Writes ``message`` to ``$SM_OUTPUT_DIR/failure`` (SageMaker's
    ``FailureReason``); if that fails, says so on stderr and carries on."""
    try:
        directory = env_path("SM_OUTPUT_DIR", "output")
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "failure").write_text(message + "\n")
    except OSError as error:
        print(f"could not write the failure file: {error}", file=sys.stderr)


def run(train: Callable[[], None], argv: Sequence[str]) -> int:
    """Runs ``train`` for ``program.py train`` (or no mode) and returns the exit
    status: 0 on success; 1 for another mode or any error, after writing the
    reason to the failure file (``Invalid hyperparameters: ...`` for a
    :class:`HyperparameterError`, ``<ExceptionType>: ...`` with a traceback on
    stderr for anything else)."""
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
