"""Prints what the process sees of its resources, as JSON on one line: its CPU
affinity, RLIMIT_AS, SM_NUM_CPUS, SM_NUM_GPUS and the thread variables. Then, with the
hyperparameter ``allocate_gib``, allocates (and touches) that much memory; with
``connect`` (``host:port``), opens a TCP connection there and prints what it read."""

import json
import os
import resource
import socket
import sys

with open(os.path.join(os.environ["SM_INPUT_CONFIG_DIR"], "hyperparameters.json")) as f:
    hp = json.load(f)
seen = {
    "affinity": sorted(os.sched_getaffinity(0)),
    "rlimit_as": resource.getrlimit(resource.RLIMIT_AS)[0],
    **{
        key: os.environ.get(key)
        for key in (
            "SM_NUM_CPUS",
            "SM_NUM_GPUS",
            "OMP_NUM_THREADS",
            "MKL_NUM_THREADS",
            "OPENBLAS_NUM_THREADS",
            "SM_CURRENT_HOST",
        )
    },
}
print("probe " + json.dumps(seen), flush=True)
if "allocate_gib" in hp:
    block = bytearray(int(float(hp["allocate_gib"]) * (1 << 30)))
    block[:: 1 << 20] = b"x" * len(block[:: 1 << 20])
    print("allocated", flush=True)
if "connect" in hp:
    host, port = hp["connect"].rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=3) as conn:
            print("connected: " + conn.recv(100).decode(), flush=True)
    except OSError as exc:
        print(f"no connection: {exc}", flush=True)
        sys.exit(3)
