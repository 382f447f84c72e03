"""The container contract: directory layout, config files, environment, argv, staging.

The end-to-end test runs a real program that dumps what it sees."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import tarfile
import time
from pathlib import Path

import pytest

from tunelab.domain.definition import (
    CheckpointSpec,
    DataChannel,
    ResourceSpec,
    TrainingJobDefinition,
)
from tunelab.domain.enums import SecondaryStatus, TrainingInputMode, TrainingJobStatus
from tunelab.domain.errors import Violation
from tunelab.domain.search_space import SearchSpace
from tunelab.execution.base import ExecutorEvent, Finished, LaunchRequest, OutputLines
from tunelab.execution.container import runs_in_container
from tunelab.execution.contract import (
    JobLayout,
    LaunchError,
    build_environment,
    decode_hyperparameters,
    prepare_job_dir,
    resolve_argv,
    user_args,
)
from tunelab.execution.local import LocalExecutor
from tunelab.execution.preflight import launch_problems
from tunelab.execution.staging import package_outputs, stage_channel
from tunelab.execution.storage import DataPlane

PROGRAMS = Path(__file__).parent / "programs"
ARN = "arn:aws:sagemaker:us-east-1:123456789012:training-job/"


def make_definition(image: str, **changes: object) -> TrainingJobDefinition:
    base = TrainingJobDefinition(
        name=None,
        objective=None,
        search_space=SearchSpace(),
        static_hyperparameters={},
        training_image=image,
        algorithm_name=None,
        input_mode=TrainingInputMode.FILE,
        metric_definitions=(),
        channels=(),
        output_path="s3://bucket/output",
        role_arn="arn:aws:iam::123456789012:role/tunelab",
    )
    return dataclasses.replace(base, **changes)


def make_request(
    job_dir: Path, definition: TrainingJobDefinition, hps: dict[str, str] | None = None
) -> LaunchRequest:
    name = job_dir.name
    return LaunchRequest(name, ARN + name, definition, dict(hps or {}), str(job_dir))


def collect(
    executor: LocalExecutor, timeout: float = 10.0, until: str | None = None
) -> list[ExecutorEvent]:
    """Poll until a Finished (or a line equal to ``until``) arrives."""
    events: list[ExecutorEvent] = []
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        executor.wait(0.5)
        events.extend(executor.poll())
        if any(isinstance(e, Finished) for e in events):
            return events
        if until is not None and until in lines_of(events):
            return events
    raise AssertionError(f"nothing conclusive within {timeout} s: {events}")


def lines_of(events: list[ExecutorEvent]) -> list[str]:
    return [line for e in events if isinstance(e, OutputLines) for line in e.lines]


def test_program_sees_the_whole_contract(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SM_STALE_FROM_PARENT", "1")
    monkeypatch.setenv("TUNELAB_PARENT_VAR", "inherited")
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    (data / "a.csv").write_text("1,2\n")
    (data / "sub" / "b.csv").write_text("3,4\n")
    (tmp_path / "valid.csv").write_text("5,6\n")
    channels = (
        DataChannel("train", str(data), content_type="text/csv"),
        DataChannel("validation", (tmp_path / "valid.csv").as_uri(), record_wrapper="RecordIO"),
    )
    definition = make_definition(
        (PROGRAMS / "dump_contract.py").as_uri(),
        channels=channels,
        resources=ResourceSpec("ml.m5.xlarge", 1, 10),
        environment={"MY_VAR": "mine", "PYTHONUNBUFFERED": "1"},
        output_path=(tmp_path / "out").as_uri(),
    )
    hps = {
        "learning_rate": "0.1",
        "optimizer": "adam",
        "epochs": "10",
        "flag": "true",
        "n": "3",
        "_tuning_objective_metric": "validation:loss",
        "sagemaker_program": "train.py",
        "sagemaker_extra": "1",
    }
    job_dir = tmp_path / "job-1"
    executor = LocalExecutor()
    executor.submit(make_request(job_dir, definition, hps))
    events = collect(executor, timeout=15.0)
    executor.close()
    finished = events[-1]
    assert isinstance(finished, Finished)
    assert finished.status is TrainingJobStatus.COMPLETED, finished.failure_reason
    lines = [line for e in events if isinstance(e, OutputLines) for line in e.lines]
    assert lines == ["contract dumped"]

    root = str(job_dir)
    seen = json.loads((job_dir / "model" / "contract.json").read_text())
    assert seen["argv"] == [str(PROGRAMS / "dump_contract.py"), "train"]
    assert seen["cwd"] == root
    for path in (
        "input/config/hyperparameters.json",
        "input/config/inputdataconfig.json",
        "input/config/resourceconfig.json",
        "input/data/train/a.csv",
        "input/data/train/sub/b.csv",
        "input/data/validation/valid.csv",
        "model/",
        "output/data/",
        "output/intermediate/",
        "checkpoints/",
        "logs/attempt-1.log",
    ):
        assert path in seen["files"], path
    # the staged copies go when the job ends (an instance's disk does); the data stays
    assert not (job_dir / "input" / "data").exists()
    assert (data / "sub" / "b.csv").read_text() == "3,4\n"
    assert (job_dir / "input/config/hyperparameters.json").exists()

    config = seen["config"]
    assert config["hyperparameters.json"] == hps
    data_config = {
        "train": {
            "ContentType": "text/csv",
            "TrainingInputMode": "File",
            "S3DistributionType": "FullyReplicated",
            "RecordWrapperType": "None",
        },
        "validation": {
            "TrainingInputMode": "File",
            "S3DistributionType": "FullyReplicated",
            "RecordWrapperType": "RecordIO",
        },
    }
    assert config["inputdataconfig.json"] == data_config
    resources = {
        "current_host": "algo-1",
        "current_instance_type": "ml.m5.xlarge",
        "current_group_name": "homogeneousCluster",
        "hosts": ["algo-1"],
        "instance_groups": [
            {
                "instance_group_name": "homogeneousCluster",
                "instance_type": "ml.m5.xlarge",
                "hosts": ["algo-1"],
            }
        ],
        "network_interface_name": "eth0",
    }
    assert config["resourceconfig.json"] == resources

    env = seen["env"]
    expected = {
        "TRAINING_JOB_NAME": "job-1",
        "TRAINING_JOB_ARN": ARN + "job-1",
        "MY_VAR": "mine",
        "TUNELAB_PARENT_VAR": "inherited",
        "PYTHONUNBUFFERED": "1",
        "SAGEMAKER_BASE_DIR": root,
        "SM_MODEL_DIR": f"{root}/model",
        "SM_INPUT_DIR": f"{root}/input",
        "SM_INPUT_CONFIG_DIR": f"{root}/input/config",
        "SM_OUTPUT_DIR": f"{root}/output",
        "SM_OUTPUT_DATA_DIR": f"{root}/output/data",
        "SM_OUTPUT_INTERMEDIATE_DIR": f"{root}/output/intermediate",
        "SM_CHANNEL_TRAIN": f"{root}/input/data/train",
        "SM_CHANNEL_VALIDATION": f"{root}/input/data/validation",
        "SM_HP_LEARNING_RATE": "0.1",
        "SM_HP_OPTIMIZER": "adam",
        "SM_HP_EPOCHS": "10",
        "SM_HP_FLAG": "true",
        "SM_HP_N": "3",
        "SM_CURRENT_HOST": "algo-1",
        "SM_HOSTS": '["algo-1"]',
        "SM_NUM_CPUS": str(os.cpu_count()),
        "SM_NUM_GPUS": "0",
        "SM_LOG_LEVEL": "20",
        "SM_NETWORK_INTERFACE_NAME": "eth0",
        "SM_CURRENT_INSTANCE_TYPE": "ml.m5.xlarge",
    }
    assert {k: env.get(k) for k in expected} == expected
    assert "SM_STALE_FROM_PARENT" not in env
    assert "SM_HP__TUNING_OBJECTIVE_METRIC" not in env
    assert "SM_HP_SAGEMAKER_PROGRAM" not in env
    assert json.loads(env["SM_CHANNELS"]) == ["train", "validation"]
    assert json.loads(env["SM_HPS"]) == {
        "learning_rate": 0.1,
        "optimizer": "adam",
        "epochs": 10,
        "flag": True,
        "n": 3,
    }
    assert json.loads(env["SM_USER_ARGS"]) == [
        "--epochs", "10", "--flag", "True", "--learning_rate", "0.1",
        "-n", "3", "--optimizer", "adam",
    ]  # fmt: skip
    assert json.loads(env["SM_FRAMEWORK_PARAMS"]) == {"sagemaker_extra": 1}
    assert json.loads(env["SM_RESOURCE_CONFIG"]) == resources
    assert json.loads(env["SM_INPUT_DATA_CONFIG"]) == data_config
    training_env = json.loads(env["SM_TRAINING_ENV"])
    assert training_env["job_name"] == "job-1"
    assert training_env["hyperparameters"] == json.loads(env["SM_HPS"])
    assert training_env["channel_input_dirs"] == {
        "train": f"{root}/input/data/train",
        "validation": f"{root}/input/data/validation",
    }
    assert training_env["model_dir"] == f"{root}/model"
    assert training_env["resource_config"] == resources

    artifacts = tmp_path / "out" / "job-1" / "output"
    assert finished.model_artifacts == (artifacts / "model.tar.gz").as_uri()
    with tarfile.open(artifacts / "model.tar.gz") as tar:
        assert tar.getnames() == ["contract.json"]
    assert (artifacts / "output.tar.gz").exists()


def test_decode_hyperparameters_like_the_toolkit() -> None:
    decoded = decode_hyperparameters(
        {"a": "0.1", "b": "abc", "c": "[1, 2]", "d": "null", "e": '"q"', "f": "1e-3"}
    )
    assert decoded == {"a": 0.1, "b": "abc", "c": [1, 2], "d": None, "e": "q", "f": 0.001}


def test_user_args_sorted_with_short_names() -> None:
    args = user_args({"lr": 0.1, "x": 2, "name": "abc", "opts": {"b": 1, "a": 2}})
    assert args == ["--lr", "0.1", "--name", "abc", "--opts", "a=2,b=1", "-x", "2"]


def test_environment_lets_the_definition_override_defaults(tmp_path: Path) -> None:
    definition = make_definition("file:///bin/true", environment={"PYTHONUNBUFFERED": "0"})
    request = make_request(tmp_path / "job", definition)
    layout = prepare_job_dir(request)
    env = build_environment(request, layout, base={"PATH": "/bin", "SAGEMAKER_BASE_DIR": "/x"})
    assert env["PATH"] == "/bin"
    assert env["PYTHONUNBUFFERED"] == "0"
    assert env["SAGEMAKER_BASE_DIR"] == str(tmp_path / "job")
    assert env["SM_CHANNELS"] == "[]"
    assert env["SM_HPS"] == "{}"
    assert env["SM_USER_ARGS"] == "[]"
    assert env["SM_CURRENT_INSTANCE_TYPE"] == "local"


def test_retry_gets_a_fresh_directory_but_keeps_checkpoints(tmp_path: Path) -> None:
    request = make_request(tmp_path / "job", make_definition("file:///bin/true"))
    layout = prepare_job_dir(request)
    Path(layout.model_dir, "old-model").write_text("x")
    Path(layout.failure_path).write_text("old failure")
    Path(layout.checkpoint_dir, "ckpt").write_text("keep")
    layout = prepare_job_dir(dataclasses.replace(request, attempt=2))
    assert os.listdir(layout.model_dir) == []
    assert not os.path.exists(layout.failure_path)
    assert Path(layout.checkpoint_dir, "ckpt").read_text() == "keep"


def test_checkpoint_local_path(tmp_path: Path) -> None:
    def layout_for(local_path: str | None) -> JobLayout:
        spec = CheckpointSpec("s3://bucket/ckpt", local_path)
        definition = make_definition("file:///bin/true", checkpoint=spec)
        return JobLayout.for_request(make_request(tmp_path / "job", definition))

    assert layout_for(None).checkpoint_dir == str(tmp_path / "job" / "checkpoints")
    assert layout_for("/opt/ml/checkpoints").checkpoint_dir == str(tmp_path / "job/checkpoints")
    assert layout_for(str(tmp_path / "ck")).checkpoint_dir == str(tmp_path / "ck")
    with pytest.raises(LaunchError, match="must be an absolute path"):
        layout_for("relative/ck")


def test_resolve_argv(tmp_path: Path) -> None:
    script = tmp_path / "train.py"
    script.write_text("print('hi')\n")
    program = tmp_path / "prog"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    plain = tmp_path / "plain"
    plain.write_text("data")

    def argv(image: str | None) -> list[str]:
        return resolve_argv(make_definition(image))  # type: ignore[arg-type]

    assert argv(script.as_uri()) == [sys.executable, str(script), "train"]
    assert argv(program.as_uri()) == [str(program), "train"]
    with pytest.raises(LaunchError, match="is not executable"):
        argv(plain.as_uri())
    with pytest.raises(LaunchError, match="does not exist"):
        argv((tmp_path / "missing").as_uri())
    with pytest.raises(LaunchError, match=r"no container engine answers here \(`docker info`"):
        argv("123456789012.dkr.ecr.us-east-1.amazonaws.com/algo:latest")
    sklearn = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
    script_mode = make_definition(sklearn, static_hyperparameters={"sagemaker_program": "t.py"})
    assert resolve_argv(script_mode) == [
        sys.executable, "-m", "tunelab.execution.script_entry", "train"
    ]  # fmt: skip
    with pytest.raises(LaunchError, match="is not an algorithm registered with tunelab"):
        argv(None)
    # an AlgorithmName runs its registered algorithm's program
    by_name = dataclasses.replace(make_definition(None), algorithm_name="my-algo")
    images = {"my-algo": script.as_uri()}
    assert resolve_argv(by_name, images.get) == [sys.executable, str(script), "train"]
    unknown = dataclasses.replace(by_name, algorithm_name="other")
    with pytest.raises(LaunchError, match="AlgorithmName 'other' is not an algorithm registered"):
        resolve_argv(unknown, images.get)


def test_a_bare_absolute_path_is_named_as_a_file_uri(tmp_path: Path) -> None:
    """A TrainingImage written as a path (``/abs/train.py``) was called a container
    image; it is a program to be written ``file:///abs/train.py``."""
    script = tmp_path / "train.py"
    script.write_text("print('hi')\n")
    definition = make_definition(str(script))
    reason = (
        f"'{script}' is a path: write it as file://{script} (tunelab runs programs "
        "named by file:// URIs)"
    )
    with pytest.raises(LaunchError) as raised:
        resolve_argv(definition)
    assert str(raised.value) == f"TrainingImage {reason}"
    assert not runs_in_container(str(script), {})
    assert launch_problems(definition, "TrainingJobDefinition") == [
        Violation("TrainingJobDefinition.AlgorithmSpecification.TrainingImage", reason)
    ]


