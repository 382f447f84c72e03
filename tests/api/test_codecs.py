"""Every response the codecs build matches botocore's output shape for the
operation, and carries what the SageMaker SDK reads."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.factories import make_document, make_multi_document
from tests.orchestrator.conftest import Harness
from tunelab.api import codecs
from tunelab.domain.sagemaker_model import service_model
from tunelab.domain.shape_check import check_shape
from tunelab.execution.clock import FakeClock
from tunelab.service.settings import Settings
from tunelab.service.tuning import TuningService
from tunelab.store.base import TrainingJobQuery, TuningJobQuery
from tunelab.store.sql.store import SqlStore


def output_shape(operation: str):
    return service_model().operation_model(operation).output_shape


@pytest.fixture
def finished(tmp_path: Path) -> Iterator[TuningService]:
    store = SqlStore(f"sqlite:///{tmp_path / 'db.sqlite'}")
    clock = FakeClock()
    harness = Harness(store, clock, tmp_path)
    for document in (make_document(max_jobs=4), make_multi_document(max_jobs=4)):
        harness.create(document)
        harness.loop(document["HyperParameterTuningJobName"], harness.executor()).run()
    yield TuningService(Settings(home=tmp_path, database_url=store.url), store, clock)
    store.close()


@pytest.mark.parametrize("name", ["job-1", "multi-1"])
def test_describe_matches_the_output_shape(finished: TuningService, name: str) -> None:
    wire = codecs.describe_tuning_job(finished.describe(name))
    assert check_shape(wire, output_shape("DescribeHyperParameterTuningJob"), "") == []
    assert wire["HyperParameterTuningJobStatus"] == "Completed"
    assert wire["TrainingJobStatusCounters"]["Completed"] == 4
    assert wire["BestTrainingJob"]["ObjectiveStatus"] == "Succeeded"
    config = wire["HyperParameterTuningJobConfig"]
    # what the SageMaker SDK's attach() reads unconditionally
    assert config["TrainingJobEarlyStoppingType"] == "Off"
    assert config["ResourceLimits"]["MaxNumberOfTrainingJobs"] == 4
    definitions = wire.get("TrainingJobDefinitions") or [wire["TrainingJobDefinition"]]
    for definition in definitions:
        assert definition["StaticHyperParameters"]["_tuning_objective_metric"] == (
            "validation:accuracy"
        )
        assert set(definition["ResourceConfig"]) >= {
            "InstanceType",
            "InstanceCount",
            "VolumeSizeInGB",
        }
    # attach() reads all three lists of every ParameterRanges shape with [...]
    kinds = {"IntegerParameterRanges", "ContinuousParameterRanges", "CategoricalParameterRanges"}
    if name == "job-1":
        assert set(config["ParameterRanges"]) >= kinds
    else:
        assert wire["BestTrainingJob"]["TrainingJobDefinitionName"] in ("alpha", "beta")
        for definition in definitions:
            assert set(definition["HyperParameterRanges"]) >= kinds, definition["DefinitionName"]
        beta = definitions[1]["HyperParameterRanges"]
        assert beta["IntegerParameterRanges"] == beta["CategoricalParameterRanges"] == []
        assert [r["Name"] for r in beta["ContinuousParameterRanges"]] == ["C"]


def test_training_job_summaries_match_the_output_shape(finished: TuningService) -> None:
    job = finished.get("multi-1")
    page = finished.list_training_jobs(TrainingJobQuery("multi-1"))
    wire = {"TrainingJobSummaries": [codecs.training_job_summary(t, job.spec) for t in page.items]}
    shape = output_shape("ListTrainingJobsForHyperParameterTuningJob")
    assert check_shape(wire, shape, "") == []
    assert len(wire["TrainingJobSummaries"]) == 4


def test_tuning_job_summaries_match_the_output_shape(finished: TuningService) -> None:
    page = finished.list(TuningJobQuery())
    summaries = [codecs.tuning_job_summary(j, finished.store.counters(j.name)) for j in page.items]
    wire = {"HyperParameterTuningJobSummaries": summaries}
    assert check_shape(wire, output_shape("ListHyperParameterTuningJobs"), "") == []
    assert {s["HyperParameterTuningJobName"] for s in summaries} == {"job-1", "multi-1"}
