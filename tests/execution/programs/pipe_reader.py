"""Reads its Pipe-mode channel ``train`` as SageMaker scripts do: FIFO ``train_<epoch>``
per epoch. Hyperparameters: ``epochs`` (how many to read), ``head`` (read only that many
bytes of each, then close the FIFO early and open the next one at once). Writes what it
read of each epoch to ``model/epoch-<n>.bin`` and prints ``epoch=<n> bytes=<size>;``."""

import json
import os

base = os.environ["SAGEMAKER_BASE_DIR"]
with open(os.path.join(base, "input", "config", "hyperparameters.json")) as f:
    hps = json.load(f)
channel = os.environ["SM_CHANNEL_TRAIN"]
for epoch in range(int(hps.get("epochs", "2"))):
    with open(f"{channel}_{epoch}", "rb") as fifo:
        data = fifo.read(int(hps["head"])) if "head" in hps else fifo.read()
    with open(os.path.join(os.environ["SM_MODEL_DIR"], f"epoch-{epoch}.bin"), "wb") as out:
        out.write(data)
    print(f"epoch={epoch} bytes={len(data)};", flush=True)
