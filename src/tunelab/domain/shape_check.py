"""Check a request document against botocore's SageMaker shapes (the model is the schema).

Rules, all read from the shape objects: the JSON type of every value (``null`` included:
it is a type error, as for botocore's client-side validator), required members,
``min``/``max`` (string length, list/map entry count, numeric value), ``enum``,
``pattern`` (a full match), map keys and values, and unknown structure members (likely
typos, with a suggestion when one is close), and that every string is text (no lone
surrogate: it could not be encoded as UTF-8). Each violation names its field path, e.g.
``TrainingJobDefinitions[1].StaticHyperParameters['lr']``.

The model's patterns are Java regular expressions, translated for Python's ``re`` by
:mod:`tunelab.domain.java_patterns`. Lengths count code points (Java counts UTF-16 units).

tunelab's local extension: tunelab runs training jobs locally, so a string whose shape
is named ``S3Uri`` (``S3DataSource.S3Uri``, ``CheckpointConfig.S3Uri``,
``OutputDataConfig.S3OutputPath``, and CreateTrainingJob's debugger, profiler and
TensorBoard output paths) also accepts a ``file://`` URI or an absolute local path
(starting with ``/``) besides the model's ``(https|s3)://...``; a refused one is told so
(and where relative paths work). A ``TrainingImage`` may not be a relative ``file:``
location either: only a job file gives it a folder to be relative to.

SageMaker's rules the model leaves out but that hold for every value of a shape: a
``float``/``double`` or a timestamp number is finite (``1e400`` reads as infinity), a
``TagKey`` does not start with the reserved ``aws:``. All else stays strict.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from botocore.model import ListShape, MapShape, Shape, StructureShape

from tunelab.domain.errors import Violation
from tunelab.domain.java_patterns import compile_pattern
from tunelab.domain.sagemaker_model import input_shape
from tunelab.domain.tags import reserved_tag_key

LOCAL_URI_SHAPES = frozenset({"S3Uri"})
PROGRAM_MEMBER = "TrainingImage"
"""The member naming a training program (tuning and training jobs, CreateAlgorithm)."""
_LOCAL_URI = re.compile(r"file://.+|/.*")
_INT_BITS = {"integer": 32, "long": 64}
_MAX_ENUM_LISTED = 12


def check_input(operation: str, document: Any) -> list[Violation]:
    """Every violation of ``operation``'s input shape in ``document``, in document order
    (a structure's missing required members come before its present members). Raises
    botocore's ``OperationNotFoundError`` for an operation the model does not have."""
    if not isinstance(document, Mapping):
        return [Violation("", f"the {operation} request must be an object; got {_got(document)}")]
    return check_shape(document, input_shape(operation), "")


def check_shape(value: Any, shape: Shape, path: str) -> list[Violation]:
    """Every violation of ``shape`` by ``value``, found at field path ``path``."""
    out: list[Violation] = []
    _check(value, shape, path, out)
    return out


def _check(value: Any, shape: Shape, path: str, out: list[Violation]) -> None:
    kind = shape.type_name
    expected, type_ok = _TYPES.get(kind, ("", lambda _: True))
    if not type_ok(value):
        out.append(Violation(path, f"must be {expected}; got {_got(value)}"))
    elif isinstance(shape, StructureShape):
        missing = [name for name in shape.required_members if name not in value]
        out.extend(Violation(_join(path, name), "is required") for name in missing)
        for key, item in value.items():
            member = shape.members.get(key) if isinstance(key, str) else None
            if member is None:
                out.append(Violation(_join(path, str(key)), _unknown(str(key), shape)))
            else:
                _check(item, member, _join(path, key), out)
    elif isinstance(shape, ListShape):
        _limits(len(value), shape, path, out, "item")
        for i, item in enumerate(value):
            _check(item, shape.member, f"{path}[{i}]", out)
    elif isinstance(shape, MapShape):
        _limits(len(value), shape, path, out, "entry")
        for key, item in value.items():
            where = f"{path}[{key!r}]"
            for v in check_shape(key, shape.key, where):
                out.append(Violation(v.path, f"key {v.message}"))
            _check(item, shape.value, where, out)
    elif kind == "string":
        _check_string(value, shape, path, out)
    elif kind in _INT_BITS:
        bound = 2 ** (_INT_BITS[kind] - 1)
        if not -bound <= value < bound:
            out.append(Violation(path, f"must be between {-bound} and {bound - 1}; got {value}"))
        _limits(value, shape, path, out, "")
    elif kind in ("float", "double"):
        if not _finite(value):
            out.append(Violation(path, _not_finite_message(value)))
            return
        _limits(value, shape, path, out, "")
    elif kind == "timestamp" and _is_number(value) and not _finite(value):
        out.append(Violation(path, _not_finite_message(value)))


def _check_string(value: str, shape: Shape, path: str, out: list[Violation]) -> None:
    if (problem := _not_text(value)) is not None:
        out.append(Violation(path, problem))
        return
    _limits(len(value), shape, path, out, "character")
    enum: list[str] = shape.metadata.get("enum", [])
    if enum and value not in enum:
        out.append(Violation(path, _enum_message(value, enum, shape.name)))
    if path.rpartition(".")[2] == PROGRAM_MEMBER and _relative_file(value):
        out.append(Violation(path, f"got {_short(value)}: {_relative_hint(value)}"))
    if shape.name == "TagKey" and (problem := reserved_tag_key(value)) is not None:
        out.append(Violation(path, problem))
    pattern = shape.metadata.get("pattern")
    if pattern is None or compile_pattern(pattern).fullmatch(value):
        return
    if shape.name not in LOCAL_URI_SHAPES:
        out.append(Violation(path, f"must match the pattern {pattern}; got {_short(value)}"))
    elif not _LOCAL_URI.fullmatch(value):
        out.append(Violation(path, _local_uri_message(value, pattern)))


def _not_text(value: str) -> str | None:
    """Why ``value`` cannot be UTF-8 (nor stored, written to a file or put in a program's
    environment): a lone surrogate, which JSON's ``\\ud800``-style escapes can make; None
    when it is text."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        return (
            "must be text that can be encoded as UTF-8 (a JSON \\ud800-\\udfff escape alone "
            f"is not a character); got a lone surrogate U+{ord(value[error.start]):04X} at "
            f"position {error.start} of {_short(value)}"
        )
    return None


def _local_uri_message(value: str, pattern: str) -> str:
    """Why ``value`` is no location for an ``S3Uri`` shape (tunelab's local extension):
    what is accepted, and for a relative path, where relative paths work."""
    message = (
        f"must match the pattern {pattern}, or be a file:// URI or an absolute local path; "
        f"got {_short(value)}"
    )
    if "://" in value or value.startswith("/"):
        return message
    return f"{message}: {_relative_hint(value)}"


def _relative_file(value: str) -> bool:
    """Whether ``value`` is a relative ``file:`` location (``file:train.py``)."""
    return value.startswith("file:") and not value.startswith("file:/")


def _relative_hint(value: str) -> str:
    """Where the relative location ``value`` works, and what to write here instead."""
    relative = value.removeprefix("file:")
    return (
        "a relative path is resolved only in a job file, against its folder, by "
        "`tunelab run` and `tunelab validate`; here write an absolute one "
        f"(file:///path/to/{relative})"
    )


def _finite(value: float) -> bool:
    """Whether the number ``value`` is a finite double (a huge integer is not)."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _not_finite_message(value: float) -> str:
    shown = "a number beyond a double's range" if isinstance(value, int) else repr(value)
    return (
        "must be a finite number (JSON has no NaN or Infinity; a double is at most "
        f"1.8e308); got {shown}"
    )


def _limits(n: float, shape: Shape, path: str, out: list[Violation], unit: str) -> None:
    """``min``/``max`` of ``shape`` against ``n`` (a value, or a count of ``unit``)."""
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and n < low:
        out.append(Violation(path, _bound_text("least", low, n, unit)))
    if high is not None and n > high:
        out.append(Violation(path, _bound_text("most", high, n, unit)))


def _bound_text(word: str, bound: float, n: float, unit: str) -> str:
    if unit == "character":
        return f"must be at {word} {_plural(bound, unit)} long; got {n}"
    if unit:
        return f"must have at {word} {_plural(bound, unit)}; got {n}"
    return f"must be at {word} {bound}; got {n}"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_timestamp(value: Any) -> bool:
    try:
        return _is_number(value) or bool(datetime.fromisoformat(value))
    except (TypeError, ValueError):
        return False


_TYPES: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "structure": ("an object", lambda v: isinstance(v, Mapping)),
    "map": ("an object", lambda v: isinstance(v, Mapping)),
    "list": ("a list", lambda v: isinstance(v, list | tuple)),
    "string": ("a string", lambda v: isinstance(v, str)),
    "integer": ("an integer", _is_int),
    "long": ("an integer", _is_int),
    "float": ("a number", _is_number),
    "double": ("a number", _is_number),
    "boolean": ("a boolean", lambda v: isinstance(v, bool)),
    "timestamp": ("a timestamp (epoch seconds or an ISO-8601 string)", _is_timestamp),
    "blob": ("binary data", lambda v: isinstance(v, bytes | bytearray | str)),
}


def _unknown(key: str, shape: StructureShape) -> str:
    names = list(shape.members)
    close = difflib.get_close_matches(key, names, n=1, cutoff=0.7)
    if close:
        return f"is not a field of {shape.name} (likely a typo; did you mean {close[0]!r}?)"
    return f"is not a field of {shape.name} (valid fields: {', '.join(names)})"


def _enum_message(value: str, enum: list[str], name: str) -> str:
    """All values of a short enum, a count and examples for a long one (225 instance
    types), plus a suggestion for a near miss such as ``OFF`` for ``Off``."""
    if len(enum) <= _MAX_ENUM_LISTED:
        text = f"must be one of {', '.join(enum)}; got {_short(value)}"
    else:
        examples = ", ".join(enum[:3])
        text = f"must be one of the {len(enum)} values of {name} (e.g. {examples}, ...)"
        text += f"; got {_short(value)}"
    folded = {v.casefold(): v for v in enum}
    close = difflib.get_close_matches(value.casefold(), list(folded), n=1, cutoff=0.8)
    return f"{text} (did you mean {folded[close[0]]!r}?)" if close else text


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _plural(n: float, unit: str) -> str:
    return f"{n} {unit}" if n == 1 else f"{n} {'entries' if unit == 'entry' else unit + 's'}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _got(value: Any) -> str:
    if value is None:
        return "null"
    kinds = ((bool, "a boolean"), (int, "an integer"), (float, "a number"), (str, "a string"))
    kinds += ((list | tuple, "a list"), (Mapping, "an object"))
    kind = next((k for t, k in kinds if isinstance(value, t)), type(value).__name__)
    return f"{_short(value)} ({kind})"
