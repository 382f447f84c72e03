"""Metadata of a built-in algorithm, in the shape of SageMaker's ``TrainingSpecification``
(``CreateAlgorithm``): supported hyperparameters with types, valid ranges and defaults,
metric definitions, tunable objective metrics, channels and content types; plus the
recommended tuning ranges of each algorithm's "Tune a model" page.

One source of truth: the service checks definitions against it and the programs read
their hyperparameters with it (:func:`parse_value`)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

INTEGER, CONTINUOUS, CATEGORICAL, FREE_TEXT = "Integer", "Continuous", "Categorical", "FreeText"
MAXIMIZE, MINIMIZE = "Maximize", "Minimize"
INSTANCE_TYPES = ("ml.m5.large", "ml.m5.xlarge", "ml.m5.2xlarge", "ml.m5.4xlarge", "ml.c5.xlarge")


@dataclass(frozen=True)
class Recommended:
    """A recommended tuning range: ``low``..``high`` (numbers) or ``values``."""

    low: str | None = None
    high: str | None = None
    values: tuple[str, ...] = ()
    scaling: str = "Auto"


@dataclass(frozen=True)
class Hyperparameter:
    """One supported hyperparameter. Bounds are inclusive unless ``*_open``;
    ``special`` lists words a numeric hyperparameter also takes (``auto``);
    ``unavailable`` lists values SageMaker takes that tunelab does not run."""

    name: str
    type: str
    description: str
    default: str | None = None
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    values: tuple[str, ...] = ()
    unavailable: tuple[str, ...] = ()
    special: tuple[str, ...] = ()
    ignore_case: bool = False
    required: bool = False
    tunable: bool = False
    recommended: Recommended | None = None


@dataclass(frozen=True)
class Metric:
    """A metric definition; ``direction`` is set for tunable objective metrics. The
    program reports it only for the ``predictor_type`` values listed (empty: always)."""

    name: str
    regex: str
    direction: str | None = None
    predictor_types: tuple[str, ...] = ()


@dataclass(frozen=True)
class Channel:
    """A channel; empty ``content_types``: any (the program does not read it as data);
    empty ``compression_types``: any."""

    name: str
    description: str
    content_types: tuple[str, ...]
    required: bool = False
    input_modes: tuple[str, ...] = ("File",)
    compression_types: tuple[str, ...] = ()


@dataclass(frozen=True)
class AlgorithmSpec:
    """A built-in algorithm. ``default_content_type`` is what SageMaker assumes for a
    channel without ``ContentType``; ``metric_hyperparameter`` names the hyperparameter
    that lists evaluation metrics (``eval_metric``), whose definitions come first."""

    name: str
    title: str
    description: str
    module: str
    hyperparameters: tuple[Hyperparameter, ...]
    metrics: tuple[Metric, ...]
    channels: tuple[Channel, ...]
    default_content_type: str | None = None
    metric_hyperparameter: str | None = None
    unsupported_content_types: tuple[str, ...] = ()
    requires: tuple[tuple[str, tuple[str, ...], str], ...] = ()
    """``(hyperparameter, values, needed)``: when ``hyperparameter`` takes one of
    ``values``, ``needed`` must be given too."""
    registered: bool = False
    """A ``CreateAlgorithm`` algorithm (its channels' input modes are checked too)."""
    instance_types: tuple[str, ...] = ()
    """The instance types a job may ask for; empty: any."""
    distributed: bool | None = None
    """``SupportsDistributedTraining``: False refuses ``InstanceCount`` > 1."""

    @property
    def label(self) -> str:
        """How messages name it: ``the built-in xgboost algorithm``, ``the algorithm 'x'``."""
        if self.registered:
            return f"the algorithm '{self.name}'"
        return f"the built-in {self.name} algorithm"

    def hyperparameter(self, name: str) -> Hyperparameter | None:
        return next((h for h in self.hyperparameters if h.name == name), None)

    def metric(self, name: str) -> Metric | None:
        return next((m for m in self.metrics if m.name == name), None)

    def channel(self, name: str) -> Channel | None:
        return next((c for c in self.channels if c.name == name), None)

    @property
    def objectives(self) -> tuple[Metric, ...]:
        return tuple(m for m in self.metrics if m.direction is not None)

    @property
    def argv(self) -> tuple[str, ...]:
        """Arguments after the interpreter: ``-m <module> train``."""
        return ("-m", self.module, "train")


def _number(text: str) -> float:
    value = float(text.strip())
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def parse_value(hp: Hyperparameter, text: str) -> Any:
    """``text`` read as ``hp`` takes it: an int, a float, a special word or a string.
    Raises ``ValueError`` with what the value must be when it is not allowed."""
    stripped = text.strip()
    if stripped.lower() in hp.special:
        return stripped.lower()
    if hp.type in (INTEGER, CONTINUOUS):
        try:
            number = _number(stripped)
        except ValueError:
            raise ValueError(demand(hp)) from None
        if hp.type == INTEGER:
            if not number.is_integer():
                raise ValueError(demand(hp))
            number = int(number)
        if not in_bounds(hp, number):
            raise ValueError(demand(hp))
        return number
    if hp.type == CATEGORICAL:
        for value in hp.values:
            if stripped == value or (hp.ignore_case and stripped.lower() == value.lower()):
                if value in hp.unavailable:
                    usable = [v for v in hp.values if v not in hp.unavailable]
                    raise ValueError(  # read as "must be <this>; got <value>"
                        f"one of {', '.join(usable)} ({value!r} is not available in this "
                        "version of tunelab)"
                    )
                return value
        raise ValueError(demand(hp))
    if hp.values:  # a comma-separated list of listed items
        items = [item.strip() for item in text.split(",") if item.strip()]
        unknown = [item for item in items if not _listed(hp, item)]
        if not items or unknown:
            raise ValueError(f"{demand(hp)}; {unknown[0] if unknown else text!r} is not one")
        return items
    return text


def _listed(hp: Hyperparameter, item: str) -> bool:
    if item in hp.values:
        return True
    prefix, _, threshold = item.partition("@")
    if not threshold or f"{prefix}@" not in hp.values:
        return False
    try:
        _number(threshold)
    except ValueError:
        return False
    return True


def in_bounds(hp: Hyperparameter, number: float) -> bool:
    if hp.low is not None and (number < hp.low or (hp.low_open and number == hp.low)):
        return False
    return not (hp.high is not None and (number > hp.high or (hp.high_open and number == hp.high)))


def interval(hp: Hyperparameter) -> str:
    """``[0, 1]``, ``(0, 1]``, ``[1, ∞)``..."""
    low = "-∞" if hp.low is None else _short(hp.low)
    high = "∞" if hp.high is None else _short(hp.high)
    left = "(" if hp.low is None or hp.low_open else "["
    right = ")" if hp.high is None or hp.high_open else "]"
    return f"{left}{low}, {high}{right}"


def _short(number: float) -> str:
    return str(int(number)) if float(number).is_integer() and abs(number) < 1e15 else f"{number:g}"


def demand(hp: Hyperparameter) -> str:
    """What a value of ``hp`` must be, completing "must be ..."."""
    extra = "".join(f" or '{word}'" for word in hp.special)
    if hp.type == INTEGER:
        return f"an integer in {interval(hp)}{extra}"
    if hp.type == CONTINUOUS:
        return f"a number in {interval(hp)}{extra}"
    if hp.type == CATEGORICAL:
        return "one of " + ", ".join(v for v in hp.values if v not in hp.unavailable)
    if hp.values:
        return "a comma-separated list of " + ", ".join(hp.values)
    return "a string"


def hyperparameter_specification(hp: Hyperparameter) -> dict[str, Any]:
    """``HyperParameterSpecification`` (Range only when both bounds are finite)."""
    out: dict[str, Any] = {"Name": hp.name, "Description": hp.description, "Type": hp.type}
    if hp.type == CATEGORICAL:
        out["Range"] = {"CategoricalParameterRangeSpecification": {"Values": list(hp.values)}}
    elif hp.type in (INTEGER, CONTINUOUS) and hp.low is not None and hp.high is not None:
        kind = f"{hp.type}ParameterRangeSpecification"
        out["Range"] = {kind: {"MinValue": _short(hp.low), "MaxValue": _short(hp.high)}}
    out["IsTunable"] = hp.tunable
    out["IsRequired"] = hp.required
    if hp.default is not None:
        out["DefaultValue"] = hp.default
    return out


def training_specification(spec: AlgorithmSpec, image: str) -> dict[str, Any]:
    """SageMaker's ``TrainingSpecification`` of ``spec``."""
    return {
        "TrainingImage": image,
        "SupportedHyperParameters": [
            hyperparameter_specification(h) for h in spec.hyperparameters
        ],
        "SupportedTrainingInstanceTypes": list(INSTANCE_TYPES),
        "SupportsDistributedTraining": False,
        "MetricDefinitions": [{"Name": m.name, "Regex": m.regex} for m in spec.metrics],
        "TrainingChannels": [
            {
                "Name": c.name,
                "Description": c.description,
                "IsRequired": c.required,
                "SupportedContentTypes": list(c.content_types),
                "SupportedCompressionTypes": ["None", "Gzip"],
                "SupportedInputModes": list(c.input_modes),
            }
            for c in spec.channels
        ],
        "SupportedTuningJobObjectiveMetrics": [
            {"Type": m.direction, "MetricName": m.name} for m in spec.objectives
        ],
    }


def recommended_ranges(spec: AlgorithmSpec) -> dict[str, list[dict[str, Any]]]:
    """The recommended tuning ranges as a ``ParameterRanges`` document, ready to paste
    into a job file."""
    ranges: dict[str, list[dict[str, Any]]] = {}
    for hp in spec.hyperparameters:
        rec = hp.recommended
        if rec is None:
            continue
        if rec.values:
            entry: dict[str, Any] = {"Name": hp.name, "Values": list(rec.values)}
            ranges.setdefault("CategoricalParameterRanges", []).append(entry)
            continue
        entry = {"Name": hp.name, "MinValue": rec.low, "MaxValue": rec.high}
        entry["ScalingType"] = rec.scaling
        ranges.setdefault(f"{hp.type}ParameterRanges", []).append(entry)
    return ranges
