"""The create wizard's state read from a submitted form.

The state itself (:class:`JobForm` and its rows) lives in
:mod:`tunelab.console.wizard_state`, reading it from an existing
``CreateHyperParameterTuningJob`` request (clone, upload) in
:mod:`tunelab.console.wizard_document`; both are importable from here too.

Every value stays the text the user typed; :mod:`tunelab.console.wizard_build`
turns the state into the request document, so that the API's own checks judge it.
Field names are flat (``d0.hp.2.min``); rows are renumbered on every render.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TypeVar

from tunelab.console.wizard_document import (
    definition_from_document,
    job_form_from_document,
)
from tunelab.console.wizard_state import (
    DEFAULT_ROLE,
    HP_KINDS,
    MAX_WARM_START_PARENTS,
    RANGE_KIND,
    SCALINGS,
    STEPS,
    ChannelRow,
    DefinitionForm,
    HyperParameterRow,
    JobForm,
    MetricRow,
    Pair,
)

__all__ = [
    "DEFAULT_ROLE",
    "HP_KINDS",
    "MAX_WARM_START_PARENTS",
    "RANGE_KIND",
    "SCALINGS",
    "STEPS",
    "ChannelRow",
    "DefinitionForm",
    "Form",
    "HyperParameterRow",
    "JobForm",
    "MetricRow",
    "Pair",
    "definition_from_document",
    "job_form_from_document",
    "job_form_from_form",
]

Form = Mapping[str, str]
Row = TypeVar("Row")


def _indices(form: Form, prefix: str) -> list[int]:
    """The row numbers ``n`` of fields named ``<prefix><n>.<something>``, in order."""
    pattern = re.compile(re.escape(prefix) + r"(\d+)\.")
    found = {int(m.group(1)) for key in form if (m := pattern.match(key))}
    return sorted(found)


def _rows(form: Form, prefix: str, make: Callable[[Callable[[str], str]], Row]) -> list[Row]:
    def getter(n: int) -> Callable[[str], str]:
        return lambda key: form.get(f"{prefix}{n}.{key}", "")

    return [make(getter(n)) for n in _indices(form, prefix)]


def _checked(form: Form, key: str) -> bool:
    return form.get(key, "") not in ("", "off", "false")


def _definition_from_form(form: Form, p: str) -> DefinitionForm:
    get = lambda key: form.get(p + key, "")  # noqa: E731
    return DefinitionForm(
        name=get("name"),
        role=get("role"),
        isolation=_checked(form, p + "isolation"),
        source=get("source") or "program",
        image=get("image"),
        algorithm=get("algorithm"),
        input_mode=get("input_mode") or "File",
        metrics=_rows(
            form, p + "metric.", lambda g: MetricRow(g("name"), g("regex"), g("sample"))
        ),
        objective_metric=get("objective_metric"),
        objective_type=get("objective_type") or "Maximize",
        hyperparameters=_rows(
            form,
            p + "hp.",
            lambda g: HyperParameterRow(
                g("name"),
                g("kind") or "continuous",
                g("min"),
                g("max"),
                g("values"),
                g("scaling") or "Auto",
            ),
        ),
        channels=_rows(
            form,
            p + "channel.",
            lambda g: ChannelRow(g("name"), g("uri"), g("content_type"), g("extra")),
        ),
        environment=_rows(form, p + "env.", lambda g: Pair(g("key"), g("value"))),
        checkpoint=get("checkpoint"),
        output=get("output"),
        kms=get("kms"),
        instance_type=get("instance_type"),
        instance_count=get("instance_count"),
        volume=get("volume"),
        spot=_checked(form, p + "spot"),
        max_wait=get("max_wait"),
        max_runtime=get("max_runtime"),
        extra=get("extra"),
    )


def job_form_from_form(form: Form) -> JobForm:
    """The wizard's state from its submitted fields."""
    get = lambda key: form.get(key, "")  # noqa: E731
    try:
        step = min(max(int(get("step") or 1), 1), len(STEPS))
    except ValueError:
        step = 1
    parents = [form.get(f"ws_parent.{n}.name", "") for n in _indices(form, "ws_parent.")]
    return JobForm(
        name=get("name"),
        strategy=get("strategy") or "Random",
        hb_min=get("hb_min"),
        hb_max=get("hb_max"),
        early_stopping=get("early_stopping") or "Off",
        seed=get("seed"),
        target=get("target"),
        not_improving=get("not_improving"),
        convergence=_checked(form, "convergence"),
        warm_type=get("warm_type"),
        warm_parents=parents,
        tags=_rows(form, "tag.", lambda g: Pair(g("key"), g("value"))),
        max_parallel=get("max_parallel"),
        max_jobs=get("max_jobs"),
        max_runtime=get("max_runtime"),
        extra=get("extra"),
        definitions=[_definition_from_form(form, f"d{n}.") for n in _indices(form, "d")],
        step=step,
    )
