"""The environment fits Linux's exec limits: no variable over 128 KiB (MAX_ARG_STRLEN),
the whole under ARG_MAX; what is left out is said in a log line, and an environment that
cannot fit is a clear launch error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tunelab.execution.base import LaunchRequest
from tunelab.execution.contract import JobLayout, LaunchError, prepare_job_dir
from tunelab.execution.toolkit_env import (
    ARGV_ROOM,
    MAX_VARIABLE_BYTES,
    environment_bytes,
    exec_limit,
    launch_environment,
)

from .test_contract import make_definition, make_request

CHUNK = 100_000


def request_with(tmp_path: Path, hps: dict[str, str]) -> tuple[LaunchRequest, JobLayout]:
    definition = make_definition("file:///bin/true", static_hyperparameters=hps)
    request = make_request(tmp_path / "job", definition, hps)
    return request, prepare_job_dir(request)


def filler(size: int) -> dict[str, str]:
    """Inherited variables taking ``size`` bytes of the exec limit (each under 128 KiB)."""
    env: dict[str, str] = {}
    n = 0
    while size > 0:
        name = f"FILL_{n}"
        length = max(1, min(CHUNK, size - len(name) - 10))
        env[name], size, n = "f" * length, size - (len(name) + length + 10), n + 1
    return env


def test_an_aggregate_over_128_kib_is_left_out_with_a_log_line(tmp_path: Path) -> None:
    hps = {f"h{i:02d}": "v" * 2500 for i in range(55)}
    env, notes = launch_environment(*request_with(tmp_path, hps), base={"PATH": "/bin"})
    assert [line.split(":")[1].strip() for line in notes] == [
        "SM_HPS is not set",
        "SM_TRAINING_ENV is not set",
        "SM_USER_ARGS is not set",
    ]
    assert "more than the 131,072 bytes Linux allows one environment variable" in notes[0]
    assert "$SAGEMAKER_BASE_DIR/input/config/hyperparameters.json and SM_HP_<NAME>" in notes[0]
    assert max(len(f"{k}={v}".encode()) + 1 for k, v in env.items()) <= MAX_VARIABLE_BYTES
    assert env["SM_HP_H54"] == "v" * 2500 and env["SM_CURRENT_HOST"] == "algo-1"
    done = subprocess.run([sys.executable, "-c", "pass"], env=env, check=False)
    assert done.returncode == 0


def test_small_hyperparameters_keep_every_variable(tmp_path: Path) -> None:
    env, notes = launch_environment(*request_with(tmp_path, {"lr": "0.1"}), base={})
    assert notes == [] and env["SM_HPS"] == '{"lr":0.1}' and "SM_TRAINING_ENV" in env


def test_an_environment_over_arg_max_loses_aggregates_until_it_fits(tmp_path: Path) -> None:
    request, layout = request_with(tmp_path, {f"h{i:02d}": "v" * 2500 for i in range(20)})
    full, notes = launch_environment(request, layout, base={})
    assert notes == []
    room = exec_limit() - ARGV_ROOM
    inherited = filler(room - environment_bytes(full) + 1)  # one byte too many
    env, notes = launch_environment(request, layout, base=inherited)
    assert len(notes) == 1 and notes[0].startswith("tunelab: SM_TRAINING_ENV is not set: ")
    assert "limit on a program's arguments and environment (ARG_MAX" in notes[0]
    assert "SM_HPS" in env and environment_bytes(env) <= room
    done = subprocess.run([sys.executable, "-c", "pass"], env=env, check=False)
    assert done.returncode == 0


def test_an_environment_that_cannot_fit_is_a_launch_error(tmp_path: Path) -> None:
    request, layout = request_with(tmp_path, {"lr": "0.1"})
    full, _ = launch_environment(request, layout, base={})
    inherited = filler(exec_limit() - environment_bytes(full))
    with pytest.raises(LaunchError) as raised:
        launch_environment(request, layout, base=inherited)
    reason = raised.value.reason
    assert reason.startswith("the training job's environment cannot be set: the environment")
    assert "even without SM_TRAINING_ENV, SM_HPS, SM_USER_ARGS, SM_FRAMEWORK_PARAMS" in reason
    assert not raised.value.internal