def test_stage_a_directory_a_file_uri_and_a_missing_source(tmp_path: Path) -> None:
    source = tmp_path / "src"
    (source / "deep" / "er").mkdir(parents=True)
    (source / "x.txt").write_text("x")
    (source / "deep" / "er" / "y.txt").write_text("y")
    dest = tmp_path / "dest"
    dest.mkdir()
    stage_channel(DataChannel("train", source.as_uri()), str(dest))
    assert (dest / "x.txt").read_text() == "x"
    assert (dest / "deep" / "er" / "y.txt").read_text() == "y"

    single = tmp_path / "dest-single"
    single.mkdir()
    stage_channel(DataChannel("train", str(source / "x.txt")), str(single))
    assert os.listdir(single) == ["x.txt"]

    fsx = tmp_path / "dest-fs"
    fsx.mkdir()
    stage_channel(DataChannel("train", str(source), s3_data_type="FileSystem"), str(fsx))
    assert fsx.resolve() == source.resolve()  # mounted in place, not copied
    assert (fsx / "deep" / "er" / "y.txt").exists()

    with pytest.raises(LaunchError) as missing:
        stage_channel(DataChannel("train", "file:///x/y"), str(dest))
    assert missing.value.reason == "channel 'train': data source file:///x/y does not exist"
    with pytest.raises(LaunchError) as s3:
        stage_channel(DataChannel("train", "s3://bucket/train"), str(dest), DataPlane())
    assert s3.value.reason == (
        "channel 'train': s3://bucket/train: s3:// locations are not reachable here (s3:// "
        "needs tunelab's local object store or AWS_ENDPOINT_URL_S3)"
    )


