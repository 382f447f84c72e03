"""Warm start: SageMaker's rules for a tuning job that starts from parent tuning
jobs (how a parent's training job becomes an observation of the child:
:mod:`.warm_start_events`, re-exported here).

Rules (SageMaker's developer guide and API reference): at most 5 parents (the
model), each listed once and in a terminal state, with a single training job
definition; the child optimizes the same objective (metric and ``Type``); the set of
hyperparameter names (static and tuned) is the same; a hyperparameter tuned in both
keeps its type; at most 10 changes, counting a tuned hyperparameter made static (a
categorical range counts its number of values) and a changed static value;
``IdenticalDataAndAlgorithm`` also keeps the training image (or algorithm) and
the input data (a local folder compares equal with or without its trailing ``/``; an
``s3://`` prefix as written), and changes only the members of :data:`MAY_CHANGE` (with
the ranges, objective and definition name, compared by the other rules): the members
of :data:`KEPT` must be those of each parent's definition. Parents of parents are not
used. The parents' training jobs and the child's count together against the
training-job quota.

In a discrete space Random, Bayesian and Grid need enough combinations the parents
left untried: :mod:`.warm_start_untried`.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from urllib.parse import unquote, urlparse

from tunelab.domain.definition import TUNING_OBJECTIVE_HYPERPARAMETER, TrainingJobDefinition
from tunelab.domain.enums import WarmStartType
from tunelab.domain.errors import Violation
from tunelab.domain.paths import definition_path
from tunelab.domain.search_space import CategoricalRange, ContinuousRange, IntegerRange
from tunelab.domain.trial import TrainingJob
from tunelab.domain.tuning_job import TuningJob, TuningJobSpec
from tunelab.domain.warm_start_events import parent_events
from tunelab.domain.warm_start_untried import check_untried_combinations

__all__ = ["MAX_CHANGES", "Parent", "check_parents", "parent_events"]

MAX_CHANGES = 10
PATH = "WarmStartConfig.ParentHyperParameterTuningJobs"
MAY_CHANGE = (
    "AlgorithmSpecification",
    "InputDataConfig",
    "OutputDataConfig",
    "StaticHyperParameters",
    "RoleArn",
    "ResourceConfig",
    "StoppingCondition",
    "VpcConfig",
    "EnableManagedSpotTraining",
    "CheckpointConfig",
)
"""SageMaker's list for ``IdenticalDataAndAlgorithm`` ("Only the following fields in
TrainingJobDefinition are allowed to change"); ``HyperParameterTuningResourceConfig``
is the other form of ``ResourceConfig``."""
KEPT: tuple[tuple[str, object], ...] = (
    ("Environment", {}),
    ("EnableNetworkIsolation", False),
    ("EnableInterContainerTrafficEncryption", False),
    ("RetryStrategy", None),
)
"""The other members of a definition, each with the value its absence means."""


@dataclass(frozen=True)
class Parent:
    """A parent tuning job as the rules need it: the job, how many training jobs it
    launched, and those training jobs (the configurations they ran under the child's
    conditions count as evaluated)."""

    job: TuningJob
    training_jobs: int
    jobs: tuple[TrainingJob, ...] = ()


def check_parents(
    spec: TuningJobSpec, parents: Sequence[Parent | None], max_training_jobs: int
) -> list[Violation]:
    """Every rule above; ``parents[i]`` is None when the i-th parent does not exist."""
    return list(_check(spec, parents, max_training_jobs))


def _check(
    spec: TuningJobSpec, parents: Sequence[Parent | None], max_training_jobs: int
) -> Iterator[Violation]:
    assert spec.warm_start is not None
    child = spec.definitions[0]
    total = 0
    listed: dict[str, int] = {}
    usable: list[Parent] = []
    for index, (name, parent) in enumerate(zip(spec.warm_start.parents, parents, strict=True)):
        where = f"{PATH}[{index}].HyperParameterTuningJobName"
        key = (name if parent is None else parent.job.name).lower()
        if key in listed:
            yield Violation(
                where,
                f"'{name}' is already ParentHyperParameterTuningJobs[{listed[key]}] (names "
                "ignore case); list each parent once",
            )
            continue
        listed[key] = index
        if parent is None:
            yield Violation(where, f"tuning job '{name}' does not exist")
            continue
        job = parent.job
        total += parent.training_jobs
        if not job.status.is_terminal:
            yield Violation(
                where,
                f"'{job.name}' is {job.status}; a parent must have ended "
                "(Completed, Stopped or Failed)",
            )
        if len(job.spec.definitions) != 1:
            yield Violation(
                where,
                f"'{job.name}' has {len(job.spec.definitions)} training job "
                "definitions; warm start needs parents with a single one",
            )
            continue
        usable.append(parent)
        yield from _compare(where, job.name, job.spec.definitions[0], child, spec.warm_start.type)
        if spec.warm_start.type is WarmStartType.IDENTICAL_DATA_AND_ALGORITHM:
            yield from _kept(definition_path(spec, 0), job.name, job.spec.definitions[0], child)
    yield from check_untried_combinations(
        spec, [(p.job.spec.definitions[0], p.jobs) for p in usable]
    )
    limit = spec.max_jobs or 0
    if total + limit > max_training_jobs:
        yield Violation(
            PATH,
            f"the parents' {total} training jobs and this job's {limit} "
            "count together against the quota of "
            f"{max_training_jobs} training jobs per tuning job",
            "ResourceLimitExceeded",
        )


def _names(definition: TrainingJobDefinition) -> set[str]:
    static = set(definition.static_hyperparameters) - {TUNING_OBJECTIVE_HYPERPARAMETER}
    return static | set(definition.search_space.names)


def _compare(
    where: str,
    name: str,
    parent: TrainingJobDefinition,
    child: TrainingJobDefinition,
    kind: WarmStartType,
) -> Iterator[Violation]:
    mine, theirs = child.objective, parent.objective
    if mine is not None and theirs is not None and mine.metric_name != theirs.metric_name:
        yield Violation(
            where,
            f"'{name}' optimizes '{theirs.metric_name}'; a warm start child must optimize the "
            f"same objective metric, not '{mine.metric_name}'",
        )
    elif mine is not None and theirs is not None and mine.type != theirs.type:
        yield Violation(
            where,
            f"'{name}' {theirs.type.lower()}s '{theirs.metric_name}'; a warm start child "
            f"optimizes the same objective (MetricName and Type), so it may not "
            f"{mine.type.lower()} it",
        )
    added, dropped = _names(child) - _names(parent), _names(parent) - _names(child)
    if added or dropped:
        difference = ", ".join(
            [f"+{n}" for n in sorted(added)] + [f"-{n}" for n in sorted(dropped)]
        )
        yield Violation(
            where,
            f"the hyperparameters (static and tuned) must be those of '{name}'; "
            f"they differ by {difference}",
        )
    changes = 0
    for tuned in parent.search_space.ranges:
        if tuned.name in child.search_space.names:
            mine = child.search_space[tuned.name]
            if type(mine) is not type(tuned):
                yield Violation(
                    where,
                    f"'{tuned.name}' is {_kind(tuned)} in '{name}'; it may "
                    f"not become {_kind(mine)}",
                )
        elif tuned.name in child.static_hyperparameters:
            changes += tuned.cardinality if isinstance(tuned, CategoricalRange) else 1
    for key, value in parent.static_hyperparameters.items():
        if key in child.static_hyperparameters and key != TUNING_OBJECTIVE_HYPERPARAMETER:
            changes += child.static_hyperparameters[key] != value
    if changes > MAX_CHANGES:
        yield Violation(
            where,
            f"{changes} changes from '{name}' (tuned hyperparameters made "
            f"static, static values changed); at most {MAX_CHANGES} are allowed",
        )
    if kind is WarmStartType.IDENTICAL_DATA_AND_ALGORITHM:
        if (parent.training_image, parent.algorithm_name) != (
            child.training_image,
            child.algorithm_name,
        ):
            yield Violation(
                where,
                "IdenticalDataAndAlgorithm needs the training image (or "
                f"algorithm) of '{name}'; use TransferLearning to change it",
            )
        if _data(parent) != _data(child):
            yield Violation(
                where,
                f"IdenticalDataAndAlgorithm needs the input data of '{name}'; "
                "use TransferLearning for new data",
            )


def _data(definition: TrainingJobDefinition) -> set[tuple[str, str]]:
    return {(c.name, _data_location(c.uri)) for c in definition.channels}


def _data_location(uri: str) -> str:
    """The data a channel URI names, for comparing a child's data with its parents':
    an ``s3://`` prefix as written (``train`` also matches ``train2/``: it is another
    prefix than ``train/``); a local folder (path or ``file:`` URI) normalized, so
    ``file:///d/train/``, ``file:///d/train`` and ``/d/train`` are the same."""
    if uri.startswith("s3://"):
        return uri
    parsed = urlparse(uri)
    path = unquote(parsed.path) if parsed.scheme == "file" else uri
    return posixpath.normpath(path) if path else uri


def _kept(
    path: str, name: str, parent: TrainingJobDefinition, child: TrainingJobDefinition
) -> Iterator[Violation]:
    """IdenticalDataAndAlgorithm: the members of :data:`KEPT` are the parent's."""
    for member, default in KEPT:
        if (child.document.get(member) or default) != (parent.document.get(member) or default):
            yield Violation(
                f"{path}.{member}",
                f"differs from the {member} of parent '{name}'; with IdenticalDataAndAlgorithm "
                "only " + ", ".join(MAY_CHANGE) + " may change (use TransferLearning)",
            )


def _kind(r: object) -> str:
    return {
        ContinuousRange: "continuous",
        IntegerRange: "integer",
        CategoricalRange: "categorical",
    }[type(r)]
