"""Autotune: AutoParameters become ranges (built-in metadata, else the hint), and
the settings a request leaves out are chosen and stored, so Describe shows them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.service.test_tuning import document
from tunelab.algorithms import catalog
from tunelab.algorithms.spec import Hyperparameter
from tunelab.api.codecs import describe_tuning_job
from tunelab.domain.errors import ValidationError
from tunelab.service.autotune import autotune, range_for
from tunelab.service.settings import Settings
from tunelab.service.tuning import TuningService
from tunelab.store.sql.store import SqlStore

CONFIG = "HyperParameterTuningJobConfig"


@pytest.fixture
def service(tmp_path: Path) -> Iterator[TuningService]:
    store = SqlStore(f"sqlite:///{tmp_path / 'db.sqlite'}")
    yield TuningService(Settings(home=tmp_path, database_url=store.url), store)
    store.close()


def autotuned(strategy: str = "Bayesian", **auto: str) -> dict[str, Any]:
    """The end-to-end program's request with only AutoParameters as ranges."""
    request = document(strategy=strategy)
    config = request[CONFIG]
    config["ParameterRanges"] = {
        "AutoParameters": [{"Name": n, "ValueHint": v} for n, v in auto.items()]
    }
    del config["ResourceLimits"]["MaxNumberOfTrainingJobs"]
    config.pop("TrainingJobEarlyStoppingType", None)
    request["Autotune"] = {"Mode": "Enabled"}
    return request


def test_hints_become_ranges_around_them() -> None:
    assert range_for("epochs", "100", None) == (
        "IntegerParameterRanges",
        {"Name": "epochs", "MinValue": "25", "MaxValue": "400", "ScalingType": "Logarithmic"},
    )
    assert range_for("depth", "2", None)[1] | {"Name": "depth"} == {
        "Name": "depth",
        "MinValue": "1",
        "MaxValue": "8",
        "ScalingType": "Linear",
    }
    assert range_for("lr", "0.01", None) == (
        "ContinuousParameterRanges",
        {"Name": "lr", "MinValue": "0.001", "MaxValue": "0.1", "ScalingType": "Logarithmic"},
    )
    assert range_for("dropout", "0.5", None)[1]["MaxValue"] == "1"  # a share stays below 1
    assert range_for("shift", "-3.0", None)[1] == {
        "Name": "shift",
        "MinValue": "-30",
        "MaxValue": "-0.3",
        "ScalingType": "Linear",
    }
    assert range_for("bias", "true", None) == (
        "CategoricalParameterRanges",
        {"Name": "bias", "Values": ["true", "false"]},
    )
    with pytest.raises(ValueError, match="ValueHint 'adam' of 'optimizer' is not a number"):
        range_for("optimizer", "adam", None)


def test_a_built_in_algorithm_gives_its_recommended_ranges_and_valid_bounds() -> None:
    xgboost = catalog.get("xgboost")
    assert xgboost is not None
    assert range_for("eta", "0.3", xgboost.hyperparameter("eta")) == (
        "ContinuousParameterRanges",
        {"Name": "eta", "MinValue": "0.1", "MaxValue": "0.5", "ScalingType": "Linear"},
    )
    booster = range_for("booster", "gbtree", xgboost.hyperparameter("booster"))
    assert booster == (
        "CategoricalParameterRanges",
        {"Name": "booster", "Values": ["gbtree", "gblinear", "dart"]},
    )
    # no recommended range: the hint's range, clipped to the valid bounds
    leaves = Hyperparameter("leaves", "Integer", "Leaves per tree.", low=2, high=12)
    assert range_for("leaves", "5", leaves)[1] == {
        "Name": "leaves",
        "MinValue": "2",
        "MaxValue": "12",
        "ScalingType": "Linear",
    }


