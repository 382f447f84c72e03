"""The process environment of SageMaker's training-container contract: the
sagemaker-training-toolkit's training environment (``SM_TRAINING_ENV``) and the ``SM_*``
variables it derives from it, as the toolkit inside framework images sets them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from tunelab.execution.base import LaunchRequest
from tunelab.execution.job_dir import (
    INSTANCE_GROUP,
    NETWORK_INTERFACE,
    SINGLE_HOST,
    Host,
    JobLayout,
    input_data_config,
    resource_config,
)

LOG_LEVEL = 20  # logging.INFO, the toolkit's default
# Hyperparameters the toolkit keeps out of SM_HPS / SM_HP_* / SM_USER_ARGS (params.py);
# any other ``sagemaker_`` key becomes a framework parameter.
_TOOLKIT_HYPERPARAMETERS = frozenset(
    {
        "sagemaker_program",
        "sagemaker_submit_directory",
        "sagemaker_enable_cloudwatch_metrics",
        "sagemaker_region",
        "sagemaker_container_log_level",
        "sagemaker_job_name",
        "default_user_module_name",
        "_tuning_objective_metric",
        "sagemaker_s3_output",
    }
)


def decode_hyperparameters(values: Mapping[str, str]) -> dict[str, Any]:
    """The toolkit's reading of ``hyperparameters.json``: each value JSON-decoded when it
    parses ("0.1" -> 0.1, "true" -> True), else kept as the string."""
    decoded: dict[str, Any] = {}
    for key, value in values.items():
        try:
            decoded[key] = json.loads(value)
        except (ValueError, TypeError):
            decoded[key] = value
    return decoded


def user_args(hyperparameters: Mapping[str, Any]) -> list[str]:
    """``SM_USER_ARGS``: ``--name value`` pairs sorted by name (``-n`` for one-letter names),
    values rendered with ``str`` as the toolkit does."""
    args: list[str] = []
    for key in sorted(hyperparameters):
        value = hyperparameters[key]
        args.append(f"--{key}" if len(key) > 1 else f"-{key}")
        if isinstance(value, Mapping):
            args.append(",".join(f"{k}={v}" for k, v in sorted(value.items())))
        else:
            args.append("" if value is None else str(value))
    return args


def training_environment(
    request: LaunchRequest, layout: JobLayout, host: Host = SINGLE_HOST
) -> dict[str, Any]:
    """The toolkit's training environment (``SM_TRAINING_ENV``), keyed as it keys it."""
    definition = request.definition
    decoded = decode_hyperparameters(request.hyperparameters)
    hps = {
        k: v
        for k, v in decoded.items()
        if k not in _TOOLKIT_HYPERPARAMETERS and not k.startswith("sagemaker_")
    }
    framework = {
        k: v
        for k, v in decoded.items()
        if k.startswith("sagemaker_") and k not in _TOOLKIT_HYPERPARAMETERS
    }
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
    """The process environment: ``base`` (default ``os.environ``) without inherited
    ``SM_*``/``SAGEMAKER_BASE_DIR``, ``PYTHONUNBUFFERED=1``, ``TRAINING_JOB_NAME``,
    ``TRAINING_JOB_ARN``, for script mode ``TUNELAB_SCRIPT_ENVS`` (where requirements.txt
    environments are kept, an absolute path), the definition's ``Environment``, then the
    toolkit variables."""
    from tunelab.execution import script_mode  # it imports this module (via .contract)

    source = os.environ if base is None else base
    env = {
        k: v for k, v in source.items() if not k.startswith("SM_") and k != "SAGEMAKER_BASE_DIR"
    }
    env["PYTHONUNBUFFERED"] = "1"
    env["TRAINING_JOB_NAME"] = request.training_job_name
    env["TRAINING_JOB_ARN"] = request.training_job_arn
    definition = request.definition
    if script_mode.is_script_mode(definition.training_image, definition.static_hyperparameters):
        env[script_mode.SCRIPT_ENVS] = script_mode.script_envs_dir(source)
    env.update(request.definition.environment)
    env["SAGEMAKER_BASE_DIR"] = layout.root
    env.update(toolkit_variables(training_environment(request, layout, host)))
    return env
