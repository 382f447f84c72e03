"""The building blocks of the wizard's request: :class:`Built` (the request, with
the form field that fills each request path) and the helpers every section of
:mod:`tunelab.console.wizard_build` uses to fill it.

Text is passed on as typed when it is not a number where one is expected: the
API's shape check then reports it with its own message.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

CONFIG = "HyperParameterTuningJobConfig"


@dataclass
class Built:
    """The request, the field of each path, and problems of the form itself (an
    ``extra`` field that is not a JSON object), by field id."""

    document: dict[str, Any]
    fields: dict[str, str] = field(default_factory=dict)
    local: dict[str, list[str]] = field(default_factory=dict)

    def at(self, path: str, field_id: str) -> None:
        self.fields[path] = field_id


def fid(name: str) -> str:
    """The HTML id of a form field name (``d0.hp.2.min`` -> ``d0-hp-2-min``)."""
    return name.replace(".", "-")


def number(text: str, kind: type = int) -> Any:
    """``text`` as ``kind``; None when blank; the text itself when it is not a number
    (the shape check then says what is wrong, as the API would)."""
    text = text.strip()
    if not text:
        return None
    try:
        return kind(text)
    except ValueError:
        return text


def put(target: dict[str, Any], key: str, value: Any) -> None:
    """Set ``target[key]`` unless ``value`` is None or empty text."""
    if value is not None and value != "":
        target[key] = value


def extra_members(built: Built, text: str, field_id: str) -> dict[str, Any]:
    """The JSON object typed in the ``extra`` field ``field_id``; ``{}`` when it is
    blank, or when it is not a JSON object (noted in ``built.local``)."""
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except ValueError as error:
        built.local.setdefault(field_id, []).append(f"is not valid JSON: {error}")
        return {}
    if not isinstance(value, dict):
        built.local.setdefault(field_id, []).append("must be a JSON object")
        return {}
    return value


def merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """``extra`` merged into ``base`` (mappings key by key, lists item by item)."""
    for key, value in extra.items():
        old = base.get(key)
        if isinstance(old, dict) and isinstance(value, Mapping):
            merge(old, value)
        elif isinstance(old, list) and isinstance(value, list):
            for i, item in enumerate(value):
                if i < len(old) and isinstance(old[i], dict) and isinstance(item, Mapping):
                    merge(old[i], item)
                elif i >= len(old):
                    old.append(copy.deepcopy(item))
        else:
            base[key] = copy.deepcopy(value)
    return base