def test_autotune_fills_in_what_the_request_leaves_out(service: TuningService) -> None:
    spec = service.validate(autotuned(x="0.5", epochs="3"))
    config = spec.document[CONFIG]
    ranges = config["ParameterRanges"]
    assert [r["Name"] for r in ranges["ContinuousParameterRanges"]] == ["x"]
    assert [r["Name"] for r in ranges["IntegerParameterRanges"]] == ["epochs"]
    assert config["ResourceLimits"]["MaxNumberOfTrainingJobs"] == 20
    assert config["TrainingJobEarlyStoppingType"] == "Auto"
    assert config["TuningJobCompletionCriteria"] == {
        "ConvergenceDetected": {"CompleteOnConvergence": "Enabled"}
    }
    assert spec.document["TrainingJobDefinition"]["RetryStrategy"] == {"MaximumRetryAttempts": 2}
    assert spec.max_jobs == 20 and spec.completion.complete_on_convergence
    assert sorted(spec.definitions[0].search_space.names) == ["epochs", "x"]


def test_settings_the_request_gives_are_kept(service: TuningService) -> None:
    request = autotuned(strategy="Random", x="0.5")
    request[CONFIG]["ResourceLimits"]["MaxNumberOfTrainingJobs"] = 7
    request[CONFIG]["TrainingJobEarlyStoppingType"] = "Off"
    request[CONFIG]["ParameterRanges"]["IntegerParameterRanges"] = [
        {"Name": "epochs", "MinValue": "1", "MaxValue": "5"}
    ]
    config = service.validate(request).document[CONFIG]
    assert config["ResourceLimits"]["MaxNumberOfTrainingJobs"] == 7
    assert config["TrainingJobEarlyStoppingType"] == "Off"
    assert config["ParameterRanges"]["IntegerParameterRanges"] == [
        {"Name": "epochs", "MinValue": "1", "MaxValue": "5"}
    ]
    assert "TuningJobCompletionCriteria" not in config  # Random has no convergence model


def test_bad_auto_parameters_are_refused_naming_them(service: TuningService) -> None:
    request = autotuned(x="fast", epochs="3")
    request[CONFIG]["ParameterRanges"]["IntegerParameterRanges"] = [
        {"Name": "epochs", "MinValue": "1", "MaxValue": "5"}
    ]
    with pytest.raises(ValidationError) as error:
        service.validate(request)
    assert [str(v) for v in error.value.violations] == [
        f"{CONFIG}.ParameterRanges.AutoParameters[0]: ValueHint 'fast' of 'x' is not a "
        "number, true or false, and no algorithm metadata lists its values: give its range "
        "explicitly",
        f"{CONFIG}.ParameterRanges.AutoParameters[1]: 'epochs' already has a range; name it once",
    ]

    without = autotuned(x="0.5")
    del without["Autotune"]
    with pytest.raises(ValidationError, match=r"AutoParameters: AutoParameters need Autotune"):
        service.validate(without)


def test_describe_shows_autotunes_choices(service: TuningService) -> None:
    service.create(autotuned(x="0.5"))
    wire = describe_tuning_job(service.describe("job-1"))
    config = wire[CONFIG]
    assert wire["Autotune"] == {"Mode": "Enabled"}
    assert config["ResourceLimits"]["MaxNumberOfTrainingJobs"] == 20
    assert config["TrainingJobEarlyStoppingType"] == "Auto"
    [chosen] = config["ParameterRanges"]["ContinuousParameterRanges"]
    assert chosen == {
        "Name": "x",
        "MinValue": "0.05",
        "MaxValue": "1",
        "ScalingType": "Logarithmic",
    }


def test_the_same_autotuned_request_resumes(service: TuningService) -> None:
    created, resumed = service.create_or_resume(autotuned(x="0.5"))
    again, resumed = service.create_or_resume(autotuned(x="0.5"))
    assert resumed and again.name == created.name


def test_autotune_without_auto_parameters_changes_nothing_else() -> None:
    request = document()
    request["Autotune"] = {"Mode": "Enabled"}
    result = autotune(request, max_training_jobs=500)
    assert result[CONFIG]["ParameterRanges"] == request[CONFIG]["ParameterRanges"]
    assert result[CONFIG]["ResourceLimits"] == request[CONFIG]["ResourceLimits"]
