"""The wizard's state -> the exact ``CreateHyperParameterTuningJob`` request, with a
map from every request path the form fills to the form field that fills it, so
that each API violation is shown next to its field; and back, a request -> the
wizard's state, keeping what the form does not show.

Text is passed on as typed when it is not a number where one is expected: the
API's shape check then reports it with its own message. One definition becomes
``TrainingJobDefinition`` (objective and ranges in ``HyperParameterTuningJobConfig``,
as SageMaker's console writes it); two or more ``TrainingJobDefinitions``
(:mod:`tunelab.console.wizard_build_definition`). :class:`Built` and the helpers
shared by both live in :mod:`tunelab.console.wizard_request` and are importable
from here too.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

from tunelab.console.wizard_build_definition import add_definitions
from tunelab.console.wizard_form import (
    DefinitionForm,
    JobForm,
    definition_from_document,
    job_form_from_document,
)
from tunelab.console.wizard_request import (
    CONFIG,
    Built,
    extra_members,
    fid,
    merge,
    number,
    put,
)

__all__ = [
    "CONFIG",
    "NOT_IMPROVING",
    "RELOCATED_CONFIG_KEYS",
    "RELOCATED_DEFINITION_KEYS",
    "Built",
    "build",
    "definition_for_algorithm",
    "difference",
    "fid",
    "form_for_document",
    "merge",
    "number",
]

RELOCATED_DEFINITION_KEYS = ("TuningObjective", "HyperParameterRanges", "InputDataConfig")
RELOCATED_CONFIG_KEYS = ("HyperParameterTuningJobObjective", "ParameterRanges")
NOT_IMPROVING = "MaxNumberOfTrainingJobsNotImproving"


def build(form: JobForm, kept: bool = False) -> Built:
    """The request the wizard's state describes; with ``kept``, also the early
    stopping and warm start the form keeps while they do not apply."""
    doc: dict[str, Any] = {}
    built = Built(doc)
    put(doc, "HyperParameterTuningJobName", form.name.strip())
    built.at("HyperParameterTuningJobName", "name")
    config: dict[str, Any] = {"Strategy": form.strategy}
    doc[CONFIG] = config
    built.at(CONFIG, "strategy")
    built.at(f"{CONFIG}.Strategy", "strategy")
    _job_settings(form, config, built, kept)
    _limits(form, config, built)
    _warm_start_and_tags(form, doc, built, kept)
    add_definitions(form, doc, config, built)
    merge(doc, extra_members(built, form.extra, "extra"))
    return built


def _job_settings(form: JobForm, config: dict[str, Any], built: Built, kept: bool) -> None:
    hyperband = f"{CONFIG}.StrategyConfig.HyperbandStrategyConfig"
    if form.strategy == "Hyperband" and (form.hb_min.strip() or form.hb_max.strip()):
        values: dict[str, Any] = {}
        put(values, "MinResource", number(form.hb_min))
        put(values, "MaxResource", number(form.hb_max))
        config["StrategyConfig"] = {"HyperbandStrategyConfig": values}
    for path, field_id in (
        (f"{CONFIG}.StrategyConfig", "strategy"),
        (hyperband, "hb_max"),
        (f"{hyperband}.MinResource", "hb_min"),
        (f"{hyperband}.MaxResource", "hb_max"),
        (f"{CONFIG}.TrainingJobEarlyStoppingType", "early_stopping"),
        (f"{CONFIG}.RandomSeed", "seed"),
    ):
        built.at(path, field_id)
    applies = kept or early_stopping_applies(form)
    config["TrainingJobEarlyStoppingType"] = form.early_stopping if applies else "Off"
    put(config, "RandomSeed", number(form.seed))
    criteria: dict[str, Any] = {}
    put(criteria, "TargetObjectiveMetricValue", number(form.target, float))
    if form.not_improving.strip():
        criteria["BestObjectiveNotImproving"] = {NOT_IMPROVING: number(form.not_improving)}
    if form.convergence:
        criteria["ConvergenceDetected"] = {"CompleteOnConvergence": "Enabled"}
    if criteria:
        config["TuningJobCompletionCriteria"] = criteria
    base = f"{CONFIG}.TuningJobCompletionCriteria"
    built.at(base, "target")
    built.at(f"{base}.TargetObjectiveMetricValue", "target")
    built.at(f"{base}.BestObjectiveNotImproving", "not_improving")
    built.at(f"{base}.BestObjectiveNotImproving.{NOT_IMPROVING}", "not_improving")
    built.at(f"{base}.ConvergenceDetected", "convergence")
    built.at(f"{base}.ConvergenceDetected.CompleteOnConvergence", "convergence")


def _limits(form: JobForm, config: dict[str, Any], built: Built) -> None:
    limits: dict[str, Any] = {}
    put(limits, "MaxParallelTrainingJobs", number(form.max_parallel))
    put(limits, "MaxNumberOfTrainingJobs", number(form.max_jobs))
    put(limits, "MaxRuntimeInSeconds", number(form.max_runtime))
    config["ResourceLimits"] = limits
    base = f"{CONFIG}.ResourceLimits"
    built.at(base, "max_parallel")
    built.at(f"{base}.MaxParallelTrainingJobs", "max_parallel")
    built.at(f"{base}.MaxNumberOfTrainingJobs", "max_jobs")
    built.at(f"{base}.MaxRuntimeInSeconds", "max_runtime")


def early_stopping_applies(form: JobForm) -> bool:
    """Whether the form's early stopping goes into the request: only with a single
    definition and not with Hyperband (else the request says Off; the form keeps
    the user's choice for when it applies again)."""
    return len(form.definitions) <= 1 and form.strategy != "Hyperband"


def warm_start_applies(form: JobForm) -> bool:
    """Whether the form's warm start goes into the request: only with a single
    definition (the form keeps it meanwhile)."""
    return len(form.definitions) <= 1


def _warm_start_and_tags(form: JobForm, doc: dict[str, Any], built: Built, kept: bool) -> None:
    if (form.warm_type or form.warm_parents) and (kept or warm_start_applies(form)):
        warm: dict[str, Any] = {
            "ParentHyperParameterTuningJobs": [
                {"HyperParameterTuningJobName": p.strip()} for p in form.warm_parents
            ]
        }
        put(warm, "WarmStartType", form.warm_type)
        doc["WarmStartConfig"] = warm
    built.at("WarmStartConfig", "warm_type")
    built.at("WarmStartConfig.WarmStartType", "warm_type")
    built.at("WarmStartConfig.ParentHyperParameterTuningJobs", "warm_parents")
    for k in range(len(form.warm_parents)):
        row = f"WarmStartConfig.ParentHyperParameterTuningJobs[{k}]"
        built.at(row, f"ws_parent-{k}-name")
        built.at(f"{row}.HyperParameterTuningJobName", f"ws_parent-{k}-name")
    if form.tags:
        doc["Tags"] = [{"Key": t.key.strip(), "Value": t.value} for t in form.tags]
    built.at("Tags", "tags")
    for k in range(len(form.tags)):
        built.at(f"Tags[{k}]", f"tag-{k}")
        built.at(f"Tags[{k}].Key", f"tag-{k}-key")
        built.at(f"Tags[{k}].Value", f"tag-{k}-value")


# -- a request -> the wizard, keeping what the form does not show --------------------------


def difference(original: Any, built: Any) -> Any:
    """What ``original`` holds that ``built`` lacks (members only; a value the form
    rebuilt differently is the form's business)."""
    if isinstance(original, Mapping) and isinstance(built, Mapping):
        found = {}
        for key, value in original.items():
            if key not in built:
                found[key] = copy.deepcopy(value)
                continue
            sub = difference(value, built[key])
            if sub:
                found[key] = sub
        return found
    if isinstance(original, list) and isinstance(built, list) and len(original) == len(built):
        pairs = zip(original, built, strict=True)
        items = [difference(a, b) if isinstance(a, Mapping) else {} for a, b in pairs]
        return items if any(items) else None
    return None


def _without(doc: Mapping[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in keys}


def form_for_document(doc: Mapping[str, Any]) -> JobForm:
    """The wizard's state for ``doc``, with the members the form does not show kept
    in the ``extra`` fields, so that building it gives ``doc`` back."""
    form = job_form_from_document(doc)
    rebuilt = build(form, kept=True).document  # what the form holds is not extra
    top = _without(doc, ("TrainingJobDefinition", "TrainingJobDefinitions"))
    config = doc.get(CONFIG)
    if isinstance(config, Mapping):
        top[CONFIG] = _without(config, RELOCATED_CONFIG_KEYS)
    form.extra = _json(difference(top, rebuilt))
    originals = doc.get("TrainingJobDefinitions") or [doc.get("TrainingJobDefinition")]
    rebuilt_definitions = rebuilt.get("TrainingJobDefinitions") or [
        rebuilt.get("TrainingJobDefinition")
    ]
    for d, original, again in zip(form.definitions, originals, rebuilt_definitions, strict=False):
        if not isinstance(original, Mapping) or not isinstance(again, Mapping):
            continue
        d.extra = _json(difference(_without(original, RELOCATED_DEFINITION_KEYS), again))
        channels = original.get("InputDataConfig") or []
        made_channels = again.get("InputDataConfig") or []
        for row, channel, made in zip(d.channels, channels, made_channels, strict=False):
            row.extra = _json(difference(channel, made))
    return form


def _json(value: Any) -> str:
    return json.dumps(value, indent=2) if value else ""


def definition_for_algorithm(name: str, document: Mapping[str, Any]) -> DefinitionForm:
    """A definition prefilled from a registered algorithm (``CreateAlgorithm``): its
    metric definitions, and each tunable hyperparameter's range as recommended."""
    spec = document.get("TrainingSpecification") or {}
    d = definition_from_document({"AlgorithmSpecification": {}}, None, {})
    d.source, d.algorithm, d.image = "algorithm", name, ""
    d.metrics = definition_from_document(
        {"AlgorithmSpecification": {"MetricDefinitions": spec.get("MetricDefinitions") or []}},
        None,
        {},
    ).metrics
    ranges: dict[str, list[dict[str, Any]]] = {}
    for item in spec.get("SupportedHyperParameters") or ():
        found = item.get("Range") or {}
        if not item.get("IsTunable") or not found:
            continue
        for key, kind in (
            ("IntegerParameterRangeSpecification", "IntegerParameterRanges"),
            ("ContinuousParameterRangeSpecification", "ContinuousParameterRanges"),
            ("CategoricalParameterRangeSpecification", "CategoricalParameterRanges"),
        ):
            if key in found:
                ranges.setdefault(kind, []).append({"Name": item.get("Name", ""), **found[key]})
    d.hyperparameters = definition_from_document({}, None, ranges).hyperparameters
    objective = (spec.get("SupportedTuningJobObjectiveMetrics") or [{}])[0]
    d.objective_metric = objective.get("MetricName", "")
    d.objective_type = objective.get("Type", "Maximize")
    return d
