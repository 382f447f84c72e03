"""What an access key may do: ``full``, ``read-only`` or a list of operations.

A refusal is ``AccessDeniedException`` with HTTP 400, the status AWS lists for it among
the common errors of its JSON services (DynamoDB, SageMaker); the message reads like
IAM's: ``User: <key id> is not authorized to perform: sagemaker:<Operation> ...``.

The CloudWatch Logs operations that read training jobs' logs are actions
``logs:<Operation>`` (``logs:GetLogEvents``); they only read, so ``read-only`` allows
them. In a list they may be named with or without ``logs:``.
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
"""The SageMaker operations tunelab serves."""
LOGS_ACTIONS: tuple[str, ...] = (
    "logs:DescribeLogGroups",
    "logs:DescribeLogStreams",
    "logs:GetLogEvents",
    "logs:FilterLogEvents",
)
"""The CloudWatch Logs actions tunelab serves (all of them read)."""
KNOWN = SERVED_OPERATIONS + LOGS_ACTIONS
READ_ONLY_PREFIXES = ("Describe", "List")  # ListTags included
FULL = "full"
READ_ONLY = "read-only"
_PREFIX = "sagemaker:"
_LOGS_PREFIX = "logs:"

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
        names = [_canonical(n.strip()) for n in stripped.split(",")]
        names = [n for n in names if n]
        if not names:
            raise PolicyError(
                f"empty policy: use '{FULL}', '{READ_ONLY}' or a comma-separated list of "
                f"operations ({', '.join(KNOWN)})"
            )
        unknown = [n for n in names if n not in KNOWN]
        if unknown:
            raise PolicyError(_unknown_message(unknown))
        return cls("operations", frozenset(names))

    def allows(self, operation: str) -> bool:
        """Whether a key with this policy may call ``operation`` (a SageMaker operation
        name as in ``X-Amz-Target: SageMaker.<operation>``, or a Logs action
        ``logs:<Operation>``)."""
        if self.kind == "full":
            return True
        if self.kind == "read-only":
            return operation in LOGS_ACTIONS or operation.startswith(READ_ONLY_PREFIXES)
        return operation in self.operations

    def check(self, operation: str, access_key_id: str) -> None:
        """Raise ``AccessDeniedException`` (400) unless :meth:`allows` ``operation``."""
        if not self.allows(operation):
            action = operation if operation.startswith(_LOGS_PREFIX) else f"sagemaker:{operation}"
            raise AuthError(
                "AccessDeniedException",
                400,
                f"User: {access_key_id} is not authorized to perform: {action} "
                f"because no identity-based policy allows the {action} action",
            )

    def __str__(self) -> str:
        if self.kind != "operations":
            return self.kind
        return ",".join(op for op in KNOWN if op in self.operations)


def _canonical(name: str) -> str:
    """A listed name as :data:`KNOWN` has it: ``sagemaker:`` dropped, a bare
    Logs operation given its ``logs:``."""
    if name.startswith((_PREFIX, _LOGS_PREFIX)):
        return name.removeprefix(_PREFIX)
    return _LOGS_PREFIX + name if _LOGS_PREFIX + name in LOGS_ACTIONS else name


def _unknown_message(unknown: list[str]) -> str:
    parts = []
    for name in unknown:
        close = difflib.get_close_matches(name, KNOWN, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]}?)" if close else ""
        parts.append(f"'{name}'{hint}")
    return (
        f"unknown operation {', '.join(parts)} in policy; use '{FULL}', '{READ_ONLY}' or a "
        f"comma-separated list of: {', '.join(KNOWN)}"
    )
