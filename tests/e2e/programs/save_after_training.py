"""A training program written the usual way: train, then save the model. Prints
``epoch=<k> loss=<v>;`` once per epoch (``seconds_per_epoch`` apart), then takes
``seconds_to_save`` to write ``$SM_MODEL_DIR/model.txt``. It does not handle SIGTERM:
stopped before the save, it leaves no model."""

import json
import os
import time

base = os.environ["SAGEMAKER_BASE_DIR"]
with open(os.path.join(base, "input", "config", "hyperparameters.json")) as file:
    hyperparameters = json.load(file)
x = float(hyperparameters["x"])
epochs = int(hyperparameters["epochs"])
for epoch in range(1, epochs + 1):
    time.sleep(float(hyperparameters.get("seconds_per_epoch", "0.2")))
    print(f"epoch={epoch} loss={(x - 0.3) ** 2 + 1.0 / epoch:.6f};", flush=True)
time.sleep(float(hyperparameters.get("seconds_to_save", "1")))
with open(os.path.join(os.environ["SM_MODEL_DIR"], "model.txt"), "w") as model:
    model.write(f"x={x}\n")
