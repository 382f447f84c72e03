"""Algorithms registered by name (CreateAlgorithm) and definitions that use them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.factories import make_algorithm
from tests.service.test_tuning import PROGRAM, document
from tunelab.domain.enums import TrainingJobStatus, TuningJobStatus
from tunelab.domain.errors import ResourceInUse, ValidationError
from tunelab.execution import container
from tunelab.service.settings import Settings
from tunelab.service.tuning import TuningService
from tunelab.store.sql.store import SqlStore


def algorithm(name: str = "epochs-algo", image: str = f"file://{PROGRAM}") -> dict:
    defaults = [
        {"Name": "epochs", "Type": "Integer", "DefaultValue": "3"},
        {"Name": "seconds_per_epoch", "Type": "Continuous", "DefaultValue": "0.2"},
    ]
    return make_algorithm(name, image, defaults)


@pytest.fixture
def service(tmp_path: Path) -> Iterator[TuningService]:
    store = SqlStore(f"sqlite:///{tmp_path / 'db.sqlite'}")
    yield TuningService(
        Settings(home=tmp_path, database_url=store.url, stop_grace_seconds=2), store
    )
    store.close()


def by_name(name: str, **changes) -> dict:
    request = document(**changes)
    spec = request["TrainingJobDefinition"]["AlgorithmSpecification"]
    del spec["TrainingImage"], spec["MetricDefinitions"]
    spec["AlgorithmName"] = name
    return request


def test_a_definition_runs_its_registered_algorithm_with_its_metrics(
    service: TuningService, monkeypatch: pytest.MonkeyPatch
) -> None:
    service.algorithms.create(algorithm())
    with pytest.raises(ResourceInUse, match="Algorithm 'EPOCHS-ALGO' already exists"):
        service.algorithms.create(algorithm("EPOCHS-ALGO"))
    monkeypatch.setenv("RUNS_LOG", str(service.settings.home / "runs.log"))
    job = service.create(
        by_name("epochs-algo", max_jobs=2, StaticHyperParameters={"seconds_per_epoch": "0"})
    )
    # the stored request shows the algorithm's predefined metric definitions
    stored = job.spec.definitions[0]
    assert stored.algorithm_name == "epochs-algo" and stored.training_image is None
    assert [m.name for m in stored.metric_definitions] == ["loss"]
    final = service.run(job.name)
    assert final.status is TuningJobStatus.COMPLETED
    jobs = service.training_jobs_of(job.name)
    assert all(
        j.status is TrainingJobStatus.COMPLETED and j.final_objective_value is not None
        for j in jobs
    )


def test_an_unknown_algorithm_is_refused(service: TuningService) -> None:
    with pytest.raises(ValidationError) as error:
        service.validate(by_name("nope"))
    assert str(error.value) == (
        "TrainingJobDefinition.AlgorithmSpecification.AlgorithmName: no algorithm named 'nope' "
        "is registered with tunelab (CreateAlgorithm)"
    )


def test_algorithms_must_name_a_local_program(service: TuningService) -> None:
    with pytest.raises(
        ValidationError, match=r"TrainingSpecification\.TrainingImage: tunelab runs local programs"
    ):
        service.algorithms.create(algorithm(image="xgboost:1.7"))
    service.algorithms.create(algorithm(image="file:///nowhere/train.py"))
    with pytest.raises(
        ValidationError, match=r"the program file:///nowhere/train\.py does not exist"
    ):
        service.validate(by_name("epochs-algo"))


def test_a_near_miss_builtin_image_and_a_bare_path_are_told_what_to_write(
    service: TuningService,
) -> None:
    """An image that looks like SageMaker's XGBoost image but names another region's
    account is told so (it was told only that no MetricDefinition had the objective's
    name); a program named by a bare path is told its file:// URI."""
    request = document()
    spec = request["TrainingJobDefinition"]["AlgorithmSpecification"]
    del spec["MetricDefinitions"]
    spec["TrainingImage"] = "683313688378.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1"
    with pytest.raises(ValidationError) as error:
        service.validate(request)
    assert [str(v) for v in error.value.violations] == [
        "TrainingJobDefinition.AlgorithmSpecification.TrainingImage: "
        "'683313688378.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1' looks like "
        "SageMaker's image of the built-in algorithm xgboost, but tunelab does not recognize "
        "it: the account of sagemaker-xgboost in eu-west-1 is 141502667606, not 683313688378 "
        "(683313688378 is its account in us-east-1)"
    ]
    request = document()
    request["TrainingJobDefinition"]["AlgorithmSpecification"]["TrainingImage"] = str(PROGRAM)
    with pytest.raises(ValidationError) as error:
        service.validate(request)
    assert [str(v) for v in error.value.violations] == [
        f"TrainingJobDefinition.AlgorithmSpecification.TrainingImage: '{PROGRAM}' is a path: "
        f"write it as file://{PROGRAM} (tunelab runs programs named by file:// URIs)"
    ]


def test_a_near_miss_builtin_image_with_its_own_metrics_is_told_which_part_differs(
    service: TuningService, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """With MetricDefinitions given the request passes the metric rules, and the near
    miss was refused as a container image needing docker, saying nothing of the URI
    (with docker it would run: it may be the user's own image of that name)."""
    monkeypatch.setenv("PATH", str(tmp_path))  # no docker here: no container engine answers
    monkeypatch.setattr(container, "_checked", None)
    request = document()
    image = "174872318107.dkr.ecr.us-west-2.amazonaws.com/knn:2"
    request["TrainingJobDefinition"]["AlgorithmSpecification"]["TrainingImage"] = image
    with pytest.raises(ValidationError) as error:
        service.validate(request)
    (violation,) = error.value.violations
    assert violation.path == "TrainingJobDefinition.AlgorithmSpecification.TrainingImage"
    assert violation.message.endswith(
        f"(script mode); if it is meant as a built-in algorithm's image: {image!r} looks like "
        "SageMaker's image of the built-in algorithm knn, but tunelab does not recognize it: "
        "tunelab runs knn with the tags 1, latest, not '2'"
    )
