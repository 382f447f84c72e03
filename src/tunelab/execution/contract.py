"""SageMaker's training-container contract, rooted at a job directory instead of ``/opt/ml``.

:func:`prepare_job_dir` lays out the directory and writes the three config files,
:func:`build_environment` gives the process environment (the sagemaker-training-toolkit
``SM_*`` variables included) and :func:`resolve_argv` turns ``TrainingImage`` into an
argument list. Problems are raised as :class:`LaunchError`, whose ``reason`` is the
training job's ``FailureReason``.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tunelab.algorithms.images import module_for
from tunelab.domain.definition import TrainingJobDefinition
from tunelab.execution.base import LaunchRequest
from tunelab.execution.uris import local_path

CURRENT_HOST = "algo-1"
INSTANCE_GROUP = "homogeneousCluster"
NETWORK_INTERFACE = "eth0"
DEFAULT_INSTANCE_TYPE = "local"
LOG_LEVEL = 20  # logging.INFO, the toolkit's default

_NUM_CPUS = os.cpu_count() or 1
_CONTAINER_ROOT = "/opt/ml/"
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


class LaunchError(Exception):
    """The attempt cannot start; ``reason`` is its ``FailureReason``. ``internal``: the
    machinery failed (not the request or the program), so the job may be retried."""

    def __init__(self, reason: str, internal: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.internal = internal


@dataclass(frozen=True)
class Host:
    """The instance a process plays in its job (``algo-1``... of ``hosts``) and its share
    of the machine (``SM_NUM_CPUS``, ``SM_NUM_GPUS``)."""

    name: str = CURRENT_HOST
    hosts: tuple[str, ...] = (CURRENT_HOST,)
    num_cpus: int = _NUM_CPUS
    num_gpus: int = 0


SINGLE_HOST = Host()


def training_job_dir(jobs_root: str, tuning_job_name: str, training_job_name: str) -> str:
    """Where a training job's directory lives: ``<jobs_root>/<tuning job>/<training job>``."""
    return os.path.join(jobs_root, tuning_job_name, training_job_name)


def attempt_log_path(job_dir: str, attempt: int) -> str:
    """The combined stdout/stderr log of one attempt: ``<job dir>/logs/attempt-<n>.log``."""
    return os.path.join(job_dir, "logs", f"attempt-{attempt}.log")


@dataclass(frozen=True)
class JobLayout:
    """Paths of one job directory (``root`` plays ``/opt/ml``)."""

    root: str
    checkpoint_dir: str

    @classmethod
    def for_request(cls, request: LaunchRequest) -> JobLayout:
        """``checkpoint_dir`` is ``CheckpointConfig.LocalPath`` when given (a path under
        ``/opt/ml/`` is re-rooted at the job directory), else ``<root>/checkpoints``."""
        root = os.path.abspath(request.job_dir)
        checkpoint = os.path.join(root, "checkpoints")
        spec = request.definition.checkpoint
        if spec is not None and spec.local_path:
            local = os.path.normpath(spec.local_path)
            if (local + "/").startswith(_CONTAINER_ROOT):
                checkpoint = os.path.join(root, local[len(_CONTAINER_ROOT) :])
            elif os.path.isabs(local):
                checkpoint = local
            else:
                raise LaunchError(
                    f"CheckpointConfig.LocalPath {spec.local_path!r} must be an absolute path"
                )
        return cls(root, checkpoint)

    @property
    def input_dir(self) -> str:
        return os.path.join(self.root, "input")

    @property
    def config_dir(self) -> str:
        return os.path.join(self.root, "input", "config")

    @property
    def data_dir(self) -> str:
        return os.path.join(self.root, "input", "data")

    @property
    def model_dir(self) -> str:
        return os.path.join(self.root, "model")

    @property
    def output_dir(self) -> str:
        return os.path.join(self.root, "output")

    @property
    def output_data_dir(self) -> str:
        return os.path.join(self.root, "output", "data")

    @property
    def intermediate_dir(self) -> str:
        return os.path.join(self.root, "output", "intermediate")

    @property
    def failure_path(self) -> str:
        return os.path.join(self.root, "output", "failure")

    @property
    def log_dir(self) -> str:
        return os.path.join(self.root, "logs")

    def channel_dir(self, channel: str) -> str:
        return os.path.join(self.root, "input", "data", channel)

    def log_path(self, attempt: int) -> str:
        return attempt_log_path(self.root, attempt)


def input_data_config(definition: TrainingJobDefinition) -> dict[str, dict[str, str]]:
    """``inputdataconfig.json``: one entry per channel, as SageMaker writes it."""
    config: dict[str, dict[str, str]] = {}
    for channel in definition.channels:
        entry: dict[str, str] = {}
        if channel.content_type:
            entry["ContentType"] = channel.content_type
        entry["TrainingInputMode"] = str(channel.input_mode or definition.input_mode)
        entry["S3DistributionType"] = channel.distribution
        entry["RecordWrapperType"] = channel.record_wrapper or "None"
        config[channel.name] = entry
    return config


