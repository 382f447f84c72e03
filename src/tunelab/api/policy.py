"""What an access key may do: ``full``, ``read-only`` or a list of operations.

A refusal is ``AccessDeniedException`` with HTTP 400, the status AWS lists for it among
the common errors of its JSON services (DynamoDB, SageMaker); the message reads like
IAM's: ``User: <key id> is not authorized to perform: sagemaker:<Operation> ...``.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Literal

from tunelab.api.sigv4 import AuthError

SERVED_OPERATIONS: tuple[str, ...] = (
    "CreateHyperParameterTuningJob",
    "DescribeHyperParameterTuningJob",
    "ListHyperParameterTuningJobs",
    "StopHyperParameterTuningJob",
    "DeleteHyperParameterTuningJob",
    "ListTrainingJobsForHyperParameterTuningJob",
    "CreateTrainingJob",
    "DescribeTrainingJob",
    "ListTrainingJobs",
    "StopTrainingJob",
    "AddTags",
    "ListTags",
    "DeleteTags",
    "CreateAlgorithm",
    "DescribeAlgorithm",
    "ListAlgorithms",
)
READ_ONLY_PREFIXES = ("Describe", "List")  # ListTags included
FULL = "full"
READ_ONLY = "read-only"
_PREFIX = "sagemaker:"

Kind = Literal["full", "read-only", "operations"]


class PolicyError(ValueError):
    """A policy text that cannot be parsed; the message says what is accepted."""


@dataclass(frozen=True)
class Policy:
    """An access key's permissions. Build with :meth:`parse`; ``str()`` gives text that
    :meth:`parse` turns back into an equal policy."""

    kind: Kind
    operations: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, text: str) -> Policy:
        """``full``, ``read-only`` (any case), or operation names separated by commas
        (whitespace and an IAM-style ``sagemaker:`` prefix allowed). Raises
        :class:`PolicyError` for an empty list or a name tunelab does not serve."""
        stripped = text.strip()
        if stripped.lower() == FULL:
            return cls("full")
        if stripped.lower() == READ_ONLY:
            return cls("read-only")
        names = [n.strip().removeprefix(_PREFIX) for n in stripped.split(",")]
        names = [n for n in names if n]
        if not names:
            raise PolicyError(
                f"empty policy: use '{FULL}', '{READ_ONLY}' or a comma-separated list of "
                f"operations ({', '.join(SERVED_OPERATIONS)})"
            )
        unknown = [n for n in names if n not in SERVED_OPERATIONS]
        if unknown:
            raise PolicyError(_unknown_message(unknown))
        return cls("operations", frozenset(names))

    def allows(self, operation: str) -> bool:
        """Whether a key with this policy may call ``operation`` (a SageMaker operation
        name as in ``X-Amz-Target: SageMaker.<operation>``)."""
        if self.kind == "full":
            return True
        if self.kind == "read-only":
            return operation.startswith(READ_ONLY_PREFIXES)
        return operation in self.operations

    def check(self, operation: str, access_key_id: str) -> None:
        """Raise ``AccessDeniedException`` (400) unless :meth:`allows` ``operation``."""
        if not self.allows(operation):
            action = f"sagemaker:{operation}"
            raise AuthError(
                "AccessDeniedException",
                400,
                f"User: {access_key_id} is not authorized to perform: {action} "
                f"because no identity-based policy allows the {action} action",
            )

    def __str__(self) -> str:
        if self.kind != "operations":
            return self.kind
        return ",".join(op for op in SERVED_OPERATIONS if op in self.operations)


def _unknown_message(unknown: list[str]) -> str:
    parts = []
    for name in unknown:
        close = difflib.get_close_matches(name, SERVED_OPERATIONS, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]}?)" if close else ""
        parts.append(f"'{name}'{hint}")
    return (
        f"unknown operation {', '.join(parts)} in policy; use '{FULL}', '{READ_ONLY}' or a "
        f"comma-separated list of: {', '.join(SERVED_OPERATIONS)}"
    )
