"""Stand-ins for the parts of a request that a check refused, so that the next
check gets past that stage and reports what the later stages find too.

``TuningService.validate`` stops at the first stage that finds problems (types,
then which members go together, then the values, then the rules). The wizard
wants every problem at once: :func:`repair` replaces what a stage refused with a
harmless stand-in (an optional member is left out; a required number gets its
smallest valid value, a required name, role or URI a valid one; a parameter range
valid bounds; a definition name a unique one) and says which paths the stand-ins
cover, so that what a later stage says about them is not shown (it would be about
the stand-in, not the user's text).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from typing import Any

from botocore.model import ListShape, MapShape, Shape, StructureShape

from tunelab.domain.errors import Violation
from tunelab.domain.sagemaker_model import input_shape

CREATE = "CreateHyperParameterTuningJob"
MAX_JOBS = "HyperParameterTuningJobConfig.ResourceLimits.MaxNumberOfTrainingJobs"
_TOKEN = re.compile(r"\.?([A-Za-z_][\w]*)|\[(\d+)\]|\[('(?:[^'\\]|\\.)*'|\"[^\"]*\")\]")
_RANGE_ITEM = re.compile(
    r"^(.*ParameterRanges\.(Integer|Continuous|Categorical)ParameterRanges\[\d+\])"
)
_DEFINITION_NAME = re.compile(r"^TrainingJobDefinitions\[(\d+)\]\.DefinitionName$")
_STAND_IN_TEXT = {
    "HyperParameterTuningJobName": "tunelab-stand-in-name",
    "RoleArn": "arn:aws:iam::123456789012:role/tunelab-stand-in",
    "S3Uri": "s3://tunelab-stand-in/",
    "ChannelName": "tunelab-stand-in",
}
_STAND_IN_RANGES = {
    "Integer": {"MinValue": "1", "MaxValue": "2"},
    "Continuous": {"MinValue": "0.1", "MaxValue": "0.9"},
    "Categorical": {"Values": ["a", "b"]},
}


def covers(scopes: Iterable[str], path: str) -> bool:
    """Whether ``path`` is one of ``scopes``, inside one, or encloses one."""
    for scope in scopes:
        for inner, outer in ((path, scope), (scope, path)):
            if inner == outer or (outer and inner.startswith(outer) and inner[len(outer)] in ".["):
                return True
    return False


def _tokens(path: str) -> list[str | int] | None:
    found: list[str | int] = []
    at = 0
    while at < len(path):
        m = _TOKEN.match(path, at)
        if m is None:
            return None
        name, index, key = m.groups()
        found.append(int(index) if index else name if name else key[1:-1])
        at = m.end()
    return found


def _locate(document: dict[str, Any], tokens: list[str | int]) -> tuple[Any, Shape | None] | None:
    """The container holding the last token and the shape of the member it names
    (None: not in the service model); None when the path is not in ``document``."""
    node: Any = document
    shape: Shape | None = input_shape(CREATE)
    for token in tokens[:-1]:
        try:
            node = node[token]
        except (KeyError, IndexError, TypeError):
            return None
        shape = _child(shape, token)
    last = tokens[-1]
    try:
        node[last]
    except (KeyError, IndexError, TypeError):
        return None
    return node, _child(shape, last)


def value_at(document: dict[str, Any], path: str) -> Any:
    """The value at ``path`` in ``document``; None when there is none."""
    tokens = _tokens(path) if path else None
    located = _locate(document, tokens) if tokens else None
    return located[0][tokens[-1]] if located is not None and tokens else None


def _child(shape: Shape | None, token: str | int) -> Shape | None:
    if isinstance(shape, StructureShape) and isinstance(token, str):
        return shape.members.get(token)
    if isinstance(shape, ListShape):
        return shape.member
    if isinstance(shape, MapShape):
        return shape.value
    return None


def _required(tokens: list[str | int]) -> bool:
    parent: Shape | None = input_shape(CREATE)
    for token in tokens[:-1]:
        parent = _child(parent, token)
    return isinstance(parent, StructureShape) and tokens[-1] in parent.required_members


def _stand_in_value(shape: Shape | None) -> Any:
    """The smallest valid value of a scalar shape; None when there is no obvious one."""
    if shape is None:
        return None
    kind, meta = shape.type_name, shape.metadata
    if kind in ("integer", "long"):
        return max(int(meta.get("min", 1)), 1)
    if kind in ("float", "double"):
        return float(meta.get("min", 0))
    if kind == "boolean":
        return False
    if kind == "string" and meta.get("enum"):
        return meta["enum"][0]
    return _STAND_IN_TEXT.get(shape.name)


def _repair_one(document: dict[str, Any], path: str) -> list[str]:
    """Put a stand-in at ``path``; the paths it covers (none when it could not)."""
    if m := _RANGE_ITEM.match(path):
        item_path, kind = m.group(1), m.group(2)
        located = _locate(document, _tokens(item_path) or [""])
        if located is None:
            return []
        container, _ = located
        index = int(item_path.rsplit("[", 1)[1][:-1])
        old = container[index] if isinstance(container[index], dict) else {}
        container[index] = {"Name": old.get("Name", f"range-{index}"), **_STAND_IN_RANGES[kind]}
        return [item_path, MAX_JOBS]  # its bounds also change the number of combinations
    if m := _DEFINITION_NAME.match(path):
        located = _locate(document, _tokens(path) or [""])
        if located is not None:
            located[0]["DefinitionName"] = f"tunelab-stand-in-{m.group(1)}"
            return [path]
        return []
    tokens = _tokens(path)
    located = _locate(document, tokens) if tokens else None
    if located is None or tokens is None:
        return []
    container, shape = located
    last = tokens[-1]
    optional = shape is None or not _required(tokens)
    if isinstance(last, str) and isinstance(container, dict) and optional:
        del container[last]  # an unknown member, or one that may be left out
        return [path]
    value = _stand_in_value(shape)
    if value is None:
        return []
    container[last] = value
    return [path]


def repair(document: dict[str, Any], violations: Iterable[Violation]) -> tuple[dict, list[str]]:
    """A copy of ``document`` with stand-ins for what ``violations`` refused, and the
    paths the stand-ins cover (empty: nothing could be stood in for)."""
    copied = copy.deepcopy(document)
    scopes: list[str] = []
    for path in dict.fromkeys(v.path for v in violations if v.path):
        scopes += _repair_one(copied, path)
    return copied, scopes
