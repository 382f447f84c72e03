"""The process environment of SageMaker's training-container contract: the
sagemaker-training-toolkit's training environment (``SM_TRAINING_ENV``) and the ``SM_*``
variables it derives from it, as the toolkit inside framework images sets them.

Hyperparameters SageMaker accepts (100 values of 2,500 characters) can make an aggregate
variable (``SM_HPS``, ``SM_TRAINING_ENV``, ``SM_USER_ARGS``) longer than Linux lets one
variable be, or the whole environment larger than a program may start with: such
aggregates are left out, each with a line for the job's log (:func:`launch_environment`);
``hyperparameters.json`` and ``SM_HP_<NAME>`` still carry every hyperparameter, and a
script still gets its arguments (:mod:`.script_entry` reads them from the file).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from tunelab.execution.base import LaunchRequest
from tunelab.execution.errors import LaunchError
from tunelab.execution.job_dir import (
    INSTANCE_GROUP,
    NETWORK_INTERFACE,
    SINGLE_HOST,
    Host,
    JobLayout,
    input_data_config,
    resource_config,
)
from tunelab.execution.toolkit_hyperparameters import (
    decode_hyperparameters,
    framework_parameters,
    user_args,
    user_hyperparameters,
)

LOG_LEVEL = 20  # logging.INFO, the toolkit's default
MAX_VARIABLE_BYTES = 32 * 4096
"""Linux's limit on one ``NAME=value`` string given to a program (MAX_ARG_STRLEN), its
terminating NUL included."""
ARGV_ROOM = 64 * 1024
"""Bytes of the exec limit kept for the program's arguments and the launch wrappers'
(``taskset``, ``prlimit``, ``ip netns exec``) and the variables the host adds."""
LEFT_OUT_FIRST = ("SM_TRAINING_ENV", "SM_HPS", "SM_USER_ARGS", "SM_FRAMEWORK_PARAMS")
"""The aggregate variables left out, in this order, of an environment over the exec
limit: each repeats what ``input/config/hyperparameters.json`` and ``SM_HP_<NAME>`` hold."""
_STACK_ARG_CAP = 6 * 1024 * 1024  # Linux: at most 3/4 of _STK_LIM (8 MiB) for exec's strings


def training_environment(
    request: LaunchRequest, layout: JobLayout, host: Host = SINGLE_HOST
) -> dict[str, Any]:
    """The toolkit's training environment (``SM_TRAINING_ENV``), keyed as it keys it."""
    definition = request.definition
    decoded = decode_hyperparameters(request.hyperparameters)
    hps = user_hyperparameters(decoded)
    framework = framework_parameters(decoded)
    resources = resource_config(definition, host)
    groups = {g["instance_group_name"]: g for g in resources["instance_groups"]}
    channels = {c.name: layout.channel_dir(c.name) for c in definition.channels}
    return {
        "additional_framework_parameters": framework,
        "channel_input_dirs": channels,
        "current_host": host.name,
        "current_instance_group": INSTANCE_GROUP,
        "current_instance_group_hosts": resources["hosts"],
        "current_instance_type": resources["current_instance_type"],
        "distribution_hosts": [],
        "distribution_instance_groups": [],
        "hosts": resources["hosts"],
        "hyperparameters": hps,
        "input_config_dir": layout.config_dir,
        "input_data_config": input_data_config(definition),
        "input_dir": layout.input_dir,
        "instance_groups": [INSTANCE_GROUP],
        "instance_groups_dict": groups,
        "is_hetero": False,
        "is_master": host.name == host.hosts[0],
        "job_name": request.training_job_name,
        "log_level": decoded.get("sagemaker_container_log_level", LOG_LEVEL),
        **script_fields(decoded, layout.root),
        "master_hostname": host.hosts[0],
        "model_dir": layout.model_dir,
        "network_interface_name": NETWORK_INTERFACE,
        "num_cpus": host.num_cpus,
        "num_gpus": host.num_gpus,
        "output_data_dir": layout.output_data_dir,
        "output_dir": layout.output_dir,
        "output_intermediate_dir": layout.intermediate_dir,
        "resource_config": resources,
    }


