"""Runs training jobs with the Ray executor on a two-node Ray cluster started here (both
nodes on this machine: a head with 2 CPUs, a worker node with 8), then loses the worker
node while a job runs on it. Prints one JSON object: where each job ran and how it ended.

Usage: PYTHONPATH=<repository> python two_node_cluster.py <scratch dir>
"""

import json
import logging
import sys
import time
from pathlib import Path

import ray
from ray.cluster_utils import Cluster
from tests.execution.test_contract import PROGRAMS, make_definition, make_request

from tunelab.domain.definition import ResourceSpec
from tunelab.execution.base import Finished
from tunelab.service.executors import new_executor
from tunelab.service.settings import Settings

scratch = Path(sys.argv[1])
cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 2, "include_dashboard": False})
worker = cluster.add_node(num_cpus=8)
ray.init(address=cluster.address, log_to_driver=False, logging_level=logging.ERROR)
cluster.wait_for_nodes()
head_id, worker_id = ray.get_runtime_context().get_node_id(), worker.node_id
settings = Settings(home=scratch / "home", database_url="sqlite://", ray_address=cluster.address)
executor = new_executor(settings, None)
behave = (PROGRAMS / "behave.py").as_uri()


def submit(name: str, instance_type: str, hyperparameters: dict[str, str]) -> None:
    definition = make_definition(
        behave, output_path=str(scratch / "out"), resources=ResourceSpec(instance_type, 1)
    )
    executor.submit(make_request(settings.jobs_root / name, definition, hyperparameters))


def run_until(names: set[str], then=None) -> dict[str, Finished]:
    ended: dict[str, Finished] = {}
    started = time.monotonic()
    while set(ended) != names and time.monotonic() - started < 60:
        executor.wait(1)
        ended |= {e.name: e for e in executor.poll() if isinstance(e, Finished)}
        if then is not None and then():
            then = None
    return ended


nodes = {head_id: "head", worker_id: "worker"}
placed: dict[str, str] = {}
submit("wide", "ml.c5.2xlarge", {"lines": "1"})  # 8 vCPUs: only the worker node holds it
submit("narrow", "ml.m5.large", {"lines": "1"})


def note_places() -> bool:
    placed.update({n: nodes[j.node] for n, j in executor._jobs.items()})
    return False


first = run_until({"wide", "narrow"}, note_places)
submit("doomed", "ml.c5.2xlarge", {"ready": "1", "sleep": "60"})
submit("survivor", "ml.m5.large", {"sleep": "4", "lines": "1"})


def lose_worker() -> bool:
    note_places()
    if "doomed" in placed and "survivor" in placed:
        time.sleep(1)  # both running
        cluster.remove_node(worker)
        return True
    return False


second = run_until({"doomed", "survivor"}, lose_worker)
executor.close()
ray.shutdown()
cluster.shutdown()
print(
    json.dumps(
        {
            "placed": placed,
            "ended": {
                n: [e.status.value, e.failure_reason, e.internal]
                for n, e in {**first, **second}.items()
            },
        }
    )
)
