"""Reading a CreateAlgorithm request file: as a job file is read (strict JSON, YAML 1.2
scalars, the API's limits on numbers and nesting), with a relative TrainingImage."""

from __future__ import annotations

from pathlib import Path

import pytest

from tunelab.cli.algorithm_commands import load_algorithm_file
from tunelab.domain.errors import ValidationError


def test_a_relative_training_image_is_made_absolute_and_words_stay_strings(
    tmp_path: Path,
) -> None:
    path = tmp_path / "algo.yaml"
    path.write_text(
        "AlgorithmName: my-algo\n"
        "TrainingSpecification:\n"
        "  TrainingImage: file:train.py\n"
        "  SupportedTrainingInstanceTypes: [ml.m5.large]\n"
        "  SupportedHyperParameters:\n"
        "    - {Name: mode, Type: Categorical, Range: {CategoricalParameterRangeSpecification:"
        " {Values: [on, off]}}}\n"
    )
    training = load_algorithm_file(path)["TrainingSpecification"]
    assert training["TrainingImage"] == (tmp_path / "train.py").as_uri()
    values = training["SupportedHyperParameters"][0]["Range"]
    assert values["CategoricalParameterRangeSpecification"]["Values"] == ["on", "off"]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("algo.json", '{"TrainingSpecification": {"X": NaN}}', "NaN is not a JSON number"),
        ("algo.yaml", "a: " + "[" * 70 + "]" * 70, "nests objects and arrays more than 64"),
        ("algo.yaml", "a: " + "1" * 5001, "a number of 5001 digits is too long to read"),
        ("algo.yaml", "- a\n- b\n", "a CreateAlgorithm request is one object; found list"),
        ("algo.yaml", "a: [\n", "algo.yaml:2:1: not valid YAML"),
    ],
    ids=["NaN", "deep", "long number", "a list", "syntax"],
)
def test_what_the_api_refuses_is_refused_naming_the_file(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ValidationError, match=message) as raised:
        load_algorithm_file(path)
    assert str(raised.value).startswith(str(path))
