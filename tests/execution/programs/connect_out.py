"""Tries to reach the world outside the job: one TCP connection to each of the
hyperparameter ``targets`` (comma-separated ``host:port``). Prints, as JSON on one line
after ``connect_out ``, the network interfaces it sees and per target either
``connected: <what the server sent>`` or ``failed: <error>``. Always exits 0."""

import json
import os
import socket

with open(os.path.join(os.environ["SM_INPUT_CONFIG_DIR"], "hyperparameters.json")) as f:
    hp = json.load(f)

results = {}
for target in hp["targets"].split(","):
    host, port = target.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=3) as conn:
            results[target] = "connected: " + conn.recv(100).decode()
    except OSError as exc:
        results[target] = f"failed: {exc}"
interfaces = sorted(name for _index, name in socket.if_nameindex())
print("connect_out " + json.dumps({"interfaces": interfaces, "results": results}), flush=True)
