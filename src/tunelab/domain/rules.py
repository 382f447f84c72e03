"""SageMaker's rules for a tuning job that its service model cannot express.

Every rule returns :class:`Violation` s naming the field path and the rule, with
SageMaker's error code (``ValidationException``, or ``ResourceLimitExceeded`` for
a quota). ``check_document`` runs on the raw request (after the shape check and
before parsing); ``check_spec`` on the parsed :class:`TuningJobSpec`. The sources
of the rules are listed in ../shared/docs/sagemaker-api.md §6.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from tunelab.domain.definition_rules import check_definition
from tunelab.domain.enums import EarlyStoppingType, StrategyType, WarmStartType
from tunelab.domain.errors import Violation
from tunelab.domain.hyperband_rules import hyperband_violations
from tunelab.domain.nul_rules import nul_in_tuning_request
from tunelab.domain.paths import CONFIG, ranges_document, ranges_path
from tunelab.domain.tags import repeated_tag_keys
from tunelab.domain.tuning_job import TuningJobSpec

QUOTA = "ResourceLimitExceeded"
MAX_TUNING_JOB_RUNTIME_SECONDS = 30 * 24 * 3600


@dataclass(frozen=True)
class Quotas:
    """Adjustable limits (SageMaker's defaults). Exceeding one is
    ``ResourceLimitExceeded``."""

    max_parallel_training_jobs: int = 10
    max_training_jobs: int = 500
    max_concurrent_instances: int = 20
    """Training instances in use at once: parallel jobs times each job's InstanceCount."""
    max_concurrent_tuning_jobs: int = 100
    """Tuning jobs not yet ended (InProgress or Stopping) at once."""
    max_tuning_job_runtime_seconds: int = MAX_TUNING_JOB_RUNTIME_SECONDS
    """Largest ``ResourceLimits.MaxRuntimeInSeconds`` (SageMaker: 30 days)."""


def check_document(document: Mapping[str, Any]) -> list[Violation]:
    """Rules about which members appear together (the model makes all optional), and no
    NUL character where it would reach a program or a text column."""
    found: list[Violation] = []
    config = document.get(CONFIG, {})
    single, multi = "TrainingJobDefinition" in document, "TrainingJobDefinitions" in document
    if single == multi:
        got = "both" if single else "neither"
        found.append(
            Violation(
                "TrainingJobDefinition",
                "provide exactly one of "
                f"TrainingJobDefinition or TrainingJobDefinitions; got {got}",
            )
        )
    if multi and not single:
        for key in ("HyperParameterTuningJobObjective", "ParameterRanges"):
            if key in config:
                found.append(
                    Violation(
                        f"{CONFIG}.{key}",
                        "not allowed with "
                        "TrainingJobDefinitions: give each definition its own "
                        + ("TuningObjective" if "Objective" in key else "HyperParameterRanges"),
                    )
                )
        names: dict[str, int] = {}
        for i, definition in enumerate(document["TrainingJobDefinitions"]):
            path = f"TrainingJobDefinitions[{i}]"
            name = definition.get("DefinitionName")
            if name is None:
                found.append(
                    Violation(
                        f"{path}.DefinitionName",
                        "is required when the job has "
                        "TrainingJobDefinitions (it tells the definitions apart)",
                    )
                )
            elif name.lower() in names:
                found.append(
                    Violation(
                        f"{path}.DefinitionName",
                        f"'{name}' is already the name "
                        f"of TrainingJobDefinitions[{names[name.lower()]}] "
                        "(definition names must be unique, ignoring case)",
                    )
                )
            else:
                names[name.lower()] = i
            if "TuningObjective" not in definition and "Autotune" not in document:
                found.append(
                    Violation(
                        f"{path}.TuningObjective",
                        "is required for each definition of a job with TrainingJobDefinitions",
                    )
                )
    elif single and not multi:
        definition = document["TrainingJobDefinition"]
        if "HyperParameterRanges" in definition and "ParameterRanges" in config:
            found.append(
                Violation(
                    "TrainingJobDefinition.HyperParameterRanges",
                    f"give the ranges either here or in {CONFIG}.ParameterRanges, not both",
                )
            )
        own, top = (
            definition.get("TuningObjective"),
            config.get("HyperParameterTuningJobObjective"),
        )
        if own and top and own != top:
            found.append(
                Violation(
                    "TrainingJobDefinition.TuningObjective",
                    f"differs from {CONFIG}.HyperParameterTuningJobObjective; give one of them",
                )
            )
        if not own and not top and "Autotune" not in document:
            found.append(
                Violation(
                    f"{CONFIG}.HyperParameterTuningJobObjective",
                    "is required: "
                    "name the objective metric and whether to Maximize or "
                    "Minimize it",
                )
            )
    found += nul_in_tuning_request(document)
    return found


def concurrent_tuning_jobs(running: int, quotas: Quotas = Quotas()) -> list[Violation]:
    """The quota of tuning jobs not yet ended, for creating one more while ``running``
    have not ended (``ResourceLimitExceeded``)."""
    limit = quotas.max_concurrent_tuning_jobs
    if running < limit:
        return []
    return [
        Violation(
            "",
            f"{running} tuning jobs are in progress; the quota of concurrent tuning jobs "
            f"is {limit}: wait for one to end, or stop one, before creating another",
            QUOTA,
        )
    ]


def check_spec(spec: TuningJobSpec, quotas: Quotas = Quotas()) -> list[Violation]:
    """Every semantic rule of a parsed request; empty when the job may run."""
    found = list(_limits(spec, quotas))
    found += _strategy(spec, quotas)
    found += _single_definition_features(spec)
    found += _objectives(spec)
    for index in range(len(spec.definitions)):
        found += check_definition(spec, index)
    found += repeated_tag_keys(spec.tags)
    return found


def _limits(spec: TuningJobSpec, quotas: Quotas) -> Iterator[Violation]:
    path = f"{CONFIG}.ResourceLimits"
    limits = spec.limits
    if limits.max_parallel_training_jobs > quotas.max_parallel_training_jobs:
        yield Violation(
            f"{path}.MaxParallelTrainingJobs",
            f"{limits.max_parallel_training_jobs} "
            f"exceeds the quota of {quotas.max_parallel_training_jobs} parallel "
            "training jobs per tuning job",
            QUOTA,
        )
    total = limits.max_number_of_training_jobs
    if total is not None and total > quotas.max_training_jobs:
        yield Violation(
            f"{path}.MaxNumberOfTrainingJobs",
            f"{total} exceeds the quota of "
            f"{quotas.max_training_jobs} training jobs per tuning job",
            QUOTA,
        )
    widest = max(spec.definitions, key=lambda d: d.resources.instance_count)
    instances = limits.max_parallel_training_jobs * widest.resources.instance_count
    if instances > quotas.max_concurrent_instances:
        yield Violation(
            f"{path}.MaxParallelTrainingJobs",
            f"{limits.max_parallel_training_jobs} "
            f"parallel jobs of {widest.resources.instance_count} instances "
            f"({widest.label}'s InstanceCount) need {instances} training instances "
            f"at once, more than the quota of {quotas.max_concurrent_instances}",
            QUOTA,
        )
    runtime = limits.max_runtime_seconds
    if runtime is not None and runtime > quotas.max_tuning_job_runtime_seconds:
        days = quotas.max_tuning_job_runtime_seconds / 86400
        yield Violation(
            f"{path}.MaxRuntimeInSeconds",
            f"{runtime} exceeds the quota of {quotas.max_tuning_job_runtime_seconds} "
            f"seconds ({days:g} days) of run time per tuning job",
            QUOTA,
        )
    if total is None and spec.strategy is not StrategyType.GRID:
        yield Violation(
            f"{path}.MaxNumberOfTrainingJobs",
            f"is required for the {spec.strategy} strategy (only Grid can infer it from its grid)",
        )


def _strategy(spec: TuningJobSpec, quotas: Quotas) -> Iterator[Violation]:
    hyperband = spec.strategy is StrategyType.HYPERBAND
    if spec.hyperband is not None and not hyperband:
        yield Violation(
            f"{CONFIG}.StrategyConfig",
            f"is only allowed with the Hyperband strategy; the strategy is {spec.strategy}",
        )
    if hyperband:
        yield from hyperband_violations(spec)
    if spec.strategy is StrategyType.GRID:
        yield from _grid(spec, quotas)
    elif spec.strategy in (StrategyType.RANDOM, StrategyType.BAYESIAN):
        yield from _enough_combinations(spec)


def _grid(spec: TuningJobSpec, quotas: Quotas) -> Iterator[Violation]:
    combinations = 0
    for index, definition in enumerate(spec.definitions):
        path = ranges_path(spec, index)
        ranges = ranges_document(spec, index)
        for kind in ("IntegerParameterRanges", "ContinuousParameterRanges"):
            for i, item in enumerate(ranges.get(kind, ())):
                yield Violation(
                    f"{path}.{kind}[{i}]",
                    "the Grid strategy takes only categorical "
                    f"ranges; '{item['Name']}' is not categorical",
                )
        if not definition.search_space.ranges:
            yield Violation(
                f"{path}.CategoricalParameterRanges",
                "the Grid strategy needs at least one categorical range",
            )
        combinations += definition.search_space.cardinality or 0
    total = spec.limits.max_number_of_training_jobs
    path = f"{CONFIG}.ResourceLimits.MaxNumberOfTrainingJobs"
    untried_only = (  # the warm-start rules check the count against the untried points
        spec.warm_start is not None
        and spec.warm_start.type is WarmStartType.IDENTICAL_DATA_AND_ALGORITHM
    )
    if total is not None and combinations and total != combinations and not untried_only:
        yield Violation(
            path,
            f"must equal the number of grid combinations ({combinations}) "
            f"with the Grid strategy, or be left out; got {total}",
        )
    if total is None and combinations > quotas.max_training_jobs:
        yield Violation(
            path,
            f"the grid has {combinations} combinations, more than the quota "
            f"of {quotas.max_training_jobs} training jobs per tuning job",
            QUOTA,
        )


def _enough_combinations(spec: TuningJobSpec) -> Iterator[Violation]:
    if not all(d.search_space.is_discrete for d in spec.definitions):
        return
    combinations = sum(d.search_space.cardinality or 0 for d in spec.definitions)
    total = spec.limits.max_number_of_training_jobs
    if total is not None and combinations < total:
        yield Violation(
            f"{CONFIG}.ResourceLimits.MaxNumberOfTrainingJobs",
            "You don't have "
            "enough combinations of hyperparameter ranges. The total number of "
            "hyperparameter combinations for the provided ranges "
            f"[{float(combinations)}] must be equal or greater than the value of "
            f"MaxNumberOfJobs, [{total}]. Provide additional ranges.",
        )


def _single_definition_features(spec: TuningJobSpec) -> Iterator[Violation]:
    count = len(spec.definitions)
    if count == 1:
        return
    if spec.warm_start is not None:
        yield Violation(
            "WarmStartConfig",
            "warm start is only available for a job with a "
            f"single training job definition; this job has {count}",
        )
    if spec.early_stopping is not EarlyStoppingType.OFF:
        yield Violation(
            f"{CONFIG}.TrainingJobEarlyStoppingType",
            "early stopping ('Auto') is "
            "only available for a job with a single training job definition; this "
            f"job has {count}",
        )


def _objectives(spec: TuningJobSpec) -> Iterator[Violation]:
    types = {d.objective.type for d in spec.definitions if d.objective is not None}
    if len(types) > 1:
        yield Violation(
            "TrainingJobDefinitions",
            "every definition's TuningObjective must have "
            "the same Type (the best training job is chosen across definitions); "
            "got " + " and ".join(sorted(types)),
        )
