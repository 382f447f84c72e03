"""The job directory: SageMaker's training-container ``/opt/ml``, rooted at a directory of
its own per training job (:class:`JobLayout`), and the three config files
:func:`prepare_job_dir` writes into ``input/config/`` (``hyperparameters.json``,
``inputdataconfig.json``, ``resourceconfig.json``) for the :class:`Host` a process plays.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from typing import Any

from tunelab.domain.definition import TrainingJobDefinition
from tunelab.execution.base import LaunchRequest
from tunelab.execution.errors import LaunchError

CURRENT_HOST = "algo-1"
INSTANCE_GROUP = "homogeneousCluster"
NETWORK_INTERFACE = "eth0"
DEFAULT_INSTANCE_TYPE = "local"

_NUM_CPUS = os.cpu_count() or 1
_CONTAINER_ROOT = "/opt/ml/"


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


def attempt_started(job_dir: str, attempt: int) -> bool:
    """Whether a host of the attempt was started (or about to be): its log exists, since
    a host's log is created right before its process."""
    logs = os.path.join(job_dir, "logs")
    try:
        names = os.listdir(logs)
    except OSError:
        return False
    first = f"attempt-{attempt}"
    return any(n == f"{first}.log" or n.startswith(f"{first}-algo-") for n in names)


RESERVED_FOLDERS = {
    "input": "the job's config files and data channels",
    "model": "the model (SM_MODEL_DIR), packaged as model.tar.gz",
    "output": "the job's output (output/data, the failure file)",
    "code": "the script-mode code (SAGEMAKER_SUBMIT_DIRECTORY)",
    "logs": "tunelab's logs of the job's attempts",
    "hosts": "the folders of the job's other hosts",
}
"""The folders of the job directory (``/opt/ml/<name>``) that hold something else than
checkpoints, and what: the container contract's and tunelab's own."""


def normalized_local_path(local_path: str) -> str:
    """``CheckpointConfig.LocalPath`` in one spelling: ``os.path.normpath``, and a leading
    ``//`` (which POSIX's normpath keeps) as ``/``, so ``//opt/ml/x`` is ``/opt/ml/x``."""
    local = os.path.normpath(local_path)
    return "/" + local.lstrip("/") if local.startswith("//") else local


def local_path_problem(local_path: str) -> str | None:
    """Why ``CheckpointConfig.LocalPath`` ``local_path`` cannot be a checkpoint folder, or
    None: it must be absolute and neither ``/opt/ml`` itself nor one of
    :data:`RESERVED_FOLDERS` or a path inside one (restoring checkpoints empties the
    checkpoint folder of what ``S3Uri`` does not hold, and syncing uploads all it holds).
    ``/opt/ml/checkpoints`` (the default) and other new folders under ``/opt/ml`` are fine."""
    local = normalized_local_path(local_path)
    if not os.path.isabs(local):
        return f"{local_path!r} must be an absolute path"
    if not (local + "/").startswith(_CONTAINER_ROOT):
        return None
    relative = local[len(_CONTAINER_ROOT) :]
    top = relative.split("/")[0]
    if top and top not in RESERVED_FOLDERS:
        return None
    if not top:
        what = "is the job directory itself"
    elif relative == top:
        what = f"is the folder of {RESERVED_FOLDERS[top]}"
    else:
        what = f"is inside /opt/ml/{top}, the folder of {RESERVED_FOLDERS[top]}"
    return (
        f"{local_path!r} {what}: restoring checkpoints would delete its files "
        "and syncing would upload them as checkpoints; name a folder of its own, such as "
        "/opt/ml/checkpoints (the default)"
    )


def shared_checkpoint_dir(definition: TrainingJobDefinition) -> str | None:
    """The directory of this machine a job's checkpoints live in when its
    ``CheckpointConfig.LocalPath`` is an absolute path outside ``/opt/ml/``: the same
    directory for every job that names it (SageMaker gives each container its own), so
    the executor runs such jobs one at a time. None for every other job."""
    spec = definition.checkpoint
    if spec is None or not spec.local_path:
        return None
    local = normalized_local_path(spec.local_path)
    if (local + "/").startswith(_CONTAINER_ROOT) or not os.path.isabs(local):
        return None
    return local


@dataclass(frozen=True)
class JobLayout:
    """Paths of one job directory (``root`` plays ``/opt/ml``)."""

    root: str
    checkpoint_dir: str

    @classmethod
    def for_request(cls, request: LaunchRequest) -> JobLayout:
        """``checkpoint_dir`` is ``CheckpointConfig.LocalPath`` when given (a path under
        ``/opt/ml/`` is re-rooted at the job directory), else ``<root>/checkpoints``;
        :class:`LaunchError` for a ``LocalPath`` :func:`local_path_problem` refuses."""
        root = os.path.abspath(request.job_dir)
        checkpoint = os.path.join(root, "checkpoints")
        spec = request.definition.checkpoint
        if spec is not None and spec.local_path:
            problem = local_path_problem(spec.local_path)
            if problem is not None:  # a job stored before the rule was checked at create time
                raise LaunchError(f"CheckpointConfig.LocalPath {problem}")
            local = normalized_local_path(spec.local_path)
            if (local + "/").startswith(_CONTAINER_ROOT):
                checkpoint = os.path.join(root, local[len(_CONTAINER_ROOT) :])
            else:
                checkpoint = local
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
