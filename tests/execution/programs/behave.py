"""Training program whose behaviour is set by its hyperparameters (all optional).

lines=N interval=S  print "step=i loss=...;" N times, S seconds apart
burst=N             print the N lines of lines=N in one write
interleave=N        write out-i to stdout and err-i to stderr, alternately
partial=TEXT        finally write TEXT to stdout without a newline
model=TEXT          write TEXT to model/model.txt; output_data=TEXT to output/data/out.txt
model_bytes=N       write N bytes to model/model.bin
on_term=ignore|exit0  SIGTERM handling (default: die by the signal)
ready=1             print "ready" once signal handling is installed
sleep=S             sleep S seconds before exiting
failure=TEXT        write TEXT to output/failure
exit=N              exit code; kill_self=1 ends by SIGKILL instead
"""

import json
import os
import signal
import sys
import time

with open(os.path.join(os.environ["SM_INPUT_CONFIG_DIR"], "hyperparameters.json")) as f:
    hp = json.load(f)

if hp.get("on_term") == "ignore":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
elif hp.get("on_term") == "exit0":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
if hp.get("ready"):
    print("ready", flush=True)
if hp.get("burst"):
    sys.stdout.write(
        "".join(f"step={i} loss={1.0 / (i + 1):.4f};\n" for i in range(int(hp["burst"])))
    )
    sys.stdout.flush()
for i in range(int(hp.get("lines", 0))):
    print(f"step={i} loss={1.0 / (i + 1):.4f};", flush=True)
    time.sleep(float(hp.get("interval", 0)))
for i in range(int(hp.get("interleave", 0))):
    print(f"out-{i}", flush=True)
    print(f"err-{i}", file=sys.stderr, flush=True)
if "model" in hp:
    with open(os.path.join(os.environ["SM_MODEL_DIR"], "model.txt"), "w") as f:
        f.write(hp["model"])
if "model_bytes" in hp:
    with open(os.path.join(os.environ["SM_MODEL_DIR"], "model.bin"), "wb") as f:
        f.write(os.urandom(int(hp["model_bytes"])))
if "output_data" in hp:
    with open(os.path.join(os.environ["SM_OUTPUT_DATA_DIR"], "out.txt"), "w") as f:
        f.write(hp["output_data"])
deadline = time.monotonic() + float(hp.get("sleep", 0))
while time.monotonic() < deadline:  # an ignored SIGTERM must not cut the sleep short
    time.sleep(max(0.0, min(0.05, deadline - time.monotonic())))
if "failure" in hp:
    with open(os.path.join(os.environ["SM_OUTPUT_DIR"], "failure"), "w") as f:
        f.write(hp["failure"])
if "partial" in hp:
    sys.stdout.write(hp["partial"])
    sys.stdout.flush()
if hp.get("kill_self"):
    os.kill(os.getpid(), signal.SIGKILL)
sys.exit(int(hp.get("exit", 0)))
