"""Metric definition regexes: what tunelab accepts (:func:`regex_problem`). A regex must
compile with Python's ``re``, and stay small with its repeats written out, since the
``regex`` package that reads metrics builds every repeat out in memory."""

from __future__ import annotations

import re
import warnings
from re import _constants, _parser  # type: ignore[attr-defined]
from typing import Any

MAX_METRIC_REGEX_SIZE = 10_000
"""What a metric regex may come to with its repeats written out (see :func:`_written_out_size`).
The ``regex`` package that reads metrics builds every ``{m}``, ``{m,n}`` and ``{m,}``
repeat out in memory (~150-250 bytes an item: ``a{10000000}`` needs over 2 GB) where ``re``
does not; at this cap one compiled regex takes at most a few MB. Real metric regexes come
to a few hundred: one of SageMaker's 500 characters without repeats comes to 500."""

_TOO_MANY = 10**18
"""Where :func:`_written_out_size` stops counting."""


def regex_problem(pattern: str) -> str | None:
    """None when Python's ``re`` compiles ``pattern`` and the ``regex`` package can compile
    it in little memory, else why not, worded to follow the field's path: ``is not a valid
    regular expression: <reason>``, or the rule its repeat counts break. Every error ``re``
    raises for a pattern counts: ``re.error``, OverflowError (a repeat count such as
    ``a{4294967296}``), ValueError (clashing flags such as ``(?u)(?a)``) and
    RecursionError (groups nested too deeply). Repeats are measured on ``re``'s parse,
    without compiling ``pattern`` with ``regex`` (:func:`_written_out_size`)."""
    try:
        with warnings.catch_warnings():  # FutureWarnings (e.g. "[[" as a nested set)
            warnings.simplefilter("ignore", FutureWarning)
            re.compile(pattern)
            size = _written_out_size(_parser.parse(pattern))
    except RecursionError:
        return "is not a valid regular expression: its groups are nested too deeply"
    except (re.error, OverflowError, ValueError) as error:
        return f"is not a valid regular expression: {error}"
    if size > MAX_METRIC_REGEX_SIZE:
        here = f"{size}" if size < _TOO_MANY else f"over {_TOO_MANY:.0e}"
        return (
            "a metric regex, its repeats written out in full ((?:ab){2,3} as ababab), is at "
            f"most {MAX_METRIC_REGEX_SIZE} characters long (here: {here}): the regex package "
            "that reads metrics builds every repeat out in memory"
        )
    return _verbose_count_problem(pattern)


def _written_out_size(parsed: Any) -> int:
    """How many items ``parsed`` (a pattern as ``re._parser.parse`` reads it) comes to with
    its repeats written out: each item counts 1 (a group or alternation the sum of its
    parts, at least 1), a repeat the larger of its bounds (its minimum when unbounded, at
    least 1) times its body; capped at :data:`_TOO_MANY`. Allocates nothing per repeat."""
    total = 0
    for op, argument in parsed:
        if op in _REPEATS:
            low, high, body = argument
            count = max(1, low if high == _constants.MAXREPEAT else max(low, high))
            total += count * _written_out_size(body)
        else:
            parts = [_written_out_size(p) for p in _subpatterns(argument)]
            total += max(1, sum(parts))
        if total >= _TOO_MANY:
            return _TOO_MANY
    return max(1, total)


_REPEATS = (_constants.MAX_REPEAT, _constants.MIN_REPEAT, _constants.POSSESSIVE_REPEAT)


def _subpatterns(argument: Any) -> list[Any]:
    """The nested patterns of an item's argument: a group's, an assertion's, each
    alternative of ``|``, both branches of ``(?(1)yes|no)``."""
    found = []
    for part in argument if isinstance(argument, tuple) else (argument,):
        if isinstance(part, _parser.SubPattern):
            found.append(part)
        elif isinstance(part, list):
            found.extend(p for p in part if isinstance(p, _parser.SubPattern))
    return found


_VERBOSE_FLAG = re.compile(r"\(\?[a-zA-Z-]*x")
_SPACED_COUNT = re.compile(
    r"(?<!\\)(?:\\\\)*(\{(?=[^{}]*\d)(?=[^{}]*[\s#])[\d\s,]*(?:#[^\n]*\n[\d\s,]*)*\})"
)
"""An unescaped ``{`` whose count has blanks or ``#`` comments inside the braces."""


def _verbose_count_problem(pattern: str) -> str | None:
    """In verbose mode the ``regex`` package reads ``a{ 100 }`` (blanks or ``#`` comments
    inside the braces) as a repeat, ``re`` as text: such braces are refused, since the
    repeat would go unmeasured and both readings cannot hold."""
    if not _VERBOSE_FLAG.search(pattern):
        return None
    spaced = _SPACED_COUNT.search(pattern)
    if spaced is None:
        return None
    return (
        "a verbose ((?x)) metric regex writes a repeat count without blanks or comments "
        f"inside its braces (here: {spaced.group(1)!r}): the regex package that reads "
        "metrics takes it as a repeat, re as text"
    )
