"""What this version of tunelab can run. A valid SageMaker request that asks for
something tunelab does not do yet is refused before anything is stored, with a
message that says so, instead of being run differently from what was asked."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping

from tunelab.algorithms.images import builtin_for, unrecognized_reason
from tunelab.domain.definition import TrainingJobDefinition
from tunelab.domain.enums import StrategyType
from tunelab.domain.errors import Violation
from tunelab.domain.paths import CONFIG, definition_path
from tunelab.domain.rules import QUOTA
from tunelab.domain.tuning_job import TuningJobSpec
from tunelab.execution import container
from tunelab.execution.network import isolation_problem
from tunelab.execution.resources import Machine, Overcommit, oversize
from tunelab.execution.script_mode import PROGRAM, SUBMIT_DIRECTORY, framework_of, script_of
from tunelab.execution.uris import image_path_problem, s3_key_problem
from tunelab.strategies.hyperband_sampling import SAMPLER_TAG, SAMPLERS
from tunelab.strategies.registry import ENTRIES, STRATEGIES


def unsupported(
    spec: TuningJobSpec, local_s3: bool = True, this_machine: bool = True
) -> Iterator[Violation]:
    """``local_s3``: ``s3://`` URIs name tunelab's local object store (else the S3
    endpoint ``AWS_ENDPOINT_URL_S3``; both are served). ``this_machine``: training jobs
    run here, so they must fit this machine (else on a Ray cluster, whose executor
    fails a job no node can hold)."""
    if spec.strategy not in STRATEGIES:
        available = ", ".join(sorted(STRATEGIES))
        yield Violation(
            f"{CONFIG}.Strategy",
            f"the {spec.strategy} strategy is not available in "
            f"this version of tunelab; available: {available}",
        )
    entry = ENTRIES.get(spec.strategy)
    convergence = spec.completion.complete_on_convergence
    if convergence and entry is not None and not entry.converges:
        with_model = sorted(str(n) for n, e in ENTRIES.items() if e.converges)
        yield Violation(
            f"{CONFIG}.TuningJobCompletionCriteria.ConvergenceDetected",
            f"CompleteOnConvergence 'Enabled' needs a strategy whose model detects "
            f"convergence ({', '.join(with_model)}); the {spec.strategy} strategy has "
            "none: use 'Disabled' or BestObjectiveNotImproving",
        )
    yield from _sampler_tag_problems(spec)
    for index, definition in enumerate(spec.definitions):
        where = definition_path(spec, index)
        yield from unsupported_definition(definition, where, local_s3, this_machine)


def _sampler_tag_problems(spec: TuningJobSpec) -> Iterator[Violation]:
    """The ``tunelab:hyperband-sampler`` tag names a sampler, on a Hyperband job."""
    for i, (key, value) in enumerate(spec.tags):
        if key != SAMPLER_TAG:
            continue
        if spec.strategy is not StrategyType.HYPERBAND:
            yield Violation(
                f"Tags[{i}]", f"the {SAMPLER_TAG} tag applies to the Hyperband strategy only"
            )
        elif value not in SAMPLERS:
            yield Violation(
                f"Tags[{i}].Value",
                f"{SAMPLER_TAG} must be one of {', '.join(SAMPLERS)}; got {value!r}",
            )


def unsupported_definition(
    definition: TrainingJobDefinition, where: str, local_s3: bool = True, this_machine: bool = True
) -> Iterator[Violation]:
    """What this version cannot run in one training job definition (of a tuning job,
    or of a ``CreateTrainingJob`` request when ``where`` is empty); ``this_machine`` as
    in :func:`unsupported`."""
    prefix = f"{where}." if where else ""
    path = f"{prefix}AlgorithmSpecification"
    image = definition.training_image
    static = definition.static_hyperparameters
    yield from _image_problems(image, static, f"{path}.TrainingImage")
    yield from resource_problems(definition, prefix, this_machine=this_machine)
    resources = definition.document.get("ResourceConfig") or {}
    if resources.get("InstanceGroups"):
        yield Violation(
            f"{prefix}ResourceConfig.InstanceGroups",
            "heterogeneous clusters (InstanceGroups) are not available in this version of "
            "tunelab; use InstanceType and InstanceCount",
        )
    remote = ("https://",)  # s3:// is the local object store, or AWS_ENDPOINT_URL_S3
    hint = "use s3://, a local path or a file:// URI"
    for i, raw in enumerate(definition.document.get("InputDataConfig") or ()):
        if (raw.get("DataSource") or {}).get("DatasetSource"):
            yield Violation(
                f"{prefix}InputDataConfig[{i}].DataSource.DatasetSource",
                "dataset sources are not available in this version of tunelab; give "
                "S3DataSource or FileSystemDataSource",
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
    if definition.checkpoint is not None and definition.checkpoint.uri.startswith(remote):
        yield Violation(
            f"{prefix}CheckpointConfig.S3Uri",
            f"https:// checkpoint locations are not available in this version of tunelab; {hint}",
        )
    yield from _s3_key_problems(definition, prefix)


def _s3_key_problems(definition: TrainingJobDefinition, prefix: str) -> Iterator[Violation]:
    """``s3://`` locations whose key has a ``.``, ``..`` or empty segment (which could name
    a file outside the bucket of the local object store, past the roles)."""
    for i, channel in enumerate(definition.channels):
        if problem := s3_key_problem(channel.uri):
            yield Violation(
                f"{prefix}InputDataConfig[{i}]", f"channel '{channel.name}': {problem}"
            )
    if problem := s3_key_problem(definition.output_path):
        yield Violation(f"{prefix}OutputDataConfig.S3OutputPath", problem)
    if definition.checkpoint is not None and (
        problem := s3_key_problem(definition.checkpoint.uri)
    ):
        yield Violation(f"{prefix}CheckpointConfig.S3Uri", problem)
    submit = script_of(definition.static_hyperparameters)[1]
    if submit and (problem := s3_key_problem(submit)):
        field = "StaticHyperParameters" if prefix else "HyperParameters"
        yield Violation(f"{prefix}{field}.{SUBMIT_DIRECTORY}", problem)


def _image_problems(
    image: str | None, static: Mapping[str, str], where: str
) -> Iterator[Violation]:
    """A ``TrainingImage`` runs as a ``file:`` program, a built-in algorithm, a framework
    image in script mode, or (any other image) with ``docker`` when an engine answers. A
    refusal of an image that looks like a built-in's says which part of it differs (it
    may be the user's own image of that name: with docker it runs)."""
    if image is None or image.startswith("file:") or builtin_for(image, static):
        return
    if (problem := image_path_problem(image)) is not None:
        yield Violation(where, problem)
        return
    near_miss = unrecognized_reason(image, static)  # a built-in's image, mistyped?
    hint = f"; if it is meant as a built-in algorithm's image: {near_miss}" if near_miss else ""
    if framework_of(image) is not None:
        program, submit = script_of(static)
        if not program or not submit:
            yield Violation(
                where,
                f"the framework image {image!r} runs a training script (script mode): set "
                f"the static hyperparameters {PROGRAM} and {SUBMIT_DIRECTORY}{hint}",
            )
        return
    if not container.engine_available():
        yield Violation(
            where,
            f"{image!r} is a container image: tunelab runs such images with docker, and no "
            "container engine answers here (`docker info` failed); use a file:///absolute/"
            "path/to/program, a built-in algorithm (tunelab algorithms list) or a SageMaker "
            f"framework image with {PROGRAM} and {SUBMIT_DIRECTORY} (script mode){hint}",
        )


def resource_problems(
    definition: TrainingJobDefinition,
    prefix: str,
    machine: Machine | None = None,
    this_machine: bool = True,
) -> Iterator[Violation]:
    """A job too big for this machine even when idle, under the overcommit policy of
    :mod:`tunelab.execution.resources` (``ResourceLimitExceeded``, naming the field; only
    when jobs run on ``this_machine``), and network isolation where this machine cannot
    provide it."""
    if this_machine:
        policy = Overcommit.from_env()
        for field, message in oversize(definition, machine or _machine(), policy):
            yield Violation(f"{prefix}ResourceConfig.{field}", message, QUOTA)
    if definition.network_isolation and (problem := isolation_problem()):
        yield Violation(f"{prefix}EnableNetworkIsolation", problem)


@functools.cache
def _machine() -> Machine:
    return Machine.detect()
