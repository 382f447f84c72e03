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