def script_fields(decoded: Mapping[str, Any], root: str) -> dict[str, Any]:
    """The toolkit's script-mode fields: the program (``sagemaker_program``), its module
    name, the submit directory as given (``/opt/ml/code`` when none) and the image's
    framework module (``SAGEMAKER_TRAINING_MODULE``; none here)."""
    program = decoded.get("sagemaker_program")
    name = str(program)
    return {
        "user_entry_point": program,
        "module_name": name[:-3] if name.endswith(".py") else name,
        "module_dir": str(decoded.get("sagemaker_submit_directory", os.path.join(root, "code"))),
        "framework_module": None,
    }


def toolkit_variables(env: Mapping[str, Any]) -> dict[str, str]:
    """The ``SM_*`` variables of a training environment (toolkit ``to_env_vars``): strings
    as they are, anything else as compact, key-sorted JSON."""
    hps: Mapping[str, Any] = env["hyperparameters"]
    items: dict[str, Any] = {
        "hosts": env["hosts"],
        "network_interface_name": env["network_interface_name"],
        "hps": hps,
        "user_entry_point": env["user_entry_point"],
        "module_name": env["module_name"],
        "framework_module": env["framework_module"],
        "module_dir": env["module_dir"],
        "framework_params": env["additional_framework_parameters"],
        "resource_config": env["resource_config"],
        "input_data_config": env["input_data_config"],
        "output_data_dir": env["output_data_dir"],
        "channels": sorted(env["channel_input_dirs"]),
        "current_host": env["current_host"],
        "current_instance_type": env["current_instance_type"],
        "current_instance_group": env["current_instance_group"],
        "current_instance_group_hosts": env["current_instance_group_hosts"],
        "instance_groups": env["instance_groups"],
        "instance_groups_dict": env["instance_groups_dict"],
        "distribution_instance_groups": env["distribution_instance_groups"],
        "is_hetero": env["is_hetero"],
        "log_level": env["log_level"],
        "input_dir": env["input_dir"],
        "input_config_dir": env["input_config_dir"],
        "output_dir": env["output_dir"],
        "num_cpus": env["num_cpus"],
        "num_gpus": env["num_gpus"],
        "model_dir": env["model_dir"],
        "training_env": env,
        "user_args": user_args(hps),
        "output_intermediate_dir": env["output_intermediate_dir"],
    }
    for name, path in env["channel_input_dirs"].items():
        items[f"channel_{name}"] = path
    for name, value in hps.items():
        items[f"hp_{name}"] = value
    variables = {f"SM_{key.upper()}": _env_value(value) for key, value in items.items()}
    # a name with "=" or a NUL cannot be a variable, nor a value with a NUL: SM_HPS has them
    return {k: v for k, v in variables.items() if "=" not in k and "\0" not in k + v}


def _env_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def build_environment(
    request: LaunchRequest,
    layout: JobLayout,
    base: Mapping[str, str] | None = None,
    host: Host = SINGLE_HOST,
) -> dict[str, str]:
    """:func:`launch_environment` without its notes."""
    return launch_environment(request, layout, base, host)[0]


def launch_environment(
    request: LaunchRequest,
    layout: JobLayout,
    base: Mapping[str, str] | None = None,
    host: Host = SINGLE_HOST,
) -> tuple[dict[str, str], list[str]]:
    """The process environment and a line for the job's log per variable left out of it.

    The environment: ``base`` (default ``os.environ``) without inherited
    ``SM_*``/``SAGEMAKER_BASE_DIR``, ``PYTHONUNBUFFERED=1``, ``TRAINING_JOB_NAME``,
    ``TRAINING_JOB_ARN``, for script mode ``TUNELAB_SCRIPT_ENVS`` (where requirements.txt
    environments are kept, an absolute path), the definition's ``Environment``, then the
    toolkit variables, fitted to what Linux lets a program start with
    (:func:`fit_to_exec_limits`). Raises :class:`LaunchError` when it cannot fit."""
    from tunelab.execution import script_mode  # it imports this module (via .contract)

    source = os.environ if base is None else base
    env = {
        k: v for k, v in source.items() if not k.startswith("SM_") and k != "SAGEMAKER_BASE_DIR"
    }
    env["PYTHONUNBUFFERED"] = "1"
    env["TRAINING_JOB_NAME"] = request.training_job_name
    env["TRAINING_JOB_ARN"] = request.training_job_arn
    definition = request.definition
    script = script_mode.is_script_mode(
        definition.training_image, definition.static_hyperparameters
    )
    if script:
        env[script_mode.SCRIPT_ENVS] = script_mode.script_envs_dir(source)
    env.update(request.definition.environment)
    env["SAGEMAKER_BASE_DIR"] = layout.root
    toolkit = toolkit_variables(training_environment(request, layout, host))
    env.update(toolkit)
    # a script-mode job's toolkit step execs the script with its arguments and this env
    hps = user_hyperparameters(decode_hyperparameters(request.hyperparameters))
    return fit_to_exec_limits(env, set(toolkit), user_args(hps) if script else [])


