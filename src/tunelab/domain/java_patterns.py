"""The patterns of botocore's SageMaker model are Java regular expressions; this module
compiles them for Python's ``re``: ``\\p{L}``-style Unicode general categories become explicit
code-point ranges, POSIX classes such as ``\\p{Alnum}`` ASCII ranges, ``.`` excludes Java's
line terminators, and ``\\d``, ``\\w``, ``\\s`` keep Java's ASCII meaning (``re.ASCII``).
Constructs whose meaning would silently change (``&&``, nested classes, ``\\Q``, ``\\Z``,
``\\v``...) raise ``ValueError``. Pure: no I/O."""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from itertools import groupby

_POSIX = {
    "Lower": "a-z",
    "Upper": "A-Z",
    "Alpha": "a-zA-Z",
    "Digit": "0-9",
    "Alnum": "a-zA-Z0-9",
    "XDigit": "0-9a-fA-F",
    "Space": r" \t\n\x0b\f\r",
    "Punct": re.escape("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"),
}
_UNSUPPORTED_ESCAPES = frozenset("QEhHRXGzZvkce")
_JAVA_DOT = r"[^\n\r\x85\u2028\u2029]"
# Planes 4-13 hold no assigned characters; 15-16 only private use (category Co).
_PLANES = (range(0x40000), range(0xE0000, 0xF0000))


@cache
def compile_pattern(java_pattern: str) -> re.Pattern[str]:
    """``java_pattern`` (a model ``pattern``) compiled with Python's ``re``, to be used
    with ``fullmatch``; cached. ``ValueError`` for a construct it cannot translate."""
    try:
        return re.compile(_translate(java_pattern), re.ASCII)
    except re.error as error:
        raise ValueError(f"cannot compile model pattern {java_pattern!r}: {error}") from error


def _translate(java: str) -> str:
    out: list[str] = []
    i, class_start = 0, -1  # class_start: index just after an open '[' or '[^', else -1
    while i < len(java):
        c, nxt = java[i], java[i + 1 : i + 2]
        if c == "\\" and nxt in ("p", "P") and java[i + 2 : i + 3] == "{":
            end = java.index("}", i)
            body = _property(java[i + 3 : end])
            if nxt == "P" and class_start >= 0:
                raise ValueError(f"negated property inside a class in {java!r}")
            out.append(body if class_start >= 0 else f"[{'^' if nxt == 'P' else ''}{body}]")
            i = end + 1
        elif c == "\\":
            if nxt in _UNSUPPORTED_ESCAPES or java.startswith("\\x{", i):
                raise ValueError(f"unsupported escape \\{nxt} in {java!r}")
            out.append(java[i : i + 2])
            i += 2
        elif class_start < 0 and c == "[":
            class_start = i + (2 if nxt == "^" else 1)
            out.append(java[i:class_start])
            i = class_start
        else:
            if class_start >= 0 and (c == "[" or java.startswith("&&", i)):
                raise ValueError(f"nested or intersected character class in {java!r}")
            if c == "]" and i > class_start >= 0:
                class_start = -1
            out.append(_JAVA_DOT if c == "." and class_start < 0 else c)
            i += 1
    return "".join(out)


def _property(name: str) -> str:
    """The body of a character class (no brackets) equivalent to Java's ``\\p{name}``."""
    if name in _POSIX:
        return _POSIX[name]
    category = name.removeprefix("Is")
    by_category = _category_runs().items()
    runs = sorted(r for cat, rs in by_category if cat.startswith(category) for r in rs)
    if not runs or len(category) > 2 or category.startswith("C"):
        raise ValueError(f"unsupported Unicode property \\p{{{name}}}")
    merged = [runs[0]]
    for start, end in runs[1:]:  # coalesce adjacent runs (Lu, Ll, Lu, ... -> one range)
        if start == merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return "".join(f"\\U{a:08x}" if a == b else f"\\U{a:08x}-\\U{b:08x}" for a, b in merged)


@cache
def _category_runs() -> dict[str, list[tuple[int, int]]]:
    """Runs of consecutive code points by Unicode general category (``Lu``, ``Zs``...)."""
    runs: dict[str, list[tuple[int, int]]] = {}
    for plane in _PLANES:
        for cat, group in groupby(plane, lambda cp: unicodedata.category(chr(cp))):
            points = list(group)
            runs.setdefault(cat, []).append((points[0], points[-1]))
    return runs
