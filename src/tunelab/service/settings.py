"""Where tunelab keeps its data and which quotas apply, read from the environment.

| variable | default |
| --- | --- |
| ``TUNELAB_HOME`` | ``~/.tunelab`` |
| ``TUNELAB_DATABASE_URL`` | ``sqlite:///$TUNELAB_HOME/tunelab.db`` |
| ``TUNELAB_MAX_PARALLEL_TRAINING_JOBS`` | 10 |
| ``TUNELAB_MAX_TRAINING_JOBS`` | 500 |
| ``TUNELAB_MAX_CONCURRENT_INSTANCES`` | 20 |
| ``TUNELAB_MAX_CONCURRENT_TUNING_JOBS`` | 100 (tuning jobs InProgress or Stopping) |
| ``TUNELAB_STOP_GRACE_SECONDS`` | 120 (SageMaker's ``docker stop -t 120``) |
| ``TUNELAB_REGION`` / ``TUNELAB_ACCOUNT_ID`` | ``us-east-1`` / ``123456789012`` (for ARNs) |
| ``TUNELAB_CPU_OVERCOMMIT`` / ``TUNELAB_MEMORY_OVERCOMMIT`` | 10 / 4 (``execution.resources``) |
| ``TUNELAB_CGROUP_ROOT`` | unset: memory limited by RLIMIT_AS (``execution.limits``) |
| ``TUNELAB_RAY_ADDRESS`` | unset: jobs run here; else on a Ray cluster (:mod:`.executors`) |

The machine's accounts of which job holds which CPUs and memory (and spot capacity
reclaimed from which job) are in ``$TUNELAB_HOME/machine.json``, shared by every
tunelab process of that home (:mod:`tunelab.execution.ledger`).

``s3://bucket/key`` locations live in tunelab's local object store,
``$TUNELAB_HOME/s3/bucket/key`` (fill it with ``tunelab data put``), unless
``AWS_ENDPOINT_URL_S3`` names a real S3 endpoint.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tunelab.domain.errors import ValidationError
from tunelab.domain.names import DEFAULT_ACCOUNT, DEFAULT_REGION
from tunelab.domain.rules import Quotas
from tunelab.execution.home import tunelab_home
from tunelab.execution.ledger import Ledger
from tunelab.execution.limits import MemoryLimiter
from tunelab.execution.resources import Machine, Overcommit


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    quotas: Quotas = field(default_factory=Quotas)
    stop_grace_seconds: float = 120.0
    poll_interval: float = 0.5
    region: str = DEFAULT_REGION
    account: str = DEFAULT_ACCOUNT
    s3_endpoint: str | None = None
    cgroup_root: str | None = None
    """A cgroup v2 directory delegated to tunelab: memory limits with ``memory.max``."""
    ray_address: str | None = None
    """The Ray cluster training jobs run on (None: this machine)."""

    @property
    def jobs_root(self) -> Path:
        return self.home / "jobs"

    @property
    def ledger_path(self) -> Path:
        return self.home / "machine.json"

    @property
    def s3_root(self) -> str | None:
        """The local object store for ``s3://`` URIs; None with a real S3 endpoint."""
        return None if self.s3_endpoint else str(self.home / "s3")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        home = tunelab_home(env)
        url = env.get("TUNELAB_DATABASE_URL") or f"sqlite:///{home / 'tunelab.db'}"
        quotas = Quotas(
            max_parallel_training_jobs=_integer(env, "TUNELAB_MAX_PARALLEL_TRAINING_JOBS", 10),
            max_training_jobs=_integer(env, "TUNELAB_MAX_TRAINING_JOBS", 500),
            max_concurrent_instances=_integer(env, "TUNELAB_MAX_CONCURRENT_INSTANCES", 20),
            max_concurrent_tuning_jobs=_integer(env, "TUNELAB_MAX_CONCURRENT_TUNING_JOBS", 100),
        )
        return cls(
            home=home,
            database_url=url,
            quotas=quotas,
            stop_grace_seconds=_seconds(env, "TUNELAB_STOP_GRACE_SECONDS", 120.0),
            region=env.get("TUNELAB_REGION") or DEFAULT_REGION,
            account=env.get("TUNELAB_ACCOUNT_ID") or DEFAULT_ACCOUNT,
            s3_endpoint=env.get("AWS_ENDPOINT_URL_S3") or None,
            cgroup_root=env.get("TUNELAB_CGROUP_ROOT") or None,
            ray_address=env.get("TUNELAB_RAY_ADDRESS") or None,
        )


def _integer(env: Mapping[str, str], key: str, default: int) -> int:
    text = env.get(key)
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise ValidationError(
            f"environment variable {key} must be an integer; got {text!r}"
        ) from None
    if value < 1:
        raise ValidationError(f"environment variable {key} must be at least 1; got {value}")
    return value


def _seconds(env: Mapping[str, str], key: str, default: float) -> float:
    text = env.get(key)
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise ValidationError(
            f"environment variable {key} must be a number of seconds, at least 0; got {text!r}"
        )
    return value


_LEDGERS: dict[str, Ledger] = {}
_LEDGERS_LOCK = threading.Lock()


def overcommit_policy() -> Overcommit:
    """``TUNELAB_CPU_OVERCOMMIT`` / ``TUNELAB_MEMORY_OVERCOMMIT`` (``ValidationError``
    naming the variable when one is not a number of at least 1)."""
    try:
        return Overcommit.from_env()
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


def machine_ledger(settings: Settings) -> Ledger:
    """The machine's ledger of ``settings.home`` (one object per process and home)."""
    path = str(settings.ledger_path)
    with _LEDGERS_LOCK:
        if path not in _LEDGERS:
            _LEDGERS[path] = Ledger(Machine.detect(), overcommit_policy(), path)
        return _LEDGERS[path]


def memory_limiter(settings: Settings) -> MemoryLimiter:
    """cgroup v2 under ``TUNELAB_CGROUP_ROOT`` when usable, else RLIMIT_AS."""
    return MemoryLimiter(settings.cgroup_root)
