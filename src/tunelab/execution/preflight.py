"""Checks, before a job is stored, that its training jobs can start here: the
program (or the script-mode code) exists and can run (a program is named by a ``file:``
URI, not a bare path), and each data channel exists and holds files (a manifest's
objects, a ``FileSystemDataSource`` directory, gzip files for ``CompressionType`` Gzip,
Pipe mode for augmented manifests, ``S3Prefix`` for FastFile),
and that a checkpoint ``LocalPath`` is a folder of its own: absolute, not ``/opt/ml`` or a
folder it gives another purpose, and outside ``/opt/ml/`` holding no files but tunelab's.
Refusing at create time beats a tuning job whose every training job fails."""

from __future__ import annotations

import os
from collections.abc import Iterator

from tunelab.domain.definition import TrainingJobDefinition
from tunelab.domain.errors import Violation
from tunelab.domain.paths import definition_path
from tunelab.domain.tuning_job import TuningJobSpec
from tunelab.execution.channel_checks import channel_problems
from tunelab.execution.checkpoints import foreign_file, not_a_checkpoint_dir
from tunelab.execution.contract import AlgorithmImages, image_of
from tunelab.execution.interpreter import interpreter_problem
from tunelab.execution.job_dir import local_path_problem, shared_checkpoint_dir
from tunelab.execution.script_mode import is_script_mode, script_problems
from tunelab.execution.storage import DataPlane
from tunelab.execution.uris import image_path_problem, local_path


def check_launchable(
    spec: TuningJobSpec,
    s3_root: DataPlane | str | None = None,
    algorithms: AlgorithmImages | None = None,
) -> list[Violation]:
    """Every problem of every definition of a tuning job (``s3_root``: a :class:`DataPlane`
    or the local object store ``s3://`` URIs name; ``algorithms``: images of registered
    algorithms)."""
    found: list[Violation] = []
    for index, definition in enumerate(spec.definitions):
        found += launch_problems(definition, definition_path(spec, index), s3_root, algorithms)
    return found


def launch_problems(
    definition: TrainingJobDefinition,
    where: str,
    s3_root: DataPlane | str | None = None,
    algorithms: AlgorithmImages | None = None,
) -> list[Violation]:
    """Problems of one definition; ``where`` prefixes the field paths (empty for a
    ``CreateTrainingJob`` request)."""
    plane = DataPlane.of(s3_root)
    return list(_problems(definition, f"{where}." if where else "", plane, algorithms))


def _problems(
    definition: TrainingJobDefinition,
    prefix: str,
    plane: DataPlane,
    algorithms: AlgorithmImages | None,
) -> Iterator[Violation]:
    image = image_of(definition, algorithms)
    if definition.algorithm_name and image is None:
        yield Violation(
            f"{prefix}AlgorithmSpecification.AlgorithmName",
            "no algorithm named "
            f"{definition.algorithm_name!r} is registered with tunelab "
            "(CreateAlgorithm)",
        )
    where = f"{prefix}AlgorithmSpecification.TrainingImage"
    if not definition.training_image:
        where = f"{prefix}AlgorithmSpecification.AlgorithmName"
    if (problem := image_path_problem(image)) is not None:
        yield Violation(where, problem)
    if image is not None and image.startswith("file:"):
        program = local_path(image)
        search = definition.environment.get("PATH", os.environ.get("PATH"))
        if program is None or not os.path.exists(program):
            yield Violation(where, f"the program {image} does not exist")
        elif os.path.isdir(program):
            yield Violation(where, f"the program {image} is a directory, not a program file")
        elif not os.path.isfile(program):
            yield Violation(where, f"the program {image} is not a regular file")
        elif not program.endswith(".py") and not os.access(program, os.X_OK):
            yield Violation(
                where,
                f"the program {image} is not executable (chmod +x it, "
                "or give a .py file, which runs with tunelab's Python)",
            )
        elif not program.endswith(".py") and (bad := interpreter_problem(program, search)):
            yield Violation(where, f"the program {image} cannot run: {bad}")
    static = definition.static_hyperparameters
    if image is not None and is_script_mode(image, static) and not definition.algorithm_name:
        field = "StaticHyperParameters" if prefix else "HyperParameters"
        for problem in script_problems(definition, plane):
            yield Violation(f"{prefix}{field}", problem)
    for i, channel in enumerate(definition.channels):
        for problem in channel_problems(definition, channel, plane):
            yield Violation(f"{prefix}InputDataConfig[{i}]", problem)
    local = definition.checkpoint.local_path if definition.checkpoint else None
    problem = local_path_problem(local) if local else None
    if problem is not None:
        yield Violation(f"{prefix}CheckpointConfig.LocalPath", problem)
        return
    shared = shared_checkpoint_dir(definition)
    blocker = _not_a_folder(shared) if shared is not None else None
    if blocker is not None:
        yield Violation(f"{prefix}CheckpointConfig.LocalPath", blocker)
        return
    held = foreign_file(shared) if shared is not None else None
    if shared is not None and held is not None:
        yield Violation(f"{prefix}CheckpointConfig.LocalPath", not_a_checkpoint_dir(shared, held))


def _not_a_folder(local_dir: str) -> str | None:
    """Why the checkpoint ``LocalPath`` ``local_dir`` (outside ``/opt/ml/``) cannot be a
    folder: it, or a path above it, is a file (every training job would fail making it).
    None when it is a folder or can be made one."""
    path = local_dir
    while path and path != os.path.dirname(path):
        if os.path.lexists(path) and not os.path.isdir(path):
            what = "is" if path == local_dir else f"is under {path}, which is"
            return f"{local_dir} {what} a file, not a folder: name a folder for the checkpoints"
        path = os.path.dirname(path)
    return None