def resource_config(definition: TrainingJobDefinition, host: Host = SINGLE_HOST) -> dict[str, Any]:
    """``resourceconfig.json`` of ``host`` (by default the single host ``algo-1``)."""
    instance_type = definition.resources.instance_type or DEFAULT_INSTANCE_TYPE
    hosts = list(host.hosts)
    return {
        "current_host": host.name,
        "current_instance_type": instance_type,
        "current_group_name": INSTANCE_GROUP,
        "hosts": hosts,
        "instance_groups": [
            {"instance_group_name": INSTANCE_GROUP, "instance_type": instance_type, "hosts": hosts}
        ],
        "network_interface_name": NETWORK_INTERFACE,
    }


def prepare_job_dir(request: LaunchRequest, host: Host = SINGLE_HOST) -> JobLayout:
    """Create the job directory and write the config files. ``input/``, ``model/`` and
    ``output/`` of an earlier attempt are removed (a retry gets a fresh container);
    ``checkpoints/`` and ``logs/`` are kept."""
    layout = JobLayout.for_request(request)
    definition = request.definition
    tree = (
        layout.root,
        layout.input_dir,
        layout.config_dir,
        layout.data_dir,
        *(layout.channel_dir(c.name) for c in definition.channels),
        layout.model_dir,
        layout.output_dir,
        layout.output_data_dir,
        layout.intermediate_dir,
        layout.log_dir,
    )
    try:
        if os.path.lexists(layout.root):  # an earlier attempt
            for stale in (layout.input_dir, layout.model_dir, layout.output_dir):
                if os.path.lexists(stale):
                    shutil.rmtree(stale)
            for path in tree:
                os.makedirs(path, exist_ok=True)
        else:  # the common case, kept to one mkdir per directory
            os.makedirs(os.path.dirname(layout.root), exist_ok=True)
            for path in tree:
                os.mkdir(path)
        os.makedirs(layout.checkpoint_dir, exist_ok=True)
        config = layout.config_dir
        _write_json(os.path.join(config, "hyperparameters.json"), request.hyperparameters)
        _write_json(os.path.join(config, "inputdataconfig.json"), input_data_config(definition))
        _write_json(os.path.join(config, "resourceconfig.json"), resource_config(definition, host))
    except OSError as exc:
        raise LaunchError(f"could not prepare the job directory {layout.root}: {exc}") from exc
    return layout


def _write_json(path: str, value: object) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(value, f)


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
    return {f"SM_{key.upper()}": _env_value(value) for key, value in items.items()}


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
    ``TRAINING_JOB_ARN``, the definition's ``Environment``, then the toolkit variables."""
    source = os.environ if base is None else base
    env = {
        k: v for k, v in source.items() if not k.startswith("SM_") and k != "SAGEMAKER_BASE_DIR"
    }
    env["PYTHONUNBUFFERED"] = "1"
    env["TRAINING_JOB_NAME"] = request.training_job_name
    env["TRAINING_JOB_ARN"] = request.training_job_arn
    env.update(request.definition.environment)
    env["SAGEMAKER_BASE_DIR"] = layout.root
    env.update(toolkit_variables(training_environment(request, layout, host)))
    return env


AlgorithmImages = Callable[[str], str | None]
"""The ``TrainingImage`` of an algorithm registered by name (None: no such algorithm)."""


def image_of(definition: TrainingJobDefinition, algorithms: AlgorithmImages | None) -> str | None:
    """The program a definition runs: its ``TrainingImage``, or its registered
    algorithm's."""
    if definition.training_image:
        return definition.training_image
    if definition.algorithm_name and algorithms is not None:
        return algorithms(definition.algorithm_name)
    return None


def resolve_argv(
    definition: TrainingJobDefinition, algorithms: AlgorithmImages | None = None
) -> list[str]:
    """``docker run <image> train`` for a ``file:`` image (see :mod:`.uris`): a ``.py``
    file runs under this interpreter, any other file must be executable. A built-in
    algorithm's image (:mod:`tunelab.algorithms.images`) runs its program with this
    interpreter. An ``AlgorithmName`` runs its registered algorithm's image."""
    image = image_of(definition, algorithms)
    if not image:
        raise LaunchError(
            f"AlgorithmName {definition.algorithm_name!r} is not an algorithm registered "
            "with tunelab (CreateAlgorithm)"
        )
    builtin = module_for(image, definition.static_hyperparameters)
    if builtin is not None:
        return [sys.executable, "-m", builtin, "train"]
    from tunelab.execution import container, script_mode  # they import this module

    if script_mode.is_script_mode(image, definition.static_hyperparameters):
        return script_mode.entry_argv()
    if container.runs_in_container(image, definition.static_hyperparameters):
        if container.engine_available():
            return container.entry_argv(definition)
        raise LaunchError(
            f"TrainingImage {image!r} is a container image and no container engine answers "
            "here (`docker info` failed)"
        )
    path = local_path(image) if image.startswith("file:") else None
    if path is None:
        raise LaunchError(
            f"TrainingImage {image!r} is not supported by the local executor; "
            "use file:///absolute/path/to/program"
        )
    if not os.path.isfile(path):
        raise LaunchError(f"TrainingImage {image!r}: program {path} does not exist")
    if path.endswith(".py"):
        return [sys.executable, path, "train"]
    if not os.access(path, os.X_OK):
        raise LaunchError(
            f"TrainingImage {image!r}: program {path} is not executable "
            "(make it executable, or use a .py file)"
        )
    return [path, "train"]
