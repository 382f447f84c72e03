"""The instances a training job definition asks for, checked against an algorithm's
``SupportedTrainingInstanceTypes`` and ``SupportsDistributedTraining``: every instance
type it names (``ResourceConfig``, its ``InstanceGroups``, a tuning definition's
``HyperParameterTuningResourceConfig`` and its ``InstanceConfigs``) must be supported,
and an algorithm that does not support distributed training runs on one instance."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from tunelab.algorithms.spec import AlgorithmSpec
from tunelab.domain.errors import Violation

Doc = Mapping[str, Any]


def resource_problems(spec: AlgorithmSpec, definition: Doc, prefix: str) -> list[Violation]:
    """Every problem of the instances ``definition`` asks for (``prefix``: where the
    definition is, ``TrainingJobDefinition.`` or empty). A spec with no instance types
    and ``distributed`` not False (the built-ins) has none."""
    if not spec.instance_types and spec.distributed is not False:
        return []
    found: list[Violation] = []
    for where, entry in _instance_entries(definition, prefix):
        kind, count = entry.get("InstanceType"), entry.get("InstanceCount")
        if spec.instance_types and kind is not None and kind not in spec.instance_types:
            found.append(
                Violation(
                    f"{where}.InstanceType",
                    f"{spec.label} supports the instance types "
                    f"{', '.join(spec.instance_types)} (SupportedTrainingInstanceTypes); "
                    f"got {kind}",
                )
            )
        if spec.distributed is False and isinstance(count, int) and count > 1:
            found.append(
                Violation(
                    f"{where}.InstanceCount",
                    f"{spec.label} does not support distributed training "
                    f"(SupportsDistributedTraining is false): use 1 instance; got {count}",
                )
            )
    return found


def _instance_entries(definition: Doc, prefix: str) -> Iterator[tuple[str, Doc]]:
    """(field path, entry) of each place ``definition`` names an instance type."""
    for key, listed in (
        ("ResourceConfig", "InstanceGroups"),
        ("HyperParameterTuningResourceConfig", "InstanceConfigs"),
    ):
        config = definition.get(key)
        if not isinstance(config, Mapping):
            continue
        yield f"{prefix}{key}", config
        for i, entry in enumerate(config.get(listed) or ()):
            if isinstance(entry, Mapping):
                yield f"{prefix}{key}.{listed}[{i}]", entry
