"""The network of a training job's hosts: host names, addresses, isolation.

Each host of a job with ``InstanceCount > 1`` or ``EnableNetworkIsolation`` gets a
loopback address of its own, ``127.<64 + n // 256>.<n % 256>.<k>`` for host ``algo-k``
of the job's network ``n`` (an index the machine's ledger hands out, unique among
running jobs), and the job gets a hosts file mapping ``algo-1``...``algo-N`` to those
addresses. Hosts run under ``ip netns exec <namespace>`` (iproute2; it execs the
program, keeping its pid), which bind-mounts the hosts file over ``/etc/hosts`` for them
alone, so ``algo-2`` resolves in the program as it does in SageMaker:

- ``EnableNetworkIsolation``: the namespace is a new, empty network namespace with only
  the loopback interface up: the hosts reach each other and nothing else.
- otherwise: the namespace is tunelab's own network (``ip netns attach``), so the hosts
  keep the machine's network, and only the name mapping is added.

This needs root (namespaces and mounts) and ``ip``. Without them, isolation is refused
at create time (:func:`isolation_problem`), and hosts of a distributed job share the
machine's network, with their addresses in ``TUNELAB_HOST_ADDRESSES`` (JSON) and
``TUNELAB_HOSTS_FILE`` only. Either way those two variables are set.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field

from tunelab.execution.contract import LaunchError

NETNS_CONFIG = "/etc/netns"


def host_address(net: int, index: int) -> str:
    """The loopback address of host ``algo-<index>`` (1-based) of network ``net``."""
    return f"127.{64 + net // 256}.{net % 256}.{index}"


def can_manage_namespaces() -> bool:
    """Root, with iproute2's ``ip``: namespaces per job are available."""
    return os.geteuid() == 0 and shutil.which("ip") is not None


def isolation_problem() -> str | None:
    """Why ``EnableNetworkIsolation`` cannot be honoured here (None: it can)."""
    if can_manage_namespaces():
        return None
    return (
        "EnableNetworkIsolation needs a network namespace per job: tunelab must run as root "
        "with iproute2's ip command on this machine"
    )


@dataclass
class JobNetwork:
    """The network of one job; :meth:`create` before launching, :meth:`remove` after."""

    job_dir: str
    hosts: Sequence[str]
    net: int
    isolated: bool
    namespace: str | None = None
    addresses: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.addresses = {h: host_address(self.net, i + 1) for i, h in enumerate(self.hosts)}

    @property
    def hosts_file(self) -> str:
        return os.path.join(self.job_dir, "etc-hosts")

    def create(self) -> None:
        """Write the hosts file; with root, make the namespace. Raises :class:`LaunchError`
        (internal: the machinery failed)."""
        lines = "".join(f"{a}\t{h}\n" for h, a in self.addresses.items())
        try:
            with open("/etc/hosts", encoding="utf-8") as f:
                machine_hosts = f.read()
        except OSError:
            machine_hosts = "127.0.0.1\tlocalhost\n"
        content = machine_hosts.rstrip("\n") + "\n" + lines
        try:
            with open(self.hosts_file, "w", encoding="utf-8") as f:
                f.write(content)
        except OSError as exc:
            raise LaunchError(f"could not write {self.hosts_file}: {exc}", internal=True) from exc
        if not can_manage_namespaces():
            if self.isolated:
                raise LaunchError(isolation_problem() or "", internal=True)
            return
        self.namespace = f"tunelab-{os.getpid()}-{self.net}"
        _ip("netns", "delete", self.namespace, check=False)  # a leftover of a crash
        if self.isolated:
            _ip("netns", "add", self.namespace)
            _ip("-n", self.namespace, "link", "set", "lo", "up")
        else:
            _ip("netns", "attach", self.namespace, str(os.getpid()))
        config = os.path.join(NETNS_CONFIG, self.namespace)
        try:
            os.makedirs(config, exist_ok=True)
            with open(os.path.join(config, "hosts"), "w", encoding="utf-8") as f:
                f.write(content)
        except OSError as exc:
            self.remove()
            raise LaunchError(f"could not write {config}/hosts: {exc}", internal=True) from exc

    def prefix(self) -> list[str]:
        """The argv prefix that runs a host in the namespace (empty without one)."""
        return [] if self.namespace is None else ["ip", "netns", "exec", self.namespace]

    def environment(self, host: str) -> dict[str, str]:
        return {
            "TUNELAB_HOST_ADDRESSES": json.dumps(self.addresses, sort_keys=True),
            "TUNELAB_HOSTS_FILE": self.hosts_file,
            "TUNELAB_CURRENT_HOST_ADDRESS": self.addresses[host],
        }

    def remove(self) -> None:
        """Delete the namespace's name and configuration (processes are gone by now)."""
        if self.namespace is None:
            return
        _ip("netns", "delete", self.namespace, check=False)
        shutil.rmtree(os.path.join(NETNS_CONFIG, self.namespace), ignore_errors=True)
        self.namespace = None


def _ip(*args: str, check: bool = True) -> None:
    result = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise LaunchError(
            f"could not set up the job's network (ip {' '.join(args)}): "
            f"{result.stderr.strip() or result.returncode}",
            internal=True,
        )
