"""What this version of tunelab can run. A valid SageMaker request that asks for
something tunelab does not do yet is refused before anything is stored, with a
message that says so, instead of being run differently from what was asked."""

from __future__ import annotations

from collections.abc import Iterator

from tunelab.domain.definition import TrainingJobDefinition
from tunelab.domain.enums import EarlyStoppingType, StrategyType
from tunelab.domain.errors import Violation
from tunelab.domain.paths import CONFIG, definition_path
from tunelab.domain.tuning_job import TuningJobSpec
from tunelab.strategies.registry import STRATEGIES


def unsupported(spec: TuningJobSpec) -> Iterator[Violation]:
    if spec.strategy not in STRATEGIES:
        available = ", ".join(sorted(STRATEGIES))
        yield Violation(
            f"{CONFIG}.Strategy",
            f"the {spec.strategy} strategy is not available in "
            f"this version of tunelab; available: {available}",
        )
    if (
        spec.early_stopping is EarlyStoppingType.AUTO
        and spec.strategy is not StrategyType.HYPERBAND
    ):
        yield Violation(
            f"{CONFIG}.TrainingJobEarlyStoppingType",
            "'Auto' (median stopping) is not available in this version of tunelab; use 'Off'",
        )
    if spec.warm_start is not None:
        yield Violation(
            "WarmStartConfig", "warm start is not available in this version of tunelab"
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
        yield from unsupported_definition(definition, definition_path(spec, index))


def unsupported_definition(definition: TrainingJobDefinition, where: str) -> Iterator[Violation]:
    """What this version cannot run in one training job definition (of a tuning job,
    or of a ``CreateTrainingJob`` request when ``where`` is empty)."""
    prefix = f"{where}." if where else ""
    path = f"{prefix}AlgorithmSpecification"
    if definition.algorithm_name is not None:
        yield Violation(
            f"{path}.AlgorithmName",
            "algorithms registered by name are not "
            "available in this version of tunelab; give TrainingImage as "
            "file:///path/to/program",
        )
    image = definition.training_image
    if image is not None and not image.startswith("file:"):
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
    for i, channel in enumerate(definition.channels):
        if channel.uri.startswith(("s3://", "https://")):
            yield Violation(
                f"{prefix}InputDataConfig[{i}]",
                f"channel '{channel.name}': {channel.uri.split(':')[0]}:// data "
                "sources are not available in this version of tunelab; use a "
                "local path or a file:// URI",
            )
    if definition.output_path.startswith(("s3://", "https://")):
        yield Violation(
            f"{prefix}OutputDataConfig.S3OutputPath",
            "s3:// outputs are not available in this version of tunelab; use a "
            "local path or a file:// URI",
        )
