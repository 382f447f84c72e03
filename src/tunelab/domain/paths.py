"""Field paths of a tuning job request, for messages that say where a problem is."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tunelab.domain.tuning_job import TuningJobSpec

CONFIG = "HyperParameterTuningJobConfig"


def definition_path(spec: TuningJobSpec, index: int) -> str:
    """``TrainingJobDefinitions[i]`` or ``TrainingJobDefinition``."""
    return f"TrainingJobDefinitions[{index}]" if spec.multi_definition else "TrainingJobDefinition"


def request_definitions(document: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """(path, definition) of each training job definition of a raw tuning job request:
    ``TrainingJobDefinition`` and every ``TrainingJobDefinitions[i]`` that is an object
    (before validation, so both may be there)."""
    several = document.get("TrainingJobDefinitions")
    found = [("TrainingJobDefinition", document.get("TrainingJobDefinition"))]
    if isinstance(several, list):
        found += [(f"TrainingJobDefinitions[{i}]", d) for i, d in enumerate(several)]
    return [(path, d) for path, d in found if isinstance(d, Mapping)]


def ranges_path(spec: TuningJobSpec, index: int) -> str:
    """Where the definition's ranges were written: in the definition, or (single
    definition) in the tuning job config's ``ParameterRanges``."""
    path = definition_path(spec, index)
    if spec.multi_definition or "HyperParameterRanges" in spec.definitions[index].document:
        return f"{path}.HyperParameterRanges"
    return f"{CONFIG}.ParameterRanges"


def ranges_document(spec: TuningJobSpec, index: int) -> Mapping[str, Any]:
    """The ``ParameterRanges`` document at :func:`ranges_path`."""
    own = spec.definitions[index].document.get("HyperParameterRanges")
    if own is not None or spec.multi_definition:
        return own or {}
    return spec.document.get(CONFIG, {}).get("ParameterRanges") or {}
