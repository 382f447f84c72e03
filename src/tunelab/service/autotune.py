"""``Autotune: {Mode: Enabled}``: tunelab fills in what the request leaves out, as
SageMaker documents, and writes its choices into the stored request, so Describe
shows them. Settings the request gives are kept.

SageMaker does not publish its heuristics; these are tunelab's:

- ``AutoParameters`` (``Name``, ``ValueHint``) become ranges: the built-in
  algorithm's recommended range for that hyperparameter when it has one; else a
  range around the hint: integers ``hint/4 .. hint*4``, decimals ``hint/10 ..
  hint*10`` (capped at 1 for a hint below 1), logarithmic when the range spans a
  factor of 10 or more; ``true``/``false`` hints become both values; other words
  the algorithm's listed values. A hint that fits none of these is refused.
  Ranges are clipped to the hyperparameter's valid bounds.
- ``MaxNumberOfTrainingJobs``: 10 per tuned hyperparameter, at least 20, at most
  the quota (not for Grid, which runs its grid).
- ``TrainingJobEarlyStoppingType``: ``Auto`` for Bayesian and Random with one
  definition (Hyperband stops jobs itself; Grid runs every point).
- ``ConvergenceDetected``: ``Enabled`` for Bayesian.
- ``RetryStrategy``: 2 retries of internal failures per definition.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator, Mapping
from typing import Any

from tunelab.algorithms import catalog
from tunelab.algorithms.images import builtin_for
from tunelab.algorithms.spec import AlgorithmSpec, Hyperparameter
from tunelab.domain.errors import Violation, raise_for

CONFIG = "HyperParameterTuningJobConfig"
JOBS_PER_PARAMETER = 10
MIN_JOBS = 20
RETRIES = 2
Doc = dict[str, Any]


def enabled(document: Mapping[str, Any]) -> bool:
    autotune = document.get("Autotune")
    return isinstance(autotune, Mapping) and autotune.get("Mode") == "Enabled"


def autotune(document: Mapping[str, Any], max_training_jobs: int) -> Doc:
    """A copy of ``document`` with Autotune's choices filled in (unchanged when
    Autotune is not enabled, except that ``AutoParameters`` are then refused)."""
    result = copy.deepcopy(dict(document))
    definitions = _definitions(result)
    if not enabled(result):
        raise_for(list(_auto_parameters_without_autotune(result, definitions)))
        return result
    config = result.setdefault(CONFIG, {})
    problems: list[Violation] = []
    tuned = 0
    for path, definition, ranges in _range_documents(config, definitions):
        problems += _fill_ranges(ranges, definition, path)
        tuned = max(tuned, sum(len(ranges.get(k) or ()) for k in _KINDS))
    raise_for(problems)
    strategy = config.get("Strategy")
    limits = config.setdefault("ResourceLimits", {})
    if strategy != "Grid" and "MaxNumberOfTrainingJobs" not in limits:
        jobs = max(MIN_JOBS, JOBS_PER_PARAMETER * tuned)
        limits["MaxNumberOfTrainingJobs"] = min(jobs, max_training_jobs)
    if strategy in ("Bayesian", "Random") and len(definitions) == 1:
        config.setdefault("TrainingJobEarlyStoppingType", "Auto")
    if strategy == "Bayesian":
        criteria = config.setdefault("TuningJobCompletionCriteria", {})
        criteria.setdefault("ConvergenceDetected", {"CompleteOnConvergence": "Enabled"})
    for _, definition in definitions:
        definition.setdefault("RetryStrategy", {"MaximumRetryAttempts": RETRIES})
    return result


_KINDS = ("IntegerParameterRanges", "ContinuousParameterRanges", "CategoricalParameterRanges")


def _definitions(document: Doc) -> list[tuple[str, Doc]]:
    single = document.get("TrainingJobDefinition")
    if isinstance(single, dict):
        return [("TrainingJobDefinition", single)]
    many = document.get("TrainingJobDefinitions") or []
    return [(f"TrainingJobDefinitions[{i}]", d) for i, d in enumerate(many) if isinstance(d, dict)]


def _range_documents(
    config: Doc, definitions: list[tuple[str, Doc]]
) -> Iterator[tuple[str, Doc, Doc]]:
    """(path, definition, ranges document) for every ``ParameterRanges`` in use."""
    if len(definitions) == 1 and isinstance(config.get("ParameterRanges"), dict):
        yield f"{CONFIG}.ParameterRanges", definitions[0][1], config["ParameterRanges"]
    for path, definition in definitions:
        if isinstance(definition.get("HyperParameterRanges"), dict):
            yield f"{path}.HyperParameterRanges", definition, definition["HyperParameterRanges"]


def _auto_parameters_without_autotune(
    document: Doc, definitions: list[tuple[str, Doc]]
) -> Iterator[Violation]:
    config = document.get(CONFIG) if isinstance(document.get(CONFIG), dict) else {}
    for path, _, ranges in _range_documents(config, definitions):
        if ranges.get("AutoParameters"):
            yield Violation(
                f"{path}.AutoParameters",
                'AutoParameters need Autotune: set "Autotune": {"Mode": "Enabled"} '
                "or give the ranges as Integer/Continuous/CategoricalParameterRanges",
            )


def _fill_ranges(ranges: Doc, definition: Doc, path: str) -> list[Violation]:
    """Turn each ``AutoParameters`` entry into a range of ``ranges`` (kept as given)."""
    algorithm = _algorithm_of(definition)
    named = {r.get("Name") for kind in _KINDS for r in ranges.get(kind) or ()}
    problems = []
    for i, auto in enumerate(ranges.get("AutoParameters") or ()):
        where = f"{path}.AutoParameters[{i}]"
        name, hint = str(auto.get("Name", "")), str(auto.get("ValueHint", "")).strip()
        if name in named:
            problems.append(Violation(where, f"'{name}' already has a range; name it once"))
            continue
        hyperparameter = algorithm.hyperparameter(name) if algorithm else None
        try:
            kind, entry = range_for(name, hint, hyperparameter)
        except ValueError as problem:
            problems.append(Violation(where, str(problem)))
            continue
        ranges.setdefault(kind, []).append(entry)
        named.add(name)
    return problems


def _algorithm_of(definition: Doc) -> AlgorithmSpec | None:
    """The built-in algorithm the definition runs (its metadata), or None."""
    algorithm = definition.get("AlgorithmSpecification") or {}
    static = definition.get("StaticHyperParameters") or {}
    name = builtin_for(algorithm.get("TrainingImage"), static)
    return catalog.get(name) if name else None


def range_for(name: str, hint: str, hyperparameter: Hyperparameter | None) -> tuple[str, Doc]:
    """The range Autotune chooses for ``name``: (kind, range document). Raises
    ``ValueError`` with the reason when the hint gives nothing to build on."""
    recommended = hyperparameter.recommended if hyperparameter else None
    if recommended is not None and recommended.values:
        return "CategoricalParameterRanges", {"Name": name, "Values": list(recommended.values)}
    if recommended is not None:
        kind = f"{hyperparameter.type}ParameterRanges"  # type: ignore[union-attr]
        low, high, scaling = recommended.low, recommended.high, recommended.scaling
        return kind, {"Name": name, "MinValue": low, "MaxValue": high, "ScalingType": scaling}
    if hint.lower() in ("true", "false"):
        return "CategoricalParameterRanges", {"Name": name, "Values": ["true", "false"]}
    number = _number(hint)
    if number is None:
        if hyperparameter is not None and hyperparameter.values:
            values = list(hyperparameter.values)
            return "CategoricalParameterRanges", {"Name": name, "Values": values}
        raise ValueError(
            f"ValueHint {hint!r} of '{name}' is not a number, true or false, and no "
            "algorithm metadata lists its values: give its range explicitly"
        )
    declared = hyperparameter.type if hyperparameter is not None else None
    integer = isinstance(number, int) and declared in (None, "Integer")
    low, high = _around(float(number), integer)
    if hyperparameter is not None:
        low = max(low, hyperparameter.low) if hyperparameter.low is not None else low
        high = min(high, hyperparameter.high) if hyperparameter.high is not None else high
    if integer:
        low, high = math.ceil(low), math.floor(high)
    scaling = "Logarithmic" if low > 0 and high >= 10 * low else "Linear"
    kind = "IntegerParameterRanges" if integer else "ContinuousParameterRanges"
    text = (lambda v: str(int(v))) if integer else (lambda v: f"{v:.6g}")
    bounds = {"MinValue": text(low), "MaxValue": text(high), "ScalingType": scaling}
    return kind, {"Name": name, **bounds}


def _number(text: str) -> int | float | None:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _around(hint: float, integer: bool) -> tuple[float, float]:
    """The range around a numeric hint (see the module docstring)."""
    if hint == 0:
        return (0.0, 10.0) if integer else (0.0, 1.0)
    magnitude = abs(hint)
    if integer:
        low, high = max(1.0, magnitude / 4), magnitude * 4
    else:
        low, high = magnitude / 10, magnitude * 10
        if magnitude < 1:
            high = min(high, 1.0)
    return (low, high) if hint > 0 else (-high, -low)


__all__ = ["autotune", "enabled", "range_for"]
