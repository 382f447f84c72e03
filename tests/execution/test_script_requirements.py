"""Script mode installs ``requirements.txt`` as the toolkit does, into a virtual
environment layered on tunelab's Python and cached per requirements: real jobs through the
local executor, offline (the requirement is a wheel built here, ``--no-index``)."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tunelab.domain.enums import TrainingJobStatus
from tunelab.execution.base import ExecutorEvent, Finished, OutputLines
from tunelab.execution.contract import build_environment, prepare_job_dir
from tunelab.execution.local import LocalExecutor

from .test_contract import collect, lines_of, make_definition, make_request

SKLEARN = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
WHEEL = "tunelab_req_probe-0.1-py3-none-any.whl"
REQUIREMENTS = f"--no-index\n./{WHEEL}\nnumpy  # tunelab's, already installed\n"
TRAIN = """\
import os
import sys

import numpy as np
import tunelab_req_probe

print(f"probe={tunelab_req_probe.VALUE} at {tunelab_req_probe.__file__}")
print(f"numpy at {np.__file__}")
print(f"prefix={sys.prefix} virtual_env={os.environ.get('VIRTUAL_ENV')}")
print(f"validation:accuracy={np.mean([0.5, 1.0]) * tunelab_req_probe.VALUE / 7:.4f};")
"""
RUN_SH = '#!/bin/sh\nexec python train.py "$@"\n'  # `python` is the environment's (PATH)


@pytest.fixture(autouse=True)
def envs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The environments go to the test's folder (the executor passes it on to jobs)."""
    monkeypatch.setenv("TUNELAB_SCRIPT_ENVS", str(tmp_path / "envs"))
    return (tmp_path / "envs").resolve()


def probe_wheel(folder: Path, value: int = 7) -> Path:
    """A minimal pure-Python wheel of the module ``tunelab_req_probe`` (``VALUE``)."""
    info = "tunelab_req_probe-0.1.dist-info"
    files = {
        "tunelab_req_probe.py": f"VALUE = {value}\n".encode(),
        f"{info}/METADATA": b"Metadata-Version: 2.1\nName: tunelab_req_probe\nVersion: 0.1\n",
        f"{info}/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: tunelab-tests\nRoot-Is-Purelib: true\n"
            b"Tag: py3-none-any\n"
        ),
    }
    record = [
        f"{name},sha256={_b64(hashlib.sha256(data).digest())},{len(data)}"
        for name, data in files.items()
    ]
    files[f"{info}/RECORD"] = ("\n".join([*record, f"{info}/RECORD,,"]) + "\n").encode()
    path = folder / WHEEL
    with zipfile.ZipFile(path, "w") as wheel:
        for name, data in files.items():
            wheel.writestr(zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0)), data)  # reproducible
    return path


def _b64(digest: bytes) -> str:
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def submit_dir(folder: Path, requirements: str = REQUIREMENTS) -> Path:
    folder.mkdir(parents=True)
    probe_wheel(folder)
    (folder / "requirements.txt").write_text(requirements)
    (folder / "train.py").write_text(TRAIN)
    (folder / "run.sh").write_text(RUN_SH)
    return folder


def submit(executor: LocalExecutor, job_dir: Path, source: Path, program: str = "train.py"):
    static = {"sagemaker_program": program, "sagemaker_submit_directory": str(source)}
    definition = make_definition(
        SKLEARN, static_hyperparameters=static, output_path=str(job_dir.parent / "out")
    )
    executor.submit(make_request(job_dir, definition, static))


Outcomes = tuple[dict[str, Finished], dict[str, list[str]]]


def run_all(executor: LocalExecutor, count: int, timeout: float = 240) -> Outcomes:
    """Poll until ``count`` jobs finished: their Finished events and log lines by name."""
    events: list[ExecutorEvent] = []
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        executor.wait(0.5)
        events.extend(executor.poll())
        done = {e.name: e for e in events if isinstance(e, Finished)}
        if len(done) == count:
            lines: dict[str, list[str]] = {name: [] for name in done}
            for e in events:
                if isinstance(e, OutputLines):
                    lines[e.name].extend(e.lines)
            return done, lines
    raise AssertionError(f"not all jobs finished within {timeout} s: {events}")


