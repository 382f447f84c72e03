"""Text every backend can store, whatever a user or a training program put in it.

PostgreSQL's ``text`` and ``varchar`` cannot hold NUL (U+0000), and no backend can
encode a lone surrogate (U+D800..U+DFFF, e.g. from a JSON ``"\\ud800"``) as UTF-8:
either one in a failure reason, a metric name or a tag value made the whole write fail,
and a tuning job whose write fails is rerun forever. So every text column of the schema
is a :class:`StorableString` or :class:`StorableText`: on the way in (inserts, updates
and the values compared in ``WHERE``), each such character becomes U+FFFD, the Unicode
replacement character, on SQLite and PostgreSQL alike, so both store, and return, the
same value. Nothing else changes; values read back are not touched.

JSON columns (request documents, hyperparameters, status messages) need none of this:
they are stored as JSON text, where NUL and lone surrogates are ``\\u`` escapes, and
come back exactly as given on both backends.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import String, Text
from sqlalchemy.types import TypeDecorator

REPLACEMENT = "\ufffd"
"""What an unstorable character becomes: U+FFFD REPLACEMENT CHARACTER."""
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(value: str) -> str:
    """``value`` with each NUL and lone surrogate replaced by ``REPLACEMENT``."""
    if value.isascii() and "\x00" not in value:
        return value  # the usual case, without a regex scan
    return _UNSTORABLE.sub(REPLACEMENT, value)


class _Storable(TypeDecorator[str]):
    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        return storable(value) if isinstance(value, str) else value


class StorableString(_Storable):
    """``String(length)`` whose values are stored as :func:`storable` makes them."""

    impl = String
    cache_ok = True  # SQLAlchemy reads it from each class itself


class StorableText(_Storable):
    """``Text`` whose values are stored as :func:`storable` makes them."""

    impl = Text
    cache_ok = True
