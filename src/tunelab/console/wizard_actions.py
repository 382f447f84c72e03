"""The wizard's buttons: move between steps; add, clone and delete definitions;
add and delete rows of the tables (metrics, hyperparameters, channels,
environment, tags, warm-start parents). Each is an ``action`` value the form
posts; :func:`apply_action` returns the state after it."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

from tunelab.console.wizard_form import (
    MAX_WARM_START_PARENTS,
    STEPS,
    ChannelRow,
    DefinitionForm,
    HyperParameterRow,
    JobForm,
    MetricRow,
    Pair,
)

MAX_DEFINITIONS = 10
_ROW_FACTORIES: dict[str, Callable[[], Any]] = {
    "metric": MetricRow,
    "hp": HyperParameterRow,
    "channel": ChannelRow,
    "env": Pair,
}
_ROW_ATTRIBUTES = {
    "metric": "metrics",
    "hp": "hyperparameters",
    "channel": "channels",
    "env": "environment",
}


class ActionError(ValueError):
    """An action the wizard does not know (a forged or stale form)."""


def _definition(form: JobForm, text: str) -> DefinitionForm:
    index = int(text)
    if not 0 <= index < len(form.definitions):
        raise ActionError(f"no definition {index}")
    return form.definitions[index]


def _unique_name(form: JobForm, base: str) -> str:
    taken = {d.name.lower() for d in form.definitions}
    stem = (base or "definition").rstrip("-")[:56]
    for n in range(2, 100):
        candidate = f"{stem}-{n}"
        if candidate.lower() not in taken:
            return candidate
    return stem


def apply_action(form: JobForm, action: str) -> JobForm:
    """The state after ``action``; ``ActionError`` for an unknown one. Unknown
    actions never change the state."""
    if action in ("", "refresh", "create"):
        return form
    if m := re.fullmatch(r"step:(\d)", action):
        form.step = min(max(int(m.group(1)), 1), len(STEPS))
    elif action == "add-def":
        if len(form.definitions) < MAX_DEFINITIONS:
            d = DefinitionForm(metrics=[MetricRow()], hyperparameters=[HyperParameterRow()])
            d.name = _unique_name(form, "definition")
            _name_first(form)
            form.definitions.append(d)
        form.step = 2
    elif m := re.fullmatch(r"clone-def:(\d+)", action):
        source = _definition(form, m.group(1))
        if len(form.definitions) < MAX_DEFINITIONS:
            _name_first(form)
            clone = copy.deepcopy(source)
            clone.name = _unique_name(form, source.name or "definition")
            form.definitions.insert(form.definitions.index(source) + 1, clone)
        form.step = 2
    elif m := re.fullmatch(r"del-def:(\d+)", action):
        form.definitions.remove(_definition(form, m.group(1)))
        form.step = 2
    elif m := re.fullmatch(r"add:d(\d+)\.(metric|hp|channel|env)", action):
        rows = getattr(_definition(form, m.group(1)), _ROW_ATTRIBUTES[m.group(2)])
        rows.append(_ROW_FACTORIES[m.group(2)]())
    elif m := re.fullmatch(r"del:d(\d+)\.(metric|hp|channel|env)\.(\d+)", action):
        rows = getattr(_definition(form, m.group(1)), _ROW_ATTRIBUTES[m.group(2)])
        _delete(rows, int(m.group(3)))
    elif action == "add:tag":
        form.tags.append(Pair())
    elif m := re.fullmatch(r"del:tag\.(\d+)", action):
        _delete(form.tags, int(m.group(1)))
    elif action == "add:ws_parent":
        if len(form.warm_parents) < MAX_WARM_START_PARENTS:
            form.warm_parents.append("")
    elif m := re.fullmatch(r"del:ws_parent\.(\d+)", action):
        _delete(form.warm_parents, int(m.group(1)))
    else:
        raise ActionError(f"unknown action {action!r}")
    return form


def _delete(rows: list[Any], index: int) -> None:
    if not 0 <= index < len(rows):
        raise ActionError(f"no row {index}")
    del rows[index]


def _name_first(form: JobForm) -> None:
    """A job with several definitions needs a name for each: give the first one a
    default when it has none."""
    if len(form.definitions) == 1 and not form.definitions[0].name.strip():
        form.definitions[0].name = "definition-1"
