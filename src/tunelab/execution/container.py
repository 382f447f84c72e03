"""Container images that are neither built-ins nor framework images run with ``docker``,
when a container engine answers (``docker info`` succeeds): ``docker run <image> train``
with the job directory mounted at ``/opt/ml`` and ``TRAINING_JOB_NAME``,
``TRAINING_JOB_ARN`` and the definition's ``Environment`` passed in, as SageMaker runs a
training container. ``python -m tunelab.execution.container`` supervises ``docker run``:
SIGTERM becomes ``docker stop`` of the container; :func:`remove` (called when the job
ends) removes a container left behind by a SIGKILL.

The container runs outside the host process's namespace and limits, so they are passed
to docker: the CPUs the host is pinned to (``--cpuset-cpus``), its instance type's memory
(``--memory``), with ``EnableNetworkIsolation`` no network (``--network=none``), and a
checkpoint ``LocalPath`` outside ``/opt/ml/`` mounted in place (the directory tunelab syncs).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping

from tunelab.algorithms.images import builtin_for
from tunelab.domain.definition import TrainingJobDefinition
from tunelab.domain.instance_types import instance_type
from tunelab.execution.job_dir import shared_checkpoint_dir
from tunelab.execution.script_mode import is_script_mode
from tunelab.execution.uris import image_path_problem

MODULE = "tunelab.execution.container"
PREFIX = "tunelab-"
STOP_SECONDS = 120  # SageMaker's docker stop -t 120
_CHECK_TTL = 30.0
_checked: tuple[float, bool] | None = None


def engine_available() -> bool:
    """``docker info`` succeeds (cached for 30 s)."""
    global _checked
    now = time.monotonic()
    if _checked is not None and now - _checked[0] < _CHECK_TTL:
        return _checked[1]
    docker = shutil.which("docker")
    ok = False
    if docker is not None:
        try:
            result = subprocess.run(
                [docker, "info"], capture_output=True, timeout=15, stdin=subprocess.DEVNULL
            )
            ok = result.returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            ok = False
    _checked = (now, ok)
    return ok


def runs_in_container(image: str | None, static: Mapping[str, str]) -> bool:
    """An image that is not a ``file:`` program (nor a path, which should be one), a
    built-in or a framework image."""
    if not image or image.startswith("file:") or image_path_problem(image) is not None:
        return False
    return builtin_for(image, static) is None and not is_script_mode(image, static)


def container_name(training_job_name: str) -> str:
    return PREFIX + training_job_name


def entry_argv(definition: TrainingJobDefinition) -> list[str]:
    """The supervisor's argv for a definition's image."""
    env = ["TRAINING_JOB_NAME", "TRAINING_JOB_ARN", *sorted(definition.environment)]
    options = []
    kind = instance_type(definition.resources.instance_type)
    if kind is not None:
        options.append(f"--memory={int(kind.memory_gib * 2**30)}")
    if definition.network_isolation:
        options.append("--network=none")
    shared = shared_checkpoint_dir(definition)
    if shared is not None:  # a LocalPath outside /opt/ml: the directory tunelab syncs
        options.append(f"--volume={shared}:{shared}")
    return [
        sys.executable,
        "-m",
        MODULE,
        *(f"--env={name}" for name in env),
        *(f"--docker={option}" for option in options),
        str(definition.training_image),
    ]


def docker_command(
    image: str, base_dir: str, name: str, env: list[str], options: list[str] | None = None
) -> list[str]:
    """``docker run`` of ``image`` with ``base_dir`` as ``/opt/ml`` (values of ``env`` come
    from this process's environment) and docker ``options`` (limits, network)."""
    return [
        "docker",
        "run",
        "--rm",
        f"--name={name}",
        f"--volume={base_dir}:/opt/ml",
        *(f"--env={key}" for key in env),
        *(options or []),
        image,
        "train",
    ]


def cpuset() -> str:
    """The CPUs this process may run on, as docker's ``--cpuset-cpus`` list."""
    return ",".join(str(cpu) for cpu in sorted(os.sched_getaffinity(0)))


def remove(training_job_name: str) -> None:
    """Remove the job's container if one is left (ignores every error)."""
    docker = shutil.which("docker")
    if docker is None:
        return
    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
        subprocess.run(
            [docker, "rm", "--force", container_name(training_job_name)],
            capture_output=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )


def main(argv: list[str]) -> int:
    env = [a.removeprefix("--env=") for a in argv if a.startswith("--env=")]
    options = [a.removeprefix("--docker=") for a in argv if a.startswith("--docker=")]
    options.append(f"--cpuset-cpus={cpuset()}")  # the CPUs this host is pinned to
    image = next(a for a in argv if not a.startswith("--"))
    name = container_name(os.environ["TRAINING_JOB_NAME"])
    command = docker_command(image, os.environ["SAGEMAKER_BASE_DIR"], name, env, options)
    child = subprocess.Popen(command, stdin=subprocess.DEVNULL)

    def stop(signum: int, frame: object) -> None:
        stop_command = ["docker", "stop", f"--time={STOP_SECONDS}", name]
        subprocess.run(stop_command, capture_output=True, stdin=subprocess.DEVNULL)

    signal.signal(signal.SIGTERM, stop)
    return child.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
