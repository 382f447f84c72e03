"""The sagemaker-training-toolkit's reading of ``hyperparameters.json``: values decoded,
the toolkit's own keys set apart, and the user's hyperparameters as command-line
arguments (``SM_USER_ARGS``).

Standard library only: the job's toolkit step (:mod:`tunelab.execution.script_entry`)
imports it to rebuild the script's arguments from ``hyperparameters.json`` when
``SM_USER_ARGS`` was left out of the environment (:mod:`.toolkit_env`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

TOOLKIT_HYPERPARAMETERS = frozenset(
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
"""Hyperparameters the toolkit keeps out of SM_HPS / SM_HP_* / SM_USER_ARGS (params.py);
any other ``sagemaker_`` key becomes a framework parameter."""


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


def user_hyperparameters(decoded: Mapping[str, Any]) -> dict[str, Any]:
    """The user's hyperparameters (``SM_HPS``): neither the toolkit's nor ``sagemaker_``."""
    return {
        k: v
        for k, v in decoded.items()
        if k not in TOOLKIT_HYPERPARAMETERS and not k.startswith("sagemaker_")
    }


def framework_parameters(decoded: Mapping[str, Any]) -> dict[str, Any]:
    """``sagemaker_`` hyperparameters that are not the toolkit's (``SM_FRAMEWORK_PARAMS``)."""
    return {
        k: v
        for k, v in decoded.items()
        if k.startswith("sagemaker_") and k not in TOOLKIT_HYPERPARAMETERS
    }


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
