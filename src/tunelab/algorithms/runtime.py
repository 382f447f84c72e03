"""SageMaker's training-container contract as a built-in program sees it: paths from
the toolkit variables (``SM_MODEL_DIR``, ``SM_CHANNEL_<NAME>``...) falling back to
SageMaker's layout under ``$SAGEMAKER_BASE_DIR`` (``/opt/ml``), the hyperparameters
read and checked with the algorithm's metadata, SIGTERM, and the failure file.

Failure reasons follow SageMaker's built-ins: ``ClientError: ...`` for a problem with
the request or the data, ``AlgorithmError: ...`` for anything else."""

from __future__ import annotations

import json
import os
import signal
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tunelab.algorithms.spec import AlgorithmSpec, demand, parse_value
from tunelab.algorithms.validation import is_reserved

HOST = os.environ.get("SM_CURRENT_HOST") or "algo-1"
MAX_REASON = 1024


class ClientError(Exception):
    """A problem with the request or the data (``ClientError: ...``)."""


def _base() -> Path:
    return Path(os.environ.get("SAGEMAKER_BASE_DIR") or "/opt/ml")


def env_path(variable: str, *default: str) -> Path:
    """The path in ``variable``, else ``$SAGEMAKER_BASE_DIR/<default...>``."""
    value = os.environ.get(variable)
    return Path(value) if value else _base().joinpath(*default)


def _json_file(variable: str, *default: str) -> Any:
    if os.environ.get(variable):
        return json.loads(os.environ[variable])
    path = _base().joinpath(*default)
    return json.loads(path.read_text() or "{}") if path.is_file() else {}


@dataclass
class Environment:
    """What the job received, and where its outputs go."""

    hyperparameters: dict[str, str]
    channels: dict[str, Path]
    content_types: dict[str, str | None]
    model_dir: Path
    output_dir: Path
    checkpoint_dir: Path
    num_cpus: int
    stop: list[int] = field(default_factory=list)
    """Non-empty once SIGTERM arrived: finish the current round and save the model."""

    @property
    def stopping(self) -> bool:
        return bool(self.stop)


def environment() -> Environment:
    """Reads the contract's files and variables."""
    config = env_path("SM_INPUT_CONFIG_DIR", "input", "config")
    path = config / "hyperparameters.json"
    raw = json.loads(path.read_text() or "{}") if path.is_file() else {}
    if not raw and os.environ.get("SM_HPS"):
        raw = json.loads(os.environ["SM_HPS"])
    if not isinstance(raw, dict):
        raise ClientError("hyperparameters.json must hold a JSON object")
    hyperparameters = {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in raw.items()}
    data_config = _json_file("SM_INPUT_DATA_CONFIG", "input", "config", "inputdataconfig.json")
    names = list(data_config)
    data_dir = _base() / "input" / "data"
    if data_dir.is_dir():
        names += [p.name for p in sorted(data_dir.iterdir()) if p.is_dir() and p.name not in names]
    channels = {
        name: env_path(f"SM_CHANNEL_{name.upper()}", "input", "data", name) for name in names
    }
    return Environment(
        hyperparameters=hyperparameters,
        channels={name: p for name, p in channels.items() if p.is_dir()},
        content_types={n: (data_config.get(n) or {}).get("ContentType") for n in channels},
        model_dir=env_path("SM_MODEL_DIR", "model"),
        output_dir=env_path("SM_OUTPUT_DIR", "output"),
        checkpoint_dir=_base() / "checkpoints",
        num_cpus=int(os.environ.get("SM_NUM_CPUS") or os.cpu_count() or 1),
    )


def read_hyperparameters(spec: AlgorithmSpec, received: Mapping[str, str]) -> dict[str, Any]:
    """The typed hyperparameters (defaults filled in, None when absent without a
    default). Every problem is reported at once as a :class:`ClientError`."""
    problems, values = [], {}
    for name in received:
        if not is_reserved(name) and spec.hyperparameter(name) is None:
            problems.append(f"{name} is not a hyperparameter of {spec.name}")
    for hp in spec.hyperparameters:
        text = received.get(hp.name, hp.default)
        if text is None:
            values[hp.name] = None
            if hp.required:
                problems.append(f"{hp.name} is required ({demand(hp)})")
            continue
        try:
            values[hp.name] = parse_value(hp, text)
        except ValueError as error:
            problems.append(f"{hp.name} must be {error}; got {text!r}")
    for name, triggers, needed in spec.requires:
        if values.get(name) in triggers and values.get(needed) is None:
            problems.append(f"{name} {values[name]!r} requires {needed}")
    if problems:
        raise ClientError("Invalid hyperparameters: " + "; ".join(problems))
    return values


def skip_optional_imports() -> None:
    """Keeps XGBoost's and LightGBM's optional scikit-learn and pandas integrations from
    loading (about 2 s of start-up per training job where those are installed); the
    programs use neither. Call before importing the library."""
    for name in ("sklearn", "pandas"):
        if name not in sys.modules:
            sys.modules[name] = None  # type: ignore[assignment]  # import raises ImportError


def log(message: str) -> None:
    print(message, flush=True)


def write_failure(env_output: Path, message: str) -> None:
    try:
        env_output.mkdir(parents=True, exist_ok=True)
        (env_output / "failure").write_text(message[:MAX_REASON])
    except OSError as error:  # the reason still reaches the log
        print(f"could not write the failure file: {error}", file=sys.stderr, flush=True)


def run(spec: AlgorithmSpec, train: Callable[[Environment], None], argv: Sequence[str]) -> int:
    """``<program> train``: runs ``train`` and returns the exit status, writing the
    failure reason to ``output/failure`` on an error."""
    output = env_path("SM_OUTPUT_DIR", "output")
    try:
        if argv and argv[0] != "train":
            raise ClientError(f"unsupported mode {argv[0]!r}; {spec.name} only trains ('train')")
        env = environment()
        output = env.output_dir
        signal.signal(signal.SIGTERM, lambda signum, frame: env.stop.append(signum))
        log(f"{spec.title} (tunelab built-in {spec.name}) on {HOST}")
        train(env)
    except ClientError as error:
        message = f"ClientError: {error}"
    except Exception as error:
        traceback.print_exc()
        message = f"AlgorithmError: {type(error).__name__}: {error}"
    else:
        return 0
    print(message, file=sys.stderr, flush=True)
    write_failure(output, message)
    return 1


def save_json(directory: Path, name: str, value: Any) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_text(json.dumps(value, indent=1, sort_keys=True) + "\n")
