"""Script mode: a SageMaker framework image (PyTorch, TensorFlow, scikit-learn, XGBoost,
MXNet, Hugging Face training images; recognized by repository name, any account, region
and tag) with the static hyperparameters ``sagemaker_program`` and
``sagemaker_submit_directory`` runs the user's script with this machine's Python, as the
sagemaker-training-toolkit inside those images does:

- the submit directory (a local folder or ``.tar.gz``, ``file://``, or ``s3://`` folder or
  ``.tar.gz``) is unpacked into ``<job dir>/code`` (``/opt/ml/code``), the working
  directory of the script;
- a ``.py`` program runs as ``python <program> --name value...`` (the user hyperparameters,
  ``SM_USER_ARGS``); a folder with ``setup.py`` as ``python -m <module>``; anything else as
  ``./<program>``; the ``SM_*`` variables are the toolkit's (:mod:`.contract`).

- a ``requirements.txt`` in the submit directory is pip-installed before the script runs,
  as the toolkit does, but into a virtual environment layered on this machine's Python
  (whose packages stay importable, so pip installs only what is missing or pinned to
  another version), cached per requirements and interpreter under
  ``$TUNELAB_SCRIPT_ENVS`` (default ``$TUNELAB_HOME/script-envs``; delete it to clear
  the cache) and reused by later jobs; the script then runs with that environment's
  Python. When pip fails, the job fails with ``InstallRequirementsError``
  (:mod:`.script_entry` does it, in the job's process and log).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tarfile
import tempfile
from collections.abc import Mapping
from pathlib import Path

from tunelab.algorithms.images import DOMAINS, builtin_for
from tunelab.domain.definition import TrainingJobDefinition
from tunelab.execution.contract import JobLayout, LaunchError
from tunelab.execution.home import tunelab_home
from tunelab.execution.storage import DataPlane, Location, exists, prefix_objects, resolve

FRAMEWORK_REPOSITORIES = {
    "pytorch-training": "pytorch",
    "sagemaker-pytorch": "pytorch",
    "tensorflow-training": "tensorflow",
    "sagemaker-tensorflow": "tensorflow",
    "sagemaker-tensorflow-scriptmode": "tensorflow",
    "sagemaker-scikit-learn": "sklearn",
    "sagemaker-xgboost": "xgboost",
    "mxnet-training": "mxnet",
    "sagemaker-mxnet": "mxnet",
    "huggingface-pytorch-training": "huggingface",
    "huggingface-tensorflow-training": "huggingface",
}
"""Training repositories of the SageMaker SDK's ``image_uri_config`` whose images run the
training toolkit's script mode."""
PROGRAM, SUBMIT_DIRECTORY = "sagemaker_program", "sagemaker_submit_directory"
ENTRY_MODULE = "tunelab.execution.script_entry"
SCRIPT_ENVS = "TUNELAB_SCRIPT_ENVS"
"""The folder of the environments ``requirements.txt`` files are installed into."""
_ECR = re.compile(
    r"[0-9]{12}\.dkr\.ecr\.[a-z0-9-]+\.(?P<domain>[a-z0-9.]+)/"
    r"(?P<repository>[a-z0-9._/-]+)(?::[A-Za-z0-9._-]+|@sha256:[0-9a-f]{64})"
)


def framework_of(image: str | None) -> str | None:
    """The framework of a SageMaker framework training image URI, else None."""
    match = _ECR.fullmatch((image or "").strip())
    if match is None or match["domain"] not in DOMAINS:
        return None
    return FRAMEWORK_REPOSITORIES.get(match["repository"])


def _decoded(value: str) -> str:
    """A hyperparameter as the toolkit reads it (the SDK JSON-encodes strings)."""
    try:
        decoded = json.loads(value)
    except (ValueError, TypeError):
        return value
    return decoded if isinstance(decoded, str) else value


def script_of(static: Mapping[str, str]) -> tuple[str | None, str | None]:
    """(``sagemaker_program``, ``sagemaker_submit_directory``), decoded."""
    program, submit = static.get(PROGRAM), static.get(SUBMIT_DIRECTORY)
    return (
        None if program is None else _decoded(program),
        None if submit is None else _decoded(submit),
    )