def test_package_outputs_layout(tmp_path: Path) -> None:
    request = make_request(tmp_path / "job", make_definition("file:///bin/true"))
    layout = prepare_job_dir(request)
    Path(layout.model_dir, "sub").mkdir()
    Path(layout.model_dir, "sub", "w.bin").write_bytes(b"\0\1")
    Path(layout.output_data_dir, "eval.json").write_text("{}")
    uri = package_outputs(layout, str(tmp_path / "out"), "job")
    model = tmp_path / "out" / "job" / "output" / "model.tar.gz"
    assert uri == model.as_uri()
    with tarfile.open(model) as tar:
        assert sorted(tar.getnames()) == ["sub", "sub/w.bin"]
    with tarfile.open(model.with_name("output.tar.gz")) as tar:
        assert tar.getnames() == ["eval.json"]
    assert package_outputs(layout, "s3://bucket/out", "job") is None


def test_launch_failures_are_reported_not_raised(tmp_path: Path) -> None:
    executor = LocalExecutor()
    missing = DataChannel("train", "file:///x/y")
    definition = make_definition((PROGRAMS / "behave.py").as_uri(), channels=(missing,))
    executor.submit(make_request(tmp_path / "job", definition))
    assert executor.running() == 1
    events = collect(executor)  # the launch runs in a worker thread (launch_pool.py)
    assert executor.running() == 0
    assert [type(e).__name__ for e in events] == ["StatusChanged", "Finished"]
    assert events[0].secondary is SecondaryStatus.DOWNLOADING  # type: ignore[union-attr]
    finished = events[1]
    assert isinstance(finished, Finished)
    assert finished.status is TrainingJobStatus.FAILED
    assert finished.failure_reason == "channel 'train': data source file:///x/y does not exist"
    executor.close()
