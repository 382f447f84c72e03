"""Reading job files: JSON and YAML, syntax errors with line and column,
relative local references resolved against the file's folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.factories import make_document
from tunelab.cli.jobfile import load_job_file
from tunelab.domain.errors import ValidationError


def test_relative_file_references_are_made_absolute(tmp_path: Path) -> None:
    document = make_document(
        image="file:train.py",
        InputDataConfig=[
            {
                "ChannelName": "train",
                "DataSource": {
                    "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "file:data/train/"}
                },
            }
        ],
        CheckpointConfig={"S3Uri": "file:../ckpt"},
        OutputDataConfig={"S3OutputPath": "file:out"},
    )
    folder = tmp_path / "jobs"
    folder.mkdir()
    (folder / "job.json").write_text(json.dumps(document))
    loaded = load_job_file(folder / "job.json")["TrainingJobDefinition"]
    assert loaded["AlgorithmSpecification"]["TrainingImage"] == f"file://{folder}/train.py"
    source = loaded["InputDataConfig"][0]["DataSource"]["S3DataSource"]
    assert source["S3Uri"] == f"file://{folder}/data/train/"  # the trailing slash is kept
    assert loaded["CheckpointConfig"]["S3Uri"] == f"file://{tmp_path}/ckpt"
    assert loaded["OutputDataConfig"]["S3OutputPath"] == f"file://{folder}/out"


def test_absolute_and_remote_references_are_left_alone(tmp_path: Path) -> None:
    document = make_document(
        image="file:///opt/train.py", OutputDataConfig={"S3OutputPath": "s3://b/p"}
    )
    (tmp_path / "job.json").write_text(json.dumps(document))
    loaded = load_job_file(tmp_path / "job.json")["TrainingJobDefinition"]
    assert loaded["AlgorithmSpecification"]["TrainingImage"] == "file:///opt/train.py"
    assert loaded["OutputDataConfig"]["S3OutputPath"] == "s3://b/p"


def test_yaml_files_read_like_json(tmp_path: Path) -> None:
    path = tmp_path / "job.yaml"
    path.write_text(
        "HyperParameterTuningJobName: y1\n"
        "HyperParameterTuningJobConfig:\n"
        "  Strategy: Random\n"
        "  TrainingJobEarlyStoppingType: 'Off'\n"
        "  ResourceLimits: {MaxParallelTrainingJobs: 1}\n"
    )
    assert load_job_file(path)["HyperParameterTuningJobConfig"] == {
        "Strategy": "Random",
        "TrainingJobEarlyStoppingType": "Off",
        "ResourceLimits": {"MaxParallelTrainingJobs": 1},
    }


def test_yaml_words_and_times_are_the_strings_they_look_like(tmp_path: Path) -> None:
    """YAML 1.2's rules, not 1.1's: a bare Off is the enum value, not false; 1:30 is not
    90 (base 60); yes and no stay categorical values."""
    path = tmp_path / "job.yaml"
    path.write_text(
        "HyperParameterTuningJobConfig:\n"
        "  TrainingJobEarlyStoppingType: Off\n"
        "  ParameterRanges:\n"
        "    CategoricalParameterRanges: [{Name: shuffle, Values: [yes, no]}]\n"
        "TrainingJobDefinition:\n"
        "  StaticHyperParameters: {window: 1:30, since: 2026-11-30}\n"
        "  EnableManagedSpotTraining: true\n"
    )
    loaded = load_job_file(path)
    config, definition = loaded["HyperParameterTuningJobConfig"], loaded["TrainingJobDefinition"]
    assert config["TrainingJobEarlyStoppingType"] == "Off"
    assert config["ParameterRanges"]["CategoricalParameterRanges"][0]["Values"] == ["yes", "no"]
    assert definition["StaticHyperParameters"] == {"window": "1:30", "since": "2026-11-30"}
    assert definition["EnableManagedSpotTraining"] is True


def test_json_syntax_errors_name_the_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "job.json"
    path.write_text('{\n  "HyperParameterTuningJobName": "x",\n  oops\n}')
    with pytest.raises(
        ValidationError, match=r"job.json:3:3: not valid JSON: Expecting property name"
    ):
        load_job_file(path)


def test_yaml_syntax_errors_name_the_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "job.yml"
    path.write_text("a: 1\nb: [1, 2\n")
    with pytest.raises(ValidationError, match=r"job.yml:3:1: not valid YAML"):
        load_job_file(path)


def test_a_file_must_hold_one_object(tmp_path: Path) -> None:
    path = tmp_path / "job.json"
    path.write_text("[1, 2]")
    with pytest.raises(ValidationError, match=r"a tuning job file holds one object .* found list"):
        load_job_file(path)
    with pytest.raises(ValidationError, match="no such file"):
        load_job_file(tmp_path / "missing.json")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '{"HyperParameterTuningJobConfig": {"TuningJobCompletionCriteria": '
            '{"TargetObjectiveMetricValue": NaN}}}',
            "job.json: HyperParameterTuningJobConfig.TuningJobCompletionCriteria."
            "TargetObjectiveMetricValue: NaN is not a JSON number (RFC 8259 JSON has no NaN "
            "or Infinity; a number must be finite)",
        ),
        (
            '{"Tags": [{"Key": "k", "Value": -Infinity}]}',
            "job.json: Tags[0].Value: -Infinity is not a JSON number",
        ),
        (
            '{"HyperParameterTuningJobConfig": {"RandomSeed": ' + "1" * 5001 + "}}",
            "job.json: HyperParameterTuningJobConfig.RandomSeed: a number of 5001 digits is too "
            "long to read (at most 4300 digits)",
        ),
        ("[" * 3000 + "]" * 3000, "job.json: the file nests objects and arrays more than 64"),
        ('{"a": ' * 65 + "1" + "}" * 65, "job.json: the file nests objects and arrays more"),
    ],
    ids=["NaN", "-Infinity", "5001 digits", "3000 levels", "65 levels"],
)
def test_json_that_the_api_refuses_is_refused_clearly(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "job.json"
    path.write_text(text)
    with pytest.raises(ValidationError) as raised:
        load_job_file(path)
    assert str(raised.value).startswith(f"{tmp_path}/{message}")


def test_yaml_too_deep_or_with_too_long_a_number_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "job.yaml"
    path.write_text("a: " + "[" * 3000 + "]" * 3000 + "\n")
    with pytest.raises(ValidationError, match="the file nests objects and arrays more than 64"):
        load_job_file(path)
    path.write_text("a: " + "[" * 65 + "]" * 65 + "\n")
    with pytest.raises(ValidationError, match="the file nests objects and arrays more than 64"):
        load_job_file(path)
    path.write_text("a: 1\nb: " + "7" * 5001 + "\n")
    with pytest.raises(
        ValidationError,
        match=r"job.yaml:2:4: not valid YAML: a number of 5001 digits is too long to read",
    ):
        load_job_file(path)
