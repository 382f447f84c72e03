"""A training program for end-to-end tests: reads its hyperparameters from the
container contract, prints ``seen <channel>/<file>: <content>`` for each file of its data
channels, then ``epoch=<k> loss=<v>;`` once per epoch (sleeping ``seconds_per_epoch``
between), writes a model file, and appends
``<TRAINING_JOB_NAME> <pid>`` to the file named by ``$RUNS_LOG`` when it starts,
so a test can count how many times each job ran. Started by a Ray worker, it first
prints ``raylet=<pid>``: the Ray node's raylet, from the environment it inherited."""

import json
import os
import sys
import time
from pathlib import Path

if "RAY_RAYLET_PID" in os.environ:
    print(f"raylet={os.environ['RAY_RAYLET_PID']}", flush=True)
base = os.environ["SAGEMAKER_BASE_DIR"]
with open(os.path.join(base, "input", "config", "hyperparameters.json")) as file:
    hyperparameters = json.load(file)
with open(os.environ["RUNS_LOG"], "a") as runs:
    runs.write(f"{os.environ['TRAINING_JOB_NAME']} {os.getpid()}\n")
for key, folder in sorted(os.environ.items()):  # what it saw, for the tests to check
    if key.startswith("SM_CHANNEL_"):
        for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
            print(f"seen {key[11:].lower()}/{path.relative_to(folder)}: {path.read_text()!r}")
x = float(hyperparameters["x"])
epochs = int(hyperparameters.get("epochs", "3"))
pause = float(hyperparameters.get("seconds_per_epoch", "0.2"))
if hyperparameters.get("fail") == "yes":
    with open(os.path.join(base, "output", "failure"), "w") as failure:
        failure.write("ValueError: asked to fail")
    sys.exit(2)
for epoch in range(1, epochs + 1):
    time.sleep(pause)
    print(f"epoch={epoch} loss={(x - 0.3) ** 2 + 1.0 / epoch:.6f};", flush=True)
with open(os.path.join(os.environ["SM_MODEL_DIR"], "model.txt"), "w") as model:
    model.write(f"x={x}\n")
