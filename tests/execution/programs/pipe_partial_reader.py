"""Reads only the first ``head`` bytes (hyperparameter, default 1000) of each of ``epochs``
epochs of its Pipe-mode channel ``train``, closes the FIFO early and opens the next one at
once. Writes what it read to ``model/epoch-<n>.bin``."""

import json
import os

base = os.environ["SAGEMAKER_BASE_DIR"]
with open(os.path.join(base, "input", "config", "hyperparameters.json")) as f:
    hps = json.load(f)
channel = os.environ["SM_CHANNEL_TRAIN"]
for epoch in range(int(hps.get("epochs", "2"))):
    with open(f"{channel}_{epoch}", "rb") as fifo:
        data = fifo.read(int(hps.get("head", "1000")))
    with open(os.path.join(os.environ["SM_MODEL_DIR"], f"epoch-{epoch}.bin"), "wb") as out:
        out.write(data)
    print(f"epoch={epoch} bytes={len(data)};", flush=True)
