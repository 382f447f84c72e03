"""CloudWatch Logs filter patterns for unstructured log events (FilterLogEvents'
``filterPattern``), the term-matching subset.

- An empty pattern matches every event.
- ``ERROR Exception``: every term occurs in the message (case-sensitive substrings).
- ``"Failed to process"``: a quoted phrase, spaces included.
- ``?ERROR ?WARN``: at least one of the ``?`` terms occurs.
- ``ERROR -Exiting``: no ``-`` term occurs.

JSON (``{ $.level = "error" }``), space-delimited (``[ip, user, ...]``) and
regular-expression (``%...%``) patterns are refused with ``InvalidParameterException``
saying so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tunelab.api.wire import ApiError

Matcher = Callable[[str], bool]
SUPPORTED = 'terms, "quoted phrases", ?any-of terms and -excluded terms'


def _refuse(message: str) -> ApiError:
    return ApiError("InvalidParameterException", f"filterPattern: {message}")


@dataclass(frozen=True)
class TermPattern:
    required: tuple[str, ...]
    any_of: tuple[str, ...]
    excluded: tuple[str, ...]

    def __call__(self, message: str) -> bool:
        return (
            all(term in message for term in self.required)
            and (not self.any_of or any(term in message for term in self.any_of))
            and not any(term in message for term in self.excluded)
        )


def _terms(pattern: str) -> list[tuple[str, str]]:
    """(operator: "", "?" or "-", term) of each term of ``pattern``."""
    found: list[tuple[str, str]] = []
    position = 0
    while position < len(pattern):
        if pattern[position].isspace():
            position += 1
            continue
        operator = pattern[position] if pattern[position] in "?-" else ""
        start = position + len(operator)
        if start < len(pattern) and pattern[start] == '"':
            close = pattern.find('"', start + 1)
            if close < 0:
                raise _refuse(f"the quote opened at character {start + 1} is not closed")
            term, position = pattern[start + 1 : close], close + 1
        else:
            end = start
            while end < len(pattern) and not pattern[end].isspace():
                end += 1
            term, position = pattern[start:end], end
        if not term:
            raise _refuse(f"an empty term at character {start + 1}")
        found.append((operator, term))
    return found


def compile_filter(pattern: str | None) -> Matcher:
    """The predicate of a filter pattern; ``InvalidParameterException`` for a pattern
    that is malformed or of a kind tunelab does not match."""
    text = (pattern or "").strip()
    if text[:1] in ("{", "[", "%"):
        kind = {"{": "JSON", "[": "space-delimited", "%": "regular-expression"}[text[0]]
        raise _refuse(f"{kind} patterns are not supported by tunelab; use {SUPPORTED}")
    terms = _terms(text)
    return TermPattern(
        required=tuple(t for op, t in terms if op == ""),
        any_of=tuple(t for op, t in terms if op == "?"),
        excluded=tuple(t for op, t in terms if op == "-"),
    )
