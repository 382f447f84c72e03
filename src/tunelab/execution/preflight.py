"""Checks, before a job is stored, that its training jobs can start here: the
program exists and can run, and each local data channel exists. Refusing at
create time beats a tuning job whose every training job fails."""

from __future__ import annotations

import os
from collections.abc import Iterator

from tunelab.domain.definition import TrainingJobDefinition
from tunelab.domain.errors import Violation
from tunelab.domain.paths import definition_path
from tunelab.domain.tuning_job import TuningJobSpec
from tunelab.execution.contract import AlgorithmImages, image_of
from tunelab.execution.uris import local_path


def check_launchable(
    spec: TuningJobSpec, s3_root: str | None = None, algorithms: AlgorithmImages | None = None
) -> list[Violation]:
    """Every problem of every definition of a tuning job (``s3_root``: the local
    object store ``s3://`` URIs name; ``algorithms``: images of registered algorithms)."""
    found: list[Violation] = []
    for index, definition in enumerate(spec.definitions):
        found += launch_problems(definition, definition_path(spec, index), s3_root, algorithms)
    return found


def launch_problems(
    definition: TrainingJobDefinition,
    where: str,
    s3_root: str | None = None,
    algorithms: AlgorithmImages | None = None,
) -> list[Violation]:
    """Problems of one definition; ``where`` prefixes the field paths (empty for a
    ``CreateTrainingJob`` request)."""
    return list(_problems(definition, f"{where}." if where else "", s3_root, algorithms))


def _problems(
    definition: TrainingJobDefinition,
    prefix: str,
    s3_root: str | None,
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
    if image is not None and image.startswith("file:"):
        program = local_path(image)
        where = f"{prefix}AlgorithmSpecification.TrainingImage"
        if not definition.training_image:
            where = f"{prefix}AlgorithmSpecification.AlgorithmName"
        if program is None or not os.path.isfile(program):
            yield Violation(where, f"the program {image} does not exist")
        elif not program.endswith(".py") and not os.access(program, os.X_OK):
            yield Violation(
                where,
                f"the program {image} is not executable (chmod +x it, "
                "or give a .py file, which runs with tunelab's Python)",
            )
    for i, channel in enumerate(definition.channels):
        source = local_path(channel.uri, s3_root)
        if source is not None and not os.path.exists(source):
            yield Violation(
                f"{prefix}InputDataConfig[{i}]",
                f"channel '{channel.name}': the data source {channel.uri} does not exist",
            )
