"""Domain errors. Each carries the SageMaker error code a client would see.

The codes are SageMaker's: ``ValidationException`` for a request that breaks a
rule, ``ResourceLimitExceeded`` for a quota, ``ResourceInUse`` for a taken name,
``ResourceNotFound`` for an unknown resource. The API layer maps ``code`` to the
wire; the CLI prints ``str(error)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Violation:
    """One broken rule: where (a field path such as
    ``HyperParameterTuningJobConfig.ResourceLimits.MaxParallelTrainingJobs``) and what."""

    path: str
    message: str
    code: str = "ValidationException"

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class TunelabError(Exception):
    """Base of every error tunelab raises on purpose."""

    code = "InternalFailure"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationError(TunelabError):
    """The request breaks one or more rules. ``violations`` lists every one of them."""

    code = "ValidationException"

    def __init__(self, violations: Sequence[Violation] | str) -> None:
        if isinstance(violations, str):
            violations = [Violation("", violations)]
        self.violations: tuple[Violation, ...] = tuple(violations)
        lines = [str(v) for v in self.violations]
        if len(lines) == 1:
            message = lines[0]
        else:
            message = f"{len(lines)} validation errors:\n" + "\n".join(f"- {x}" for x in lines)
        super().__init__(message)


class ResourceLimitExceeded(TunelabError):
    """A quota would be exceeded (e.g. more than 10 parallel training jobs)."""

    code = "ResourceLimitExceeded"

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path


class ResourceInUse(TunelabError):
    """A resource with this name exists already (names are case-insensitive)."""

    code = "ResourceInUse"


def tuning_job_name_taken(name: str, taken: str) -> ResourceInUse:
    """The error for creating tuning job ``name`` when ``taken`` exists (names
    are unique without regard to case, as in SageMaker)."""
    if taken == name:
        return ResourceInUse(f"Tuning job '{name}' already exists")
    return ResourceInUse(
        f"Tuning job '{name}' already exists (names are not case sensitive: '{taken}' is taken)"
    )


class ResourceNotFound(TunelabError):
    """No resource has this name."""

    code = "ResourceNotFound"


class ConflictError(TunelabError):
    """The resource is in a state that does not allow the operation
    (e.g. resuming a job that another live process is running)."""

    code = "ConflictException"


def raise_for(violations: Sequence[Violation]) -> None:
    """Raise the right error for ``violations``: a quota violation alone raises
    ``ResourceLimitExceeded``; anything else ``ValidationError`` with all of them."""
    if not violations:
        return
    validation = [v for v in violations if v.code == "ValidationException"]
    if validation:
        raise ValidationError(validation)
    first = violations[0]
    if first.code == "ResourceLimitExceeded":
        raise ResourceLimitExceeded(first.message, first.path)
    raise ValidationError(violations)
