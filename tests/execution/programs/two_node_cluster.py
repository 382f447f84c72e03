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


ended: dict[str, Finished] = {}
nodes = {head_id: "head", worker_id: "worker"}
placed: dict[str, str] = {}


def run_until(done) -> None:
    """Drive the executor until ``done()`` (60 s at most), noting where jobs were put."""
    started = time.monotonic()
    while not done() and time.monotonic() - started < 60:
        executor.wait(0.2)
        ended.update({e.name: e for e in executor.poll() if isinstance(e, Finished)})
        placed.update({n: nodes[j.node] for n, j in executor._jobs.items()})


# one at a time, so that where each goes does not depend on Ray's choice between nodes
submit("wide", "ml.c5.2xlarge", {"ready": "1", "sleep": "2"})  # 8 vCPUs: only the worker
run_until(lambda: "wide" in placed)
submit("narrow", "ml.m5.large", {"lines": "1"})  # the worker is full: the head
run_until(lambda: {"wide", "narrow"} <= set(ended))
submit("doomed", "ml.c5.2xlarge", {"ready": "1", "sleep": "60"})
run_until(lambda: "doomed" in placed)
submit("survivor", "ml.m5.large", {"sleep": "4", "lines": "1"})
run_until(lambda: "survivor" in placed)
time.sleep(1)  # both running
cluster.remove_node(worker)
run_until(lambda: {"doomed", "survivor"} <= set(ended))
executor.close()
ray.shutdown()
cluster.shutdown()
print(
    json.dumps(
        {
            "placed": placed,
            "ended": {n: [e.status.value, e.failure_reason, e.internal] for n, e in ended.items()},
        }
    )
)
