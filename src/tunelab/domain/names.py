"""Names and ARNs of tuning and training jobs, SageMaker's formats."""

from __future__ import annotations

DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "123456789012"


def training_job_name(tuning_job_name: str, sequence: int, suffix: str) -> str:
    """``<tuning job>-<NNN>-<8 hex>``, e.g. ``my-job-007-1a2b3c4d`` (at most 32 + 13
    characters, within the 63 SageMaker allows)."""
    return f"{tuning_job_name}-{sequence:03d}-{suffix}"


def tuning_job_arn(name: str, region: str = DEFAULT_REGION, account: str = DEFAULT_ACCOUNT) -> str:
    return f"arn:aws:sagemaker:{region}:{account}:hyper-parameter-tuning-job/{name.lower()}"


def training_job_arn(
    name: str, region: str = DEFAULT_REGION, account: str = DEFAULT_ACCOUNT
) -> str:
    return f"arn:aws:sagemaker:{region}:{account}:training-job/{name.lower()}"


def algorithm_arn(name: str, region: str = DEFAULT_REGION, account: str = DEFAULT_ACCOUNT) -> str:
    return f"arn:aws:sagemaker:{region}:{account}:algorithm/{name.lower()}"


def parse_arn(arn: str) -> tuple[str, str] | None:
    """(resource type, name) of a SageMaker ARN such as
    ``arn:aws:sagemaker:us-east-1:123456789012:training-job/my-job``; None when
    ``arn`` is not of that form."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "sagemaker" or "/" not in parts[5]:
        return None
    resource_type, _, name = parts[5].partition("/")
    return (resource_type, name) if name else None


PARTITION = "aws"
"""The partition of every ARN tunelab writes (``arn:aws:...``)."""


def elsewhere(arn: str, region: str, account: str) -> str | None:
    """Why the SageMaker ARN ``arn`` names nothing here: it is of another partition,
    region or account than ``region`` and ``account`` (those of the ARNs tunelab
    writes for the caller); None when it could name a resource here, or when ``arn``
    is no ARN (a plain name)."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return None
    for what, found, here in (
        ("partition", parts[1], PARTITION),
        ("region", parts[3], region),
        ("account", parts[4], account),
    ):
        if found != here:
            return f"its {what} is {found!r}; this server's is {here!r}"
    return None
