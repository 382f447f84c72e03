"""A resumable training program: keeps ``step.txt`` in the checkpoint directory
(``checkpoint_dir`` hyperparameter, default ``<base>/checkpoints``), resumes from it,
counts up to ``steps`` one step per ``interval`` seconds, deletes ``stale.txt`` if a
restore brought one, and prints ``resumed_from=<n>`` then ``step=<n>;`` lines."""

import json
import os
import time

base = os.environ["SAGEMAKER_BASE_DIR"]
with open(os.path.join(base, "input", "config", "hyperparameters.json")) as f:
    hps = json.load(f)
folder = hps.get("checkpoint_dir") or os.path.join(base, "checkpoints")
state = os.path.join(folder, "step.txt")
start = 0
if os.path.exists(state):
    with open(state) as f:
        start = int(f.read())
print(f"resumed_from={start}", flush=True)
if os.path.exists(os.path.join(folder, "stale.txt")):
    os.unlink(os.path.join(folder, "stale.txt"))
for step in range(start + 1, int(hps.get("steps", "3")) + 1):
    time.sleep(float(hps.get("interval", "0")))
    with open(state + ".tmp", "w") as f:
        f.write(str(step))
    os.replace(state + ".tmp", state)
    print(f"step={step};", flush=True)
