"""Request documents read from files: a tuning job file, an algorithm file, a job file
uploaded to the console. RFC 8259 JSON as the API takes it (:mod:`.strict_json`), or YAML
with YAML 1.2's scalars (:mod:`.yaml12`); either way nested at most ``MAX_DEPTH`` levels,
with integers of a readable length. Errors name the file, a syntax error its line and
column."""

from __future__ import annotations

from typing import Any

import yaml

from tunelab.domain.errors import ValidationError
from tunelab.service.strict_json import (
    TOO_DEEP,
    JsonRefused,
    check_document,
    load_strict,
    long_number,
)
from tunelab.service.yaml12 import Yaml12Loader


def is_json(name: str, text: str) -> bool:
    """Whether the file ``name`` is read as JSON: a ``.json`` name, or a name that is not
    ``.yaml``/``.yml`` and text that starts with ``{``."""
    lowered = name.lower()
    return lowered.endswith(".json") or (
        not lowered.endswith((".yaml", ".yml")) and text.lstrip().startswith("{")
    )


def parse_document(name: str, text: str) -> Any:
    """The document in ``text``, read from the file ``name`` (:func:`is_json` decides
    how). Raises ``ValidationError`` starting with ``name``."""
    if is_json(name, text):
        try:
            return load_strict(text)
        except JsonRefused as error:
            if error.syntax is not None:
                syntax = error.syntax
                raise ValidationError(
                    f"{name}:{syntax.lineno}:{syntax.colno}: not valid JSON: {syntax.msg}"
                ) from None
            raise ValidationError(f"{name}: {error.message('the file')}") from None
    try:
        document = yaml.load(text, Loader=_DocumentLoader)
    except RecursionError:
        raise ValidationError(f"{name}: the file {TOO_DEEP}") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{name}:{mark.line + 1}:{mark.column + 1}" if mark else name
        problem = getattr(error, "problem", None) or str(error)
        raise ValidationError(f"{where}: not valid YAML: {problem}") from None
    try:
        check_document(document)
    except JsonRefused as error:
        raise ValidationError(f"{name}: {error.message('the file')}") from None
    return document


class _DocumentLoader(Yaml12Loader):
    """YAML 1.2's scalars (:mod:`.yaml12`), refusing an integer too long to read at its
    line and column (Python's ``int`` raises a ``ValueError`` naming
    ``sys.set_int_max_str_digits``)."""

    def construct_yaml_int(self, node: yaml.ScalarNode) -> Any:
        try:
            return super().construct_yaml_int(node)
        except ValueError:
            digits = sum(c.isdigit() for c in str(node.value))
            raise yaml.constructor.ConstructorError(
                None, None, long_number(digits), node.start_mark
            ) from None


_DocumentLoader.add_constructor("tag:yaml.org,2002:int", _DocumentLoader.construct_yaml_int)
