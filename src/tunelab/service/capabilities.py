"""What this version of tunelab can run. A valid SageMaker request that asks for
something tunelab does not do yet is refused before anything is stored, with a
message that says so, instead of being run differently from what was asked."""

from __future__ import annotations

from collections.abc import Iterator

from tunelab.algorithms.images import builtin_for
from tunelab.domain.definition import TrainingJobDefinition
from tunelab.domain.errors import Violation
from tunelab.domain.paths import CONFIG, definition_path
from tunelab.domain.tuning_job import TuningJobSpec
from tunelab.strategies.registry import STRATEGIES


def unsupported(spec: TuningJobSpec, local_s3: bool = True) -> Iterator[Violation]:
    """``local_s3``: ``s3://`` URIs name tunelab's local object store (else a real
    S3 endpoint, which this version does not reach)."""
    if spec.strategy not in STRATEGIES:
        available = ", ".join(sorted(STRATEGIES))
        yield Violation(
            f"{CONFIG}.Strategy",
            f"the {spec.strategy} strategy is not available in "
            f"this version of tunelab; available: {available}",
        )
    if spec.autotune:
        yield Violation("Autotune", "Autotune is not available in this version of tunelab")
    if spec.completion.complete_on_convergence:
        yield Violation(
            f"{CONFIG}.TuningJobCompletionCriteria.ConvergenceDetected",
            "CompleteOnConvergence 'Enabled' is not available in this version of "
            "tunelab; use 'Disabled'",
        )
    for index, definition in enumerate(spec.definitions):
        yield from unsupported_definition(definition, definition_path(spec, index), local_s3)


def unsupported_definition(
    definition: TrainingJobDefinition, where: str, local_s3: bool = True
) -> Iterator[Violation]:
    """What this version cannot run in one training job definition (of a tuning job,
    or of a ``CreateTrainingJob`` request when ``where`` is empty)."""
    prefix = f"{where}." if where else ""
    path = f"{prefix}AlgorithmSpecification"
    image = definition.training_image
    static = definition.static_hyperparameters
    if image is not None and not image.startswith("file:") and not builtin_for(image, static):
        yield Violation(
            f"{path}.TrainingImage",
            "tunelab runs local programs named as "
            f"file:///absolute/path/to/program; container images such as "
            f"{image!r} are not available in this version",
        )
    modes = {definition.input_mode} | {c.input_mode for c in definition.channels}
    if "Pipe" in modes:
        yield Violation(
            f"{path}.TrainingInputMode",
            "Pipe input mode is not available in this version of tunelab; use File or FastFile",
        )
    if definition.resources.instance_count > 1:
        yield Violation(
            f"{prefix}ResourceConfig.InstanceCount",
            "distributed training (InstanceCount > 1) is not available in this "
            "version of tunelab; use 1",
        )
    remote = ("https://",) if local_s3 else ("s3://", "https://")
    hint = (
        "tunelab's local object store serves s3:// when AWS_ENDPOINT_URL_S3 is unset"
        if not local_s3
        else "use s3:// (tunelab's local object store), a local path or a file:// URI"
    )
    for i, channel in enumerate(definition.channels):
        if channel.uri.startswith(remote):
            yield Violation(
                f"{prefix}InputDataConfig[{i}]",
                f"channel '{channel.name}': {channel.uri.split(':')[0]}:// data "
                f"sources are not available in this version of tunelab; {hint}",
            )
    if definition.output_path.startswith(remote):
        yield Violation(
            f"{prefix}OutputDataConfig.S3OutputPath",
            f"{definition.output_path.split(':')[0]}:// outputs are not available in this "
            f"version of tunelab; {hint}",
        )
