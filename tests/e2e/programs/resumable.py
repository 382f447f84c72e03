"""A resumable training program for the managed spot tests: keeps ``step.txt`` in
``/opt/ml/checkpoints`` (``<base>/checkpoints``), resumes from it, counts up to
``steps`` one step per ``interval`` seconds and prints ``resumed_from=<n>;`` then
``step=<n>;`` lines; appends ``<TRAINING_JOB_NAME> <pid>`` to ``$RUNS_LOG`` when it
starts, so a test can count the attempts that ran."""

import json
import os
import time

base = os.environ["SAGEMAKER_BASE_DIR"]
with open(os.path.join(base, "input", "config", "hyperparameters.json")) as file:
    hyperparameters = json.load(file)
with open(os.environ["RUNS_LOG"], "a") as runs:
    runs.write(f"{os.environ['TRAINING_JOB_NAME']} {os.getpid()}\n")
folder = os.path.join(base, "checkpoints")
state = os.path.join(folder, "step.txt")
start = 0
if os.path.exists(state):
    with open(state) as file:
        start = int(file.read())
print(f"resumed_from={start};", flush=True)
for step in range(start + 1, int(hyperparameters.get("steps", "3")) + 1):
    time.sleep(float(hyperparameters.get("interval", "0")))
    os.makedirs(folder, exist_ok=True)
    with open(state + ".tmp", "w") as file:
        file.write(str(step))
    os.replace(state + ".tmp", state)
    print(f"step={step};", flush=True)
