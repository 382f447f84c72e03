"""Which executor runs training jobs: this machine's, or a Ray cluster's.

With ``TUNELAB_RAY_ADDRESS`` unset, jobs run as processes on this machine
(:class:`~tunelab.execution.local.LocalExecutor`, its accounts in the home's
``machine.json``). With it set (``auto``, the head's ``host:6379``; ``local``
starts a Ray instance in the tunelab process), each job runs on a node of that Ray cluster
(:mod:`tunelab.execution.ray_executor`), where :class:`NodeExecutor` builds the same local
executor for it. Every node needs:

- tunelab installed (the same version, with the extras the jobs use);
- tunelab's home (``TUNELAB_HOME``) mounted at the same path, as the driver's: job
  directories, logs, the local object store and the models are written there. A node
  that does not see the driver's home fails the job, saying so (:func:`home_witness`);
- for its accounts of which job holds which CPUs (and spot capacity reclaimed by a drill),
  a ledger of its own in the home, ``ray-nodes/<host name>/machine.json``
  (:func:`machine_ledgers`: ``tunelab spot interrupt`` reaches jobs on any node).
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from tunelab.domain.errors import ValidationError
from tunelab.execution.base import Executor
from tunelab.execution.contract import AlgorithmImages
from tunelab.execution.errors import LaunchError
from tunelab.execution.ledger import Ledger
from tunelab.execution.local import LocalExecutor
from tunelab.execution.resources import Machine, Overcommit
from tunelab.service.dataplane import data_plane
from tunelab.service.settings import (
    Settings,
    machine_ledger,
    memory_limiter,
    overcommit_policy,
)

NODES = "ray-nodes"
"""The home's folder of the Ray nodes' ledgers, one folder per node's host name."""
WITNESS = ".ray-home-witness"
"""A file of tunelab's home holding a random token: a node that reads the same token
sees the same home."""


def new_executor(settings: Settings, algorithms: AlgorithmImages | None) -> Executor:
    """The executor ``settings`` choose (module docstring). Raises ``ValidationError``
    when ``TUNELAB_RAY_ADDRESS`` is set and Ray is missing or cannot be reached."""
    if settings.ray_address is None:  # the machine's accounts (ledger.py)
        return _local_executor(settings, algorithms, machine_ledger(settings))
    recipe = NodeExecutor(settings, home_witness(settings.home))
    grace = settings.stop_grace_seconds
    memory = overcommit_policy().memory
    return _ray(settings.ray_address).RayExecutor(
        settings.ray_address,
        recipe,
        algorithms,
        stop_grace_seconds=grace,
        memory_overcommit=memory,
    )


def join_cluster(settings: Settings) -> None:
    """Join the Ray cluster ``settings`` name, if any, before a job is created for it
    (``ValidationError`` as :func:`new_executor`)."""
    if settings.ray_address is not None:
        _ray(settings.ray_address)


def check_cluster(settings: Settings) -> None:
    """What ``tunelab validate`` checks of the Ray cluster ``settings`` name, if any,
    without joining it: Ray is installed and the address answers (``ValidationError``
    as :func:`new_executor`)."""
    if settings.ray_address is not None:
        _ray(settings.ray_address, join=False)


def _ray(address: str, join: bool = True) -> ModuleType:
    """:mod:`tunelab.execution.ray_executor`, this process joined to the cluster at
    ``address`` (only its address checked when not ``join``)."""
    try:
        from tunelab.execution import ray_connect, ray_executor
    except ModuleNotFoundError as exc:
        if exc.name != "ray" and not (exc.name or "").startswith("ray."):
            raise  # not a missing Ray: a defect to see whole
        raise ValidationError(
            "TUNELAB_RAY_ADDRESS is set but Ray is not installed here: "
            f"pip install 'tunelab[ray]' ({exc})"
        ) from None
    try:
        (ray_connect.connect if join else ray_connect.check_address)(address)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise ValidationError(
            f"TUNELAB_RAY_ADDRESS={address}: could not join the Ray cluster: {exc}"
        ) from None
    return ray_executor


def machine_ledgers(settings: Settings) -> list[Ledger]:
    """The ledgers where this home's jobs hold capacity: this machine's, then those of
    the Ray nodes that ran its jobs."""
    nodes = sorted((settings.home / NODES).glob("*/machine.json"))
    return [machine_ledger(settings)] + [Ledger(Machine.detect(), path=str(p)) for p in nodes]


def home_witness(home: Path) -> str:
    """The token of ``home``'s witness file, written once (atomically) if missing."""
    path = home / WITNESS
    try:
        return path.read_text()
    except FileNotFoundError:
        pass
    home.mkdir(parents=True, exist_ok=True)
    draft = home / f"{WITNESS}.{os.getpid()}.{secrets.token_hex(4)}"
    draft.write_text(secrets.token_hex(16))
    try:
        os.link(draft, path)  # fails if another process wrote it first: theirs stands
    except FileExistsError:
        pass
    finally:
        draft.unlink()
    return path.read_text()


@dataclass(frozen=True)
class NodeExecutor:
    """The recipe of a job's executor on a Ray node (pickled there): a local executor
    with the driver's settings and the node's own ledger."""

    settings: Settings
    witness: str

    def __call__(self, algorithms: AlgorithmImages | None) -> LocalExecutor:
        home = self.settings.home
        try:
            seen = (home / WITNESS).read_text()
        except OSError:
            seen = None
        if seen != self.witness:
            raise LaunchError(
                f"the Ray node {socket.gethostname()} does not see tunelab's home {home} "
                "as the tunelab process that runs the tuning job does: mount it at the same "
                "path on every node (a shared file system)"
            )
        ledger_path = home / NODES / socket.gethostname() / "machine.json"
        ledger = Ledger(Machine.detect(), Overcommit.from_env(), str(ledger_path))
        # a program must not outlive its node's agent
        return _local_executor(self.settings, algorithms, ledger, die_with_parent=True)


def _local_executor(
    settings: Settings,
    algorithms: AlgorithmImages | None,
    ledger: Ledger,
    die_with_parent: bool = False,
) -> LocalExecutor:
    """A local executor with ``settings``' grace period, data plane and memory limits."""
    return LocalExecutor(
        stop_grace_seconds=settings.stop_grace_seconds,
        s3_root=settings.s3_root,
        algorithms=algorithms,
        data=data_plane(settings),
        ledger=ledger,
        limiter=memory_limiter(settings),
        die_with_parent=die_with_parent,
    )
