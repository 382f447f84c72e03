"""A training program for the API tests, written to SageMaker's container contract.

Hyperparameters (all strings, from ``input/config/hyperparameters.json``): ``x`` (the
loss is ``(x - 0.3)**2 + 1/epoch``), ``epochs``, ``seconds_per_epoch``, and ``mode``:
``ok`` prints ``epoch=<k> loss=<v>; acc=<a>;`` per epoch, ``silent`` never prints the
metrics (the objective fails, the job completes), ``fail`` sleeps like the others, then
writes ``output/failure`` and exits 2. It prints ``seen <channel>/<file>: <content>``
for each file of its data channels first; with a ``train`` channel it also prints
``rows=<n>;``, the number of lines of its files. It writes ``model/model.txt`` and,
when ``$RUNS_LOG`` is set, appends ``<TRAINING_JOB_NAME> <pid>`` to that file at start.
"""

import json
import os
import sys
import time
from pathlib import Path

base = Path(os.environ["SAGEMAKER_BASE_DIR"])
hyperparameters = json.loads((base / "input" / "config" / "hyperparameters.json").read_text())
if os.environ.get("RUNS_LOG"):
    with open(os.environ["RUNS_LOG"], "a") as runs:
        runs.write(f"{os.environ['TRAINING_JOB_NAME']} {os.getpid()}\n")
for key, folder in sorted(os.environ.items()):  # what it saw, for the tests to check
    if key.startswith("SM_CHANNEL_"):
        for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
            print(f"seen {key[11:].lower()}/{path.relative_to(folder)}: {path.read_text()!r}")
x = float(hyperparameters.get("x", "0.5"))
epochs = int(hyperparameters.get("epochs", "2"))
pause = float(hyperparameters.get("seconds_per_epoch", "0.05"))
mode = hyperparameters.get("mode", "ok")
for epoch in range(1, epochs + 1):
    time.sleep(pause)
    if mode == "ok":
        loss = (x - 0.3) ** 2 + 1.0 / epoch
        print(f"epoch={epoch} loss={loss:.6f}; acc={1.0 / (1.0 + loss):.6f};", flush=True)
channel = os.environ.get("SM_CHANNEL_TRAIN")
if channel:
    rows = sum(len(p.read_text().splitlines()) for p in Path(channel).rglob("*") if p.is_file())
    print(f"rows={rows};", flush=True)
if mode == "fail":
    (base / "output" / "failure").write_text("ValueError: asked to fail")
    sys.exit(2)
Path(os.environ["SM_MODEL_DIR"], "model.txt").write_text(f"x={x}\n")