def env_dirs(envs: Path) -> list[Path]:
    return sorted(p for p in envs.iterdir() if p.is_dir()) if envs.exists() else []


def metric(lines: list[str]) -> float:
    [value] = [line.split("=")[1].rstrip(";") for line in lines if line.startswith("validation:")]
    return float(value)


def test_requirements_are_installed_once_and_reused(
    executor: LocalExecutor, tmp_path: Path, envs: Path
) -> None:
    source = submit_dir(tmp_path / "src")
    started = time.monotonic()
    submit(executor, tmp_path / "job-1", source)
    finished, logs = run_all(executor, 1)
    took = time.monotonic() - started
    done, lines = finished["job-1"], logs["job-1"]
    assert done.status is TrainingJobStatus.COMPLETED, (done.failure_reason, lines)
    assert metric(lines) == 0.75
    [env] = env_dirs(envs)
    assert "Installing dependencies from requirements.txt:" in lines
    assert f"tunelab: requirements.txt installed into the environment {env}" in lines
    assert (env / "requirements.txt").read_text() == REQUIREMENTS
    site_packages = next(env.glob("lib/python*/site-packages"))
    probe = next(line for line in lines if line.startswith("probe="))
    assert probe == f"probe=7 at {site_packages / 'tunelab_req_probe.py'}"
    # numpy stays tunelab's: importable from the base and not installed again
    assert f"numpy at {np.__file__}" in lines
    assert not list(site_packages.glob("numpy*"))
    assert f"prefix={env} virtual_env={env}" in lines
    print(f"first job, environment built: {took:.1f} s")

    # same requirements, an executable program: the environment is reused, its bin on PATH
    started = time.monotonic()
    submit(executor, tmp_path / "job-2", submit_dir(tmp_path / "src2"), program="run.sh")
    finished, logs = run_all(executor, 1)
    done, lines = finished["job-2"], logs["job-2"]
    print(f"second job, environment reused: {time.monotonic() - started:.1f} s")
    assert done.status is TrainingJobStatus.COMPLETED, (done.failure_reason, lines)
    assert f"tunelab: reusing the environment {env} (requirements.txt installed)" in lines
    assert "Installing dependencies from requirements.txt:" not in lines
    assert probe in lines and f"prefix={env} virtual_env={env}" in lines
    assert metric(lines) == 0.75
    assert env_dirs(envs) == [env]


def test_another_wheel_under_the_same_name_gets_another_environment(
    executor: LocalExecutor, tmp_path: Path, envs: Path
) -> None:
    for i, value in enumerate((7, 14)):
        source = submit_dir(tmp_path / f"src{i}")
        probe_wheel(source, value)
        submit(executor, tmp_path / f"job-{i}", source)
        finished, logs = run_all(executor, 1)
        done, lines = finished[f"job-{i}"], logs[f"job-{i}"]
        assert done.status is TrainingJobStatus.COMPLETED, (done.failure_reason, lines)
        assert f"probe={value}" in next(line for line in lines if line.startswith("probe="))
    assert len(env_dirs(envs)) == 2


def test_a_failed_install_fails_the_job_and_leaves_no_environment(
    executor: LocalExecutor, tmp_path: Path, envs: Path
) -> None:
    source = submit_dir(tmp_path / "src", "--no-index\n./missing-0.1-py3-none-any.whl\n")
    submit(executor, tmp_path / "job", source)
    finished, logs = run_all(executor, 1)
    done, lines = finished["job"], logs["job"]
    assert done.status is TrainingJobStatus.FAILED
    assert done.failure_reason is not None
    assert re.fullmatch(
        r"InstallRequirementsError: pip install -r requirements\.txt failed with exit code "
        r"[1-9][0-9]* \(see the log\)",
        done.failure_reason,
    ), done.failure_reason
    assert any("missing-0.1-py3-none-any.whl" in line for line in lines)  # pip's own error
    assert not any(line.startswith("Invoking script") for line in lines)
    assert env_dirs(envs) == []


