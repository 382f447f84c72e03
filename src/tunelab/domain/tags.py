"""Rules of the ``Tags`` a request carries that SageMaker's model cannot express."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from tunelab.domain.errors import Violation

RESERVED_PREFIX = "aws:"


def reserved_tag_key(key: str) -> str | None:
    """Why ``key`` cannot be a tag key (it starts with ``aws:`` in any case, a prefix AWS
    keeps for its own tags), or None when it can."""
    if key[: len(RESERVED_PREFIX)].lower() != RESERVED_PREFIX:
        return None
    return (
        f"tag keys starting with {RESERVED_PREFIX!r} (in any case) are reserved for AWS's "
        f"own use; got {key!r}"
    )


def repeated_tag_keys(tags: Iterable[tuple[str, str]], path: str = "Tags") -> Iterator[Violation]:
    """A violation for each ``(key, value)`` pair whose key an earlier pair has."""
    seen: set[str] = set()
    for index, (key, _) in enumerate(tags):
        if key in seen:
            yield Violation(
                f"{path}[{index}].Key",
                f"the key {key!r} is given more than once; each tag key may appear once per "
                "request",
            )
        seen.add(key)
