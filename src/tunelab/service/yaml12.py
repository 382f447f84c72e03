"""YAML documents (job files, algorithm files, ``roles.yaml``, the console's uploads)
with plain scalars read as YAML 1.2 reads them, not as PyYAML's YAML 1.1 rules do.

The request's values are strings on the wire (enums, hyperparameters, bounds), and YAML
1.1 turns some unquoted words into other types: ``Off``, ``no``, ``yes`` and ``on`` into
booleans (so ``TrainingJobEarlyStoppingType: Off`` was refused as "got False"), ``1:30``
into the number 90 (base 60), ``2026-11-30`` into a date. Here only ``true`` and
``false`` (in any of YAML's three spellings) are booleans, and times and dates stay
strings; numbers, nulls, anchors and merge keys read as before.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"

_YAML_12 = (
    (_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), "tTfF"),
    (  # YAML 1.1's integers but base 60
        _INT,
        re.compile(
            r"""^(?:[-+]?0b[0-1_]+
            |[-+]?0[0-7_]+
            |[-+]?(?:0|[1-9][0-9_]*)
            |[-+]?0x[0-9a-fA-F_]+)$""",
            re.X,
        ),
        "-+0123456789",
    ),
    (  # YAML 1.1's floats but base 60
        _FLOAT,
        re.compile(
            r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
            |\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
            |[-+]?\.(?:inf|Inf|INF)
            |\.(?:nan|NaN|NAN))$""",
            re.X,
        ),
        "-+0123456789.",
    ),
)


def _resolvers() -> dict[str | None, list[tuple[str, re.Pattern[str]]]]:
    """SafeLoader's implicit resolvers with those of :data:`_YAML_12` in place of its
    own, and no timestamps."""
    replaced = {tag for tag, _, _ in _YAML_12} | {_TIMESTAMP}
    resolvers: dict[str | None, list[tuple[str, re.Pattern[str]]]] = {}
    for first, entries in yaml.SafeLoader.yaml_implicit_resolvers.items():
        kept = [(tag, pattern) for tag, pattern in entries if tag not in replaced]
        if kept:
            resolvers[first] = kept
    for tag, pattern, firsts in _YAML_12:
        for first in firsts:
            resolvers.setdefault(first, []).append((tag, pattern))
    return resolvers


class Yaml12Loader(yaml.SafeLoader):
    """PyYAML's safe loader with the scalar rules of the module docstring."""


Yaml12Loader.yaml_implicit_resolvers = _resolvers()


def load_yaml(text: str) -> Any:
    """The document in ``text`` (``yaml.YAMLError`` when it is not valid YAML)."""
    return yaml.load(text, Loader=Yaml12Loader)
