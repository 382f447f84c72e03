"""Large hyperparameters still launch: a real program (plain and script mode) given
hyperparameters whose JSON is over Linux's 128 KiB limit for one environment variable
reads every one of them from ``hyperparameters.json`` and from ``SM_HP_<NAME>`` (or, in
script mode, its command-line arguments)."""

from __future__ import annotations

import json
from pathlib import Path

from tunelab.domain.enums import TrainingJobStatus
from tunelab.execution.base import Finished
from tunelab.execution.local import LocalExecutor

from .test_contract import collect, make_definition, make_request

SKLEARN = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
AGGREGATES = ("SM_HPS", "SM_TRAINING_ENV", "SM_USER_ARGS")
READER = f"""
import json, os, sys
base = os.environ["SAGEMAKER_BASE_DIR"]
with open(os.path.join(base, "input", "config", "hyperparameters.json")) as f:
    from_file = json.load(f)
report = {{
    "file": from_file,
    "env": {{k[6:]: v for k, v in os.environ.items() if k.startswith("SM_HP_")}},
    "args": sys.argv[1:],
    "aggregates": [k for k in {AGGREGATES!r} if k in os.environ],
}}
with open(os.path.join(os.environ["SM_MODEL_DIR"], "seen.json"), "w") as f:
    json.dump(report, f)
print("read", len(from_file), "hyperparameters")
"""


def large_hyperparameters(count: int = 55) -> dict[str, str]:
    """``count`` values of 2500 characters (SageMaker's largest): their JSON is ~140 KB."""
    return {f"h{i:02d}": f"{i:02d}" + "v" * 2498 for i in range(count)}


def run(executor: LocalExecutor, job_dir: Path, image: str, hps: dict[str, str]) -> dict:
    definition = make_definition(image, static_hyperparameters=hps, output_path="s3://b/o")
    executor.submit(make_request(job_dir, definition, {**hps, "x": "0.5"}))
    events = collect(executor, timeout=30)
    done = events[-1]
    assert isinstance(done, Finished)
    assert done.status is TrainingJobStatus.COMPLETED, done.failure_reason
    return json.loads((job_dir / "model" / "seen.json").read_text())


def test_a_program_reads_large_hyperparameters_both_ways(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    program = tmp_path / "read_hps.py"
    program.write_text(READER)
    hps = large_hyperparameters()
    seen = run(executor, tmp_path / "job", program.as_uri(), hps)
    user = {**hps, "x": "0.5"}
    assert seen["file"] == user
    assert seen["env"] == {k.upper(): v for k, v in user.items()}
    assert seen["aggregates"] == []  # each one over 128 KiB: left out
    log = (tmp_path / "job" / "logs" / "attempt-1.log").read_text().splitlines()
    assert log[-1] == "read 56 hyperparameters"
    said = [line.split(":", 1)[1].split(" is not set")[0].strip() for line in log[:-1]]
    assert said == list(AGGREGATES)  # the job's log says what was left out


def test_a_script_gets_large_hyperparameters_as_arguments(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "train.py").write_text(READER)
    script = {"sagemaker_program": '"train.py"', "sagemaker_submit_directory": str(code)}
    hps = large_hyperparameters()
    seen = run(executor, tmp_path / "job", SKLEARN, {**script, **hps})
    user = {**hps, "x": 0.5}  # the toolkit decodes "0.5"
    pairs = [(f"--{k}", v) for k, v in sorted(hps.items())]
    assert seen["args"] == [a for pair in pairs for a in pair] + ["-x", "0.5"]
    assert seen["file"] == {**script, **hps, "x": "0.5"}
    assert seen["env"] == {k.upper(): str(v) for k, v in user.items()}
    assert seen["aggregates"] == []


def test_a_nul_in_a_script_hyperparameter_fails_with_a_clear_reason(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "train.py").write_text(READER)
    static = {"sagemaker_program": "train.py", "sagemaker_submit_directory": str(code)}
    definition = make_definition(SKLEARN, static_hyperparameters=static, output_path="s3://b/o")
    executor.submit(make_request(tmp_path / "job", definition, {**static, "a": "x\0y"}))
    done = collect(executor, timeout=30)[-1]
    assert isinstance(done, Finished) and done.status is TrainingJobStatus.FAILED
    assert done.failure_reason == (
        "ScriptModeError: the value of the hyperparameter '-a' holds a NUL character "
        "(U+0000); script mode passes each hyperparameter to the script as command-line "
        "arguments (--name value), which cannot hold one"
    )
