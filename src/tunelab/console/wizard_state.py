"""The create wizard's state: what its form fields hold, as dataclasses, and the
choices the form offers.

Every value stays the text the user typed; :mod:`tunelab.console.wizard_form` reads
the state from a submitted form, :mod:`tunelab.console.wizard_document` from an
existing request, and :mod:`tunelab.console.wizard_build` turns it into the request.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_ROLE = "arn:aws:iam::123456789012:role/tunelab"
HP_KINDS = ("continuous", "integer", "categorical", "static")
RANGE_KIND = {
    "continuous": "ContinuousParameterRanges",
    "integer": "IntegerParameterRanges",
    "categorical": "CategoricalParameterRanges",
}
SCALINGS = ("Auto", "Linear", "Logarithmic", "ReverseLogarithmic")
STEPS = ("Job settings", "Training job definitions", "Resource limits", "Review and create")
MAX_WARM_START_PARENTS = 5


@dataclass
class Pair:
    key: str = ""
    value: str = ""


@dataclass
class MetricRow:
    name: str = ""
    regex: str = ""
    sample: str = ""
    """A pasted log line for the regex tester (not part of the request)."""


@dataclass
class HyperParameterRow:
    name: str = ""
    kind: str = "continuous"
    min: str = ""
    max: str = ""
    values: str = ""
    """Categorical: values separated by commas; static: the value."""
    scaling: str = "Auto"


@dataclass
class ChannelRow:
    name: str = ""
    uri: str = ""
    content_type: str = ""
    extra: str = ""
    """JSON of the channel's members the form does not show (kept as they are)."""


@dataclass
class DefinitionForm:
    name: str = ""
    role: str = DEFAULT_ROLE
    isolation: bool = False
    source: str = "program"
    """``program`` (a local program), ``builtin`` (a ``tunelab/<name>`` image), both as
    TrainingImage, or ``algorithm`` (a registered one: AlgorithmName)."""
    image: str = ""
    algorithm: str = ""
    input_mode: str = "File"
    metrics: list[MetricRow] = field(default_factory=list)
    objective_metric: str = ""
    objective_type: str = "Maximize"
    hyperparameters: list[HyperParameterRow] = field(default_factory=list)
    channels: list[ChannelRow] = field(default_factory=list)
    environment: list[Pair] = field(default_factory=list)
    checkpoint: str = ""
    output: str = "s3://tunelab-output/"
    kms: str = ""
    instance_type: str = ""
    instance_count: str = "1"
    volume: str = ""
    spot: bool = False
    max_wait: str = ""
    max_runtime: str = "3600"
    extra: str = ""
    """JSON of the definition's members the form does not show."""


@dataclass
class JobForm:
    name: str = ""
    strategy: str = "Random"
    hb_min: str = ""
    hb_max: str = ""
    early_stopping: str = "Off"
    seed: str = ""
    target: str = ""
    not_improving: str = ""
    convergence: bool = False
    warm_type: str = ""
    warm_parents: list[str] = field(default_factory=list)
    tags: list[Pair] = field(default_factory=list)
    max_parallel: str = "2"
    max_jobs: str = "10"
    max_runtime: str = ""
    extra: str = ""
    """JSON of the request's top-level members the form does not show."""
    definitions: list[DefinitionForm] = field(default_factory=list)
    step: int = 1

    @classmethod
    def new(cls) -> JobForm:
        """A blank wizard: one definition with one metric and one range row."""
        definition = DefinitionForm(metrics=[MetricRow()], hyperparameters=[HyperParameterRow()])
        return cls(definitions=[definition])
