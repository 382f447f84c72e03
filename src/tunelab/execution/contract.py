"""SageMaker's training-container contract, rooted at a job directory instead of ``/opt/ml``.

:func:`prepare_job_dir` lays out the directory and writes the three config files
(:mod:`.job_dir`), :func:`build_environment` gives the process environment (the
sagemaker-training-toolkit ``SM_*`` variables included; :mod:`.toolkit_env`) and
:func:`resolve_argv` turns ``TrainingImage`` into an argument list. Problems are raised
as :class:`LaunchError` (:mod:`.errors`), whose ``reason`` is the training job's
``FailureReason``. This module gathers the contract's names for its users.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from tunelab.algorithms.images import module_for
from tunelab.domain.definition import TrainingJobDefinition
from tunelab.execution.errors import LaunchError
from tunelab.execution.job_dir import (
    CURRENT_HOST,
    DEFAULT_INSTANCE_TYPE,
    INSTANCE_GROUP,
    NETWORK_INTERFACE,
    SINGLE_HOST,
    Host,
    JobLayout,
    attempt_log_path,
    input_data_config,
    prepare_job_dir,
    resource_config,
)
from tunelab.execution.job_dir import training_job_dir as folder_of_training_job
from tunelab.execution.toolkit_env import (
    LOG_LEVEL,
    build_environment,
    decode_hyperparameters,
    script_fields,
    toolkit_variables,
    training_environment,
    user_args,
)
from tunelab.execution.uris import image_path_problem, local_path

__all__ = [
    "CURRENT_HOST",
    "DEFAULT_INSTANCE_TYPE",
    "INSTANCE_GROUP",
    "LOG_LEVEL",
    "NETWORK_INTERFACE",
    "SINGLE_HOST",
    "STANDALONE_FOLDER",
    "AlgorithmImages",
    "Host",
    "JobLayout",
    "LaunchError",
    "attempt_log_path",
    "build_environment",
    "decode_hyperparameters",
    "image_of",
    "input_data_config",
    "prepare_job_dir",
    "resolve_argv",
    "resource_config",
    "script_fields",
    "toolkit_variables",
    "training_environment",
    "training_job_dir",
    "user_args",
]


STANDALONE_FOLDER = "_standalone"
"""The folder, under the jobs root, of the training jobs created on their own
(``CreateTrainingJob``); no tuning job's name can be it (names start with a letter or
digit)."""


def training_job_dir(jobs_root: str, tuning_job_name: str | None, training_job_name: str) -> str:
    """Where a training job's directory lives: ``<jobs_root>/<tuning job>/<training job>``,
    or ``<jobs_root>/_standalone/<training job>`` (:data:`STANDALONE_FOLDER`) for a job
    created on its own (``tuning_job_name`` None)."""
    folder = STANDALONE_FOLDER if tuning_job_name is None else tuning_job_name
    return folder_of_training_job(jobs_root, folder, training_job_name)


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
    if (problem := image_path_problem(image)) is not None:
        raise LaunchError(f"TrainingImage {problem}")
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
