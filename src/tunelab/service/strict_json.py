"""Reading request documents as RFC 8259 JSON, for the API's bodies and for job files.

Python's ``json`` goes beyond the RFC in ways a request must not: it takes the tokens
``NaN``, ``Infinity`` and ``-Infinity`` (no JSON parser of AWS's does), and it raises
Python's own errors for an integer of more digits than ``sys.get_int_max_str_digits()``
or a document nested deeper than the interpreter's recursion limit. :func:`load_strict`
refuses all three with :class:`JsonRefused`, whose message names the field where it can.
"""

from __future__ import annotations

import json
import sys
from typing import Any

MAX_DEPTH = 64
"""How deeply a request document may nest objects and arrays (SageMaker's shapes need
fewer than 10 levels): deeper documents are refused before anything walks them."""
TOO_DEEP = f"nests objects and arrays more than {MAX_DEPTH} levels deep"


class JsonRefused(ValueError):
    """A document that is not RFC 8259 JSON tunelab can read. ``problem`` is a predicate
    for the whole document (``path`` None: "is not valid JSON: ...", "nests ...") or says
    what is wrong at the field ``path`` ("NaN is not a JSON number ..."); ``syntax`` is
    the parser's error for text that is not JSON."""

    def __init__(
        self,
        problem: str,
        path: str | None = None,
        syntax: json.JSONDecodeError | None = None,
    ) -> None:
        super().__init__(problem)
        self.problem, self.path, self.syntax = problem, path, syntax

    def message(self, whole: str) -> str:
        """The message, with ``whole`` ("the body", a file's name) as the subject when
        no field is to blame."""
        if self.path is None:
            return f"{whole} {self.problem}"
        return f"{self.path or whole}: {self.problem}"


class _Refused:
    """Stands in for a value the parser met but must not pass on (found afterwards by
    :func:`_first_refused`, which knows its field path)."""

    def __init__(self, problem: str) -> None:
        self.problem = problem


def _constant(token: str) -> _Refused:
    return _Refused(
        f"{token} is not a JSON number (RFC 8259 JSON has no NaN or Infinity; a number "
        "must be finite)"
    )


def _integer(digits: str) -> int | _Refused:
    try:
        return int(digits)
    except ValueError:  # more digits than the interpreter converts
        return _Refused(long_number(len(digits.lstrip("-"))))


def long_number(digits: int) -> str:
    """Why an integer of ``digits`` digits is refused (a job file's YAML says it too)."""
    return (
        f"a number of {digits} digits is too long to read (at most "
        f"{sys.get_int_max_str_digits()} digits)"
    )


def load_strict(text: str | bytes) -> Any:
    """The JSON value in ``text``. Raises :class:`JsonRefused` for text that is not
    JSON (``"is not valid JSON: ..."``, with Python's position), for a ``NaN``,
    ``Infinity`` or ``-Infinity`` token or an integer too long to read (naming its field
    path), and for a value nested more than :data:`MAX_DEPTH` levels."""
    try:
        value = json.loads(text, parse_constant=_constant, parse_int=_integer)
    except RecursionError:
        raise JsonRefused(TOO_DEEP) from None
    except json.JSONDecodeError as error:
        raise JsonRefused(f"is not valid JSON: {error}", syntax=error) from None
    except (ValueError, UnicodeDecodeError) as error:
        raise JsonRefused(f"is not valid JSON: {error}") from None
    check_document(value)
    return value


def check_document(value: Any) -> None:
    """Raise :class:`JsonRefused` when ``value`` nests more than :data:`MAX_DEPTH`
    levels or holds a value :func:`load_strict` refused (iterative: safe at any depth)."""
    if nesting_exceeds(value, MAX_DEPTH):
        raise JsonRefused(TOO_DEEP)
    found = _first_refused(value)
    if found is not None:
        path, refused = found
        raise JsonRefused(refused.problem, path)


def nesting_exceeds(value: Any, limit: int) -> bool:
    """Whether ``value`` nests dicts and lists more than ``limit`` levels (iterative:
    safe for any depth)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _first_refused(value: Any) -> tuple[str, _Refused] | None:
    """(field path, stand-in) of the first refused value in document order, or None."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, _Refused):
            return path, item
        if isinstance(item, dict):
            children = [(f"{path}.{key}" if path else key, v) for key, v in item.items()]
        elif isinstance(item, list):
            children = [(f"{path}[{i}]", v) for i, v in enumerate(item)]
        else:
            continue
        stack.extend(reversed(children))
    return None
