"""SageMaker's rules for the Hyperband strategy, and its ``MaxResource`` inference
(part of :mod:`tunelab.domain.rules`)."""

from __future__ import annotations

from collections.abc import Iterator

from tunelab.domain.enums import EarlyStoppingType
from tunelab.domain.errors import Violation
from tunelab.domain.paths import CONFIG, definition_path
from tunelab.domain.tuning_job import TuningJobSpec

MAX_HYPERBAND_RESOURCE = 20_000
EPOCH_HYPERPARAMETERS = ("epochs", "numepochs", "n-epochs", "n_epochs", "num_epochs")


def hyperband_violations(spec: TuningJobSpec) -> Iterator[Violation]:
    """Hyperband's rules: early stopping Off, a MaxResource given or inferred, at
    least 1 and at most :data:`MAX_HYPERBAND_RESOURCE`, MinResource not above it. A
    problem with an inferred MaxResource names the static hyperparameter it came from."""
    if spec.early_stopping is not EarlyStoppingType.OFF:
        yield Violation(
            f"{CONFIG}.TrainingJobEarlyStoppingType",
            "must be 'Off' with the "
            "Hyperband strategy (Hyperband stops jobs early itself); got "
            f"'{spec.early_stopping}'",
        )
    config = spec.hyperband
    path = f"{CONFIG}.StrategyConfig.HyperbandStrategyConfig"
    max_resource = hyperband_max_resource(spec)
    source = None if config and config.max_resource is not None else _inferred_from(spec)
    if max_resource is None and (unusable := _unusable_epochs(spec)) is not None:
        where, value = unusable
        yield Violation(
            where,
            "cannot give Hyperband's MaxResource (HyperbandStrategyConfig has none): a "
            f"number of epochs must be a whole number from 1 to {MAX_HYPERBAND_RESOURCE}; "
            f"got {value!r}",
        )
        return
    if max_resource is None:
        yield Violation(
            f"{path}.MaxResource",
            "is required for Hyperband unless a static "
            "hyperparameter named "
            + ", ".join(EPOCH_HYPERPARAMETERS)
            + " gives the number of epochs",
        )
        return
    if source is not None and max_resource < 1:
        yield Violation(
            source,
            f"gives Hyperband's MaxResource (HyperbandStrategyConfig has none), which must "
            f"be at least 1; got {max_resource}",
        )
    elif max_resource > MAX_HYPERBAND_RESOURCE:
        where = source or f"{path}.MaxResource"
        yield Violation(where, f"must be at most {MAX_HYPERBAND_RESOURCE}; got {max_resource}")
    min_resource = config.min_resource if config else None
    if min_resource is not None and min_resource > max_resource:
        given = f"{max_resource}, from {source}" if source else str(max_resource)
        yield Violation(
            f"{path}.MinResource",
            f"({min_resource}) must not be greater than MaxResource ({given})",
        )


def hyperband_max_resource(spec: TuningJobSpec) -> int | None:
    """Hyperband's ``MaxResource``: given in ``HyperbandStrategyConfig``, else the
    first static hyperparameter named as in :data:`EPOCH_HYPERPARAMETERS` that holds
    a whole number (SageMaker's inference), else None. The one place that infers it:
    validation and the Hyperband strategy both call this."""
    config = spec.hyperband
    if config is not None and config.max_resource is not None:
        return config.max_resource
    found = _inference(spec)
    return None if found is None else found[1]


def _inferred_from(spec: TuningJobSpec) -> str | None:
    """The field path of the static hyperparameter MaxResource is inferred from."""
    found = _inference(spec)
    return None if found is None else found[0]


def _unusable_epochs(spec: TuningJobSpec) -> tuple[str, str] | None:
    """(field path, value) of the first static hyperparameter named as in
    :data:`EPOCH_HYPERPARAMETERS` that holds no whole number (``2.5``, ``-3``, ``abc``)."""
    return next(((w, v) for w, v in _epoch_statics(spec) if not v.strip().isdecimal()), None)


def _inference(spec: TuningJobSpec) -> tuple[str, int] | None:
    """(field path, value) of the first one that holds a whole number."""
    return next(((w, int(v)) for w, v in _epoch_statics(spec) if v.strip().isdecimal()), None)


def _epoch_statics(spec: TuningJobSpec) -> Iterator[tuple[str, str]]:
    """(field path, value) of each static hyperparameter named as in
    :data:`EPOCH_HYPERPARAMETERS`, definition by definition, in that order of names."""
    for index, definition in enumerate(spec.definitions):
        static = definition.static_hyperparameters
        for name in EPOCH_HYPERPARAMETERS:
            if name in static:
                yield f"{definition_path(spec, index)}.StaticHyperParameters.{name}", static[name]