def fit_to_exec_limits(
    env: Mapping[str, str], removable: set[str], argv: list[str]
) -> tuple[dict[str, str], list[str]]:
    """``env`` without the variables of ``removable`` that Linux would refuse to start a
    program with, and a log line for each: first any over :data:`MAX_VARIABLE_BYTES`, then
    :data:`LEFT_OUT_FIRST` in turn while the whole environment, with ``argv`` and
    :data:`ARGV_ROOM`, is over :func:`exec_limit`. Raises :class:`LaunchError` when it
    still is."""
    fitted, notes = dict(env), []
    sizes = {name: len(_entry(name, value)) for name, value in env.items()}  # each once
    for name, size in sizes.items():
        if name in removable and size > MAX_VARIABLE_BYTES:
            del fitted[name]
            notes.append(
                _left_out(
                    name,
                    f"it would take {size:,} bytes, more than the {MAX_VARIABLE_BYTES:,}"
                    " bytes Linux allows one environment variable (MAX_ARG_STRLEN)",
                )
            )
    limit = exec_limit()
    room = limit - ARGV_ROOM - strings_bytes(argv)
    total = sum(sizes[name] + _POINTER for name in fitted)  # as environment_bytes counts
    for name in LEFT_OUT_FIRST:
        if total <= room:
            break
        if name in fitted and name in removable:
            del fitted[name]
            notes.append(_left_out(name, _over(total, room, limit)))
            total -= sizes[name] + _POINTER
    if total > room:
        raise LaunchError(
            "the training job's environment cannot be set: "
            + _over(total, room, limit)
            + " even without "
            + ", ".join(LEFT_OUT_FIRST)
            + "; use fewer or shorter hyperparameters or Environment variables"
            + (" (a script gets each hyperparameter as an argument too)" if argv else "")
        )
    return fitted, notes


def exec_limit() -> int:
    """How many bytes of argument and environment strings (with their pointers) Linux
    lets a program start with (ARG_MAX): a quarter of the stack size limit (``ulimit
    -s``), at least 128 KiB and at most 6 MiB."""
    try:
        limit = os.sysconf("SC_ARG_MAX")
    except (ValueError, OSError):
        limit = 2 * 1024 * 1024
    return min(max(limit, MAX_VARIABLE_BYTES), _STACK_ARG_CAP)


def environment_bytes(env: Mapping[str, str]) -> int:
    """What ``env`` takes of :func:`exec_limit`: each ``NAME=value``, its NUL and pointer."""
    return sum(len(_entry(k, v)) + _POINTER for k, v in env.items())


def strings_bytes(strings: list[str]) -> int:
    """What argument strings take of :func:`exec_limit` (each with its NUL and pointer)."""
    return sum(len(os.fsencode(s)) + 1 + _POINTER for s in strings)


_POINTER = 8
"""What each string's pointer takes of :func:`exec_limit`."""


def _entry(name: str, value: str) -> bytes:
    """``NAME=value`` and its NUL as exec gets it."""
    return os.fsencode(name) + b"=" + os.fsencode(value) + b"\0"


def _over(total: int, room: int, limit: int) -> str:
    return (
        f"the environment would take {total:,} bytes, more than the {room:,} bytes left "
        f"for it of Linux's {limit:,}-byte limit on a program's arguments and environment "
        "(ARG_MAX: a quarter of `ulimit -s`)"
    )


def _left_out(name: str, why: str) -> str:
    return (
        f"tunelab: {name} is not set: {why}; the hyperparameters are in "
        "$SAGEMAKER_BASE_DIR/input/config/hyperparameters.json and SM_HP_<NAME>"
    )