def test_a_job_stopped_while_installing_leaves_no_environment(
    executor: LocalExecutor, tmp_path: Path, envs: Path
) -> None:
    fifo = tmp_path / "never-written"
    os.mkfifo(fifo)  # pip blocks opening it: the job is stopped while installing
    submit(executor, tmp_path / "job", submit_dir(tmp_path / "src", f"-r {fifo}\n"))
    started = "Installing dependencies from requirements.txt:"
    assert started in lines_of(collect(executor, timeout=60, until=started))
    executor.stop("job")
    finished, _ = run_all(executor, 1)
    assert finished["job"].status is TrainingJobStatus.STOPPED
    assert env_dirs(envs) == []
    assert [p.name for p in envs.iterdir() if ".tmp-" in p.name] == []


def test_parallel_jobs_with_the_same_requirements_build_one_environment(
    executor: LocalExecutor, tmp_path: Path, envs: Path
) -> None:
    for i in (1, 2):
        submit(executor, tmp_path / f"job-{i}", submit_dir(tmp_path / f"src{i}"))
    done, lines = run_all(executor, 2)
    for name, finished in done.items():
        assert finished.status is TrainingJobStatus.COMPLETED, (finished.failure_reason, lines)
        assert metric(lines[name]) == 0.75
    [env] = env_dirs(envs)
    built = [n for n in done if "Installing dependencies from requirements.txt:" in lines[n]]
    reused = [
        n
        for n in done
        if f"tunelab: reusing the environment {env} (requirements.txt installed)" in lines[n]
    ]
    assert len(built) == 1 and len(reused) == 1 and built != reused


def test_the_executor_tells_script_jobs_where_the_environments_are(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    static = {"sagemaker_program": "train.py", "sagemaker_submit_directory": str(tmp_path)}
    script = make_request(
        tmp_path / "job", make_definition(SKLEARN, static_hyperparameters=static)
    )
    layout = prepare_job_dir(script)
    home = tmp_path / "home"
    env = build_environment(script, layout, base={"TUNELAB_HOME": str(home)})
    assert env["TUNELAB_SCRIPT_ENVS"] == str(home.resolve() / "script-envs")
    env = build_environment(script, layout, base={"TUNELAB_SCRIPT_ENVS": "~/envs"})
    assert env["TUNELAB_SCRIPT_ENVS"] == str(Path.home() / "envs")
    monkeypatch.setenv("HOME", str(tmp_path))
    env = build_environment(script, layout, base={})
    assert env["TUNELAB_SCRIPT_ENVS"] == str(tmp_path.resolve() / ".tunelab" / "script-envs")
    other = make_request(tmp_path / "job2", make_definition(Path(sys.executable).as_uri()))
    assert "TUNELAB_SCRIPT_ENVS" not in build_environment(other, prepare_job_dir(other), {})
    assert os.path.isabs(env["TUNELAB_SCRIPT_ENVS"])


def test_without_the_environments_folder_the_job_fails_saying_so(tmp_path: Path) -> None:
    (tmp_path / "code").mkdir()
    (tmp_path / "output").mkdir()
    (tmp_path / "code" / "train.py").write_text("print('never run')\n")
    (tmp_path / "code" / "requirements.txt").write_text("--no-index\n")
    env = {k: v for k, v in os.environ.items() if k != "TUNELAB_SCRIPT_ENVS"}
    env.update(SAGEMAKER_BASE_DIR=str(tmp_path), SM_USER_ENTRY_POINT="train.py")
    done = subprocess.run(
        [sys.executable, "-m", "tunelab.execution.script_entry", "train"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "never run" not in done.stdout
    assert (tmp_path / "output" / "failure").read_text() == (
        "InstallRequirementsError: TUNELAB_SCRIPT_ENVS is not set "
        "(tunelab's executor sets it for script-mode jobs)"
    )