def is_script_mode(image: str | None, static: Mapping[str, str]) -> bool:
    """A framework image that is not a built-in algorithm here."""
    return framework_of(image) is not None and builtin_for(image, static) is None


def entry_argv() -> list[str]:
    """The process a script-mode job starts (:mod:`.script_entry`, the toolkit's part)."""
    return [sys.executable, "-m", ENTRY_MODULE, "train"]


def script_envs_dir(env: Mapping[str, str]) -> str:
    """``TUNELAB_SCRIPT_ENVS`` of ``env``, else ``$TUNELAB_HOME/script-envs``."""
    if env.get(SCRIPT_ENVS):
        return str(Path(env[SCRIPT_ENVS]).expanduser().resolve())
    return str(tunelab_home(env) / "script-envs")


def code_dir(layout: JobLayout) -> str:
    return os.path.join(layout.root, "code")


def script_problems(definition: TrainingJobDefinition, plane: DataPlane) -> list[str]:
    """Why a script-mode definition cannot run (empty when it can)."""
    program, submit = script_of(definition.static_hyperparameters)
    if not program or not submit:
        return [
            f"the framework image {definition.training_image!r} runs a training script: set "
            f"the static hyperparameters {PROGRAM} (the script) and {SUBMIT_DIRECTORY} (a "
            "folder or .tar.gz holding it: local path, file:// or s3://)"
        ]
    try:
        location = resolve(submit, plane)
    except LaunchError as exc:
        return [f"{SUBMIT_DIRECTORY} {exc.reason}"]
    if not exists(location):
        return [f"{SUBMIT_DIRECTORY} {submit} does not exist"]
    if location.is_local and os.path.isdir(location.path):
        if not os.path.exists(os.path.join(location.path, program)):
            return [f"{PROGRAM} {program!r} is not in {SUBMIT_DIRECTORY} {submit}"]
    elif location.is_local and tarfile.is_tarfile(location.path):
        with tarfile.open(location.path) as tar:
            names = {os.path.normpath(n) for n in tar.getnames()}
        if os.path.normpath(program) not in names:
            return [f"{PROGRAM} {program!r} is not in {SUBMIT_DIRECTORY} {submit}"]
    return []


def prepare_code(
    static: Mapping[str, str], layout: JobLayout, plane: DataPlane
) -> tuple[str, str]:
    """Unpack ``sagemaker_submit_directory`` into ``<job dir>/code`` (emptied first) and
    return (code directory, program). Raises :class:`LaunchError`."""
    program, submit = script_of(static)
    if not program or not submit:
        raise LaunchError(
            f"script mode needs the hyperparameters {PROGRAM} and {SUBMIT_DIRECTORY}"
        )
    target = code_dir(layout)
    shutil.rmtree(target, ignore_errors=True)
    os.makedirs(target)
    try:
        source = resolve(submit, plane)
        _fetch(source, target)
    except LaunchError as exc:
        raise LaunchError(f"{SUBMIT_DIRECTORY}: {exc.reason}") from None
    except (OSError, tarfile.TarError) as exc:
        raise LaunchError(f"{SUBMIT_DIRECTORY} {submit}: cannot unpack it: {exc}") from exc
    if not os.path.exists(os.path.join(target, program)) and not os.path.exists(
        os.path.join(target, "setup.py")
    ):
        raise LaunchError(f"{PROGRAM} {program!r} is not in {SUBMIT_DIRECTORY} {submit}")
    return target, program


def _fetch(source: Location, target: str) -> None:
    """A folder is copied, a tar.gz extracted, any other file copied (the toolkit's
    ``download_and_extract``)."""
    fs, path = source.fs, source.path
    if fs.isdir(path):
        for location, name in prefix_objects(
            Location(fs, path.rstrip("/") + "/", source.uri.rstrip("/") + "/")
        ):
            dest = os.path.join(target, name)
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            fs.get_file(location.path, dest)
        return
    if not fs.isfile(path):
        raise LaunchError(f"{source.uri} does not exist")
    with tempfile.TemporaryDirectory() as work:
        local = path if source.is_local else os.path.join(work, "sourcedir")
        if not source.is_local:
            fs.get_file(path, local)
        if tarfile.is_tarfile(local):
            with tarfile.open(local) as tar:
                tar.extractall(target, filter="data")
        else:
            shutil.copy2(local, os.path.join(target, os.path.basename(path)))
