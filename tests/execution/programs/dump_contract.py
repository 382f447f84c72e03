"""Training program that records what it sees: argv, cwd, environment, files.

Writes ``model/contract.json`` (read by the tests) and prints one line."""

import json
import os
import sys

base = os.environ["SAGEMAKER_BASE_DIR"]
files = sorted(
    os.path.relpath(os.path.join(root, name), base) + suffix
    for root, dirs, names in os.walk(base)
    for suffix, group in (("", names), ("/", dirs))
    for name in group
)
config = {}
for name in ("hyperparameters.json", "inputdataconfig.json", "resourceconfig.json"):
    with open(os.path.join(base, "input", "config", name)) as f:
        config[name] = json.load(f)
report = {"argv": sys.argv, "cwd": os.getcwd(), "env": dict(os.environ), "files": files}
report["config"] = config
with open(os.path.join(os.environ["SM_MODEL_DIR"], "contract.json"), "w") as f:
    json.dump(report, f)
print("contract dumped")
