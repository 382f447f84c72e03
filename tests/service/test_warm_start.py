"""Warm start end to end: parents run, a child starts from them; SageMaker's
rules refused with their field paths; OverallBestTrainingJob."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.service.test_tuning import document
from tunelab.api import codecs
from tunelab.domain.enums import TuningJobStatus
from tunelab.domain.errors import ResourceLimitExceeded, ValidationError
from tunelab.domain.rules import Quotas
from tunelab.orchestrator.recovery import warm_start_events
from tunelab.service.settings import Settings
from tunelab.service.tuning import TuningService
from tunelab.store.sql.store import SqlStore

PARENTS = "WarmStartConfig.ParentHyperParameterTuningJobs"


@pytest.fixture
def service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TuningService]:
    monkeypatch.setenv("RUNS_LOG", str(tmp_path / "runs.log"))
    store = SqlStore(f"sqlite:///{tmp_path / 'db.sqlite'}")
    yield TuningService(
        Settings(home=tmp_path, database_url=store.url, stop_grace_seconds=2), store
    )
    store.close()


def parent(service: TuningService, name: str = "parent-1", jobs: int = 3) -> None:
    request = document(
        name=name, max_jobs=jobs, StaticHyperParameters={"seconds_per_epoch": "0", "epochs": "2"}
    )
    service.run(service.create(request).name)


def child(
    kind: str = "IdenticalDataAndAlgorithm", parents: tuple[str, ...] = ("parent-1",), **changes
) -> dict:
    request = document(
        name="child-1",
        max_jobs=3,
        StaticHyperParameters={"seconds_per_epoch": "0", "epochs": "2"},
        **changes,
    )
    request["WarmStartConfig"] = {
        "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": p} for p in parents],
        "WarmStartType": kind,
    }
    return request


def refusals(service: TuningService, request: dict) -> list[str]:
    with pytest.raises(ValidationError) as error:
        service.validate(request)
    return [str(v) for v in error.value.violations]


def test_a_child_starts_from_its_parents_and_reports_the_overall_best(
    service: TuningService,
) -> None:
    parent(service)
    job = service.create(child())
    # the strategy is fed the parents' finished jobs before it suggests anything
    events = warm_start_events(service.store, job.spec)
    parent_jobs = service.training_jobs_of("parent-1")
    assert sorted(e.trial_id for e in events) == sorted(j.name for j in parent_jobs)
    assert all(e.is_final and e.value is not None for e in events)
    assert service.run(job.name).status is TuningJobStatus.COMPLETED
    wire = codecs.describe_tuning_job(service.describe(job.name))
    everyone = parent_jobs + service.training_jobs_of(job.name)
    best = min(everyone, key=lambda j: j.final_objective_value)  # the objective is minimized
    assert wire["OverallBestTrainingJob"]["TrainingJobName"] == best.name
    assert wire["WarmStartConfig"]["WarmStartType"] == "IdenticalDataAndAlgorithm"


def test_transfer_learning_reports_no_overall_best_and_may_change_data(
    service: TuningService, tmp_path: Path
) -> None:
    parent(service)
    data = tmp_path / "new-data"
    data.mkdir()
    (data / "train.csv").write_text("1,2\n")  # an empty channel is refused, as SageMaker does
    request = child("TransferLearning")
    request["TrainingJobDefinition"]["InputDataConfig"] = [
        {
            "ChannelName": "train",
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": data.as_uri()}},
        }
    ]
    job = service.create(request)
    assert service.run(job.name).status is TuningJobStatus.COMPLETED
    assert "OverallBestTrainingJob" not in codecs.describe_tuning_job(service.describe(job.name))


def test_parents_must_exist_and_have_ended(service: TuningService) -> None:
    assert refusals(service, child(parents=("nobody",))) == [
        f"{PARENTS}[0].HyperParameterTuningJobName: tuning job 'nobody' does not exist"
    ]
    service.create(
        document(
            name="running",
            max_jobs=2,
            StaticHyperParameters={"seconds_per_epoch": "0", "epochs": "2"},
        )
    )
    assert refusals(service, child(parents=("running",))) == [
        f"{PARENTS}[0].HyperParameterTuningJobName: 'running' is InProgress; a parent must "
        "have ended (Completed, Stopped or Failed)"
    ]


def test_the_objective_and_the_hyperparameters_stay_those_of_the_parents(
    service: TuningService,
) -> None:
    parent(service)
    request = child()
    request["TrainingJobDefinition"]["StaticHyperParameters"]["extra"] = "1"
    config = request["HyperParameterTuningJobConfig"]
    config["HyperParameterTuningJobObjective"]["MetricName"] = "val"
    request["TrainingJobDefinition"]["AlgorithmSpecification"]["MetricDefinitions"].append(
        {"Name": "val", "Regex": "val=([0-9.]+)"}
    )
    assert refusals(service, request) == [
        f"{PARENTS}[0].HyperParameterTuningJobName: 'parent-1' optimizes 'loss'; a warm start "
        "child must optimize the same objective metric, not 'val'",
        f"{PARENTS}[0].HyperParameterTuningJobName: the hyperparameters (static and tuned) must "
        "be those of 'parent-1'; they differ by +extra",
    ]


def test_a_tuned_hyperparameter_keeps_its_type(service: TuningService) -> None:
    parent(service)
    request = child()
    request["HyperParameterTuningJobConfig"]["ParameterRanges"] = {
        "CategoricalParameterRanges": [{"Name": "x", "Values": ["0.1", "0.5"]}]
    }
    request["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxNumberOfTrainingJobs"] = 2
    assert refusals(service, request) == [
        f"{PARENTS}[0].HyperParameterTuningJobName: 'x' is continuous in 'parent-1'; it may "
        "not become categorical"
    ]


def test_identical_data_and_algorithm_keeps_the_program(
    service: TuningService, tmp_path: Path
) -> None:
    parent(service)
    other = tmp_path / "other.py"
    other.write_text("print('loss=1;')\n")
    request = child(image=other.as_uri())
    assert refusals(service, request) == [
        f"{PARENTS}[0].HyperParameterTuningJobName: IdenticalDataAndAlgorithm needs the training "
        "image (or algorithm) of 'parent-1'; use TransferLearning to change it"
    ]
    service.validate(child("TransferLearning", image=other.as_uri()))


def test_parents_jobs_count_against_the_quota(service: TuningService, tmp_path: Path) -> None:
    parent(service, jobs=3)
    small = TuningService(
        Settings(home=tmp_path, database_url=service.store.url, quotas=Quotas(10, 5, 20)),
        service.store,
    )
    with pytest.raises(
        ResourceLimitExceeded,
        match="the parents' 3 training jobs and this "
        "job's 3 count together against the quota "
        "of 5",
    ):
        small.validate(child())


def test_at_most_ten_changes(service: TuningService) -> None:
    request = document(
        name="wide",
        max_jobs=2,
        StaticHyperParameters={
            "seconds_per_epoch": "0",
            "epochs": "2",
            **{f"s{i}": "1" for i in range(11)},
        },
    )
    service.run(service.create(request).name)
    changed = copy.deepcopy(request)
    changed["HyperParameterTuningJobName"] = "child-1"
    changed["TrainingJobDefinition"]["StaticHyperParameters"].update(
        {f"s{i}": "2" for i in range(11)}
    )
    changed["WarmStartConfig"] = {
        "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": "wide"}],
        "WarmStartType": "TransferLearning",
    }
    assert refusals(service, changed) == [
        f"{PARENTS}[0].HyperParameterTuningJobName: 11 changes from 'wide' (tuned "
        "hyperparameters made static, static values changed); at most 10 are allowed"
    ]


def test_identical_data_and_algorithm_changes_only_the_listed_members(
    service: TuningService,
) -> None:
    parent(service)
    kept = {
        "Environment": {"A": "b"},
        "EnableNetworkIsolation": True,
        "EnableInterContainerTrafficEncryption": True,
        "RetryStrategy": {"MaximumRetryAttempts": 2},
    }
    allowed = (
        "AlgorithmSpecification, InputDataConfig, OutputDataConfig, StaticHyperParameters, "
        "RoleArn, ResourceConfig, StoppingCondition, VpcConfig, EnableManagedSpotTraining, "
        "CheckpointConfig"
    )
    assert refusals(service, child(**kept)) == [
        f"TrainingJobDefinition.{member}: differs from the {member} of parent 'parent-1'; "
        f"with IdenticalDataAndAlgorithm only {allowed} may change (use TransferLearning)"
        for member in kept
    ]
    # the parent's values, given explicitly or by default, are no change
    service.validate(child(EnableNetworkIsolation=False, Environment={}))
    service.validate(child(StoppingCondition={"MaxRuntimeInSeconds": 30}))
    del kept["EnableNetworkIsolation"]  # (whether this machine can isolate is another rule)
    service.validate(child("TransferLearning", **kept))


def test_a_parent_is_listed_once(service: TuningService) -> None:
    """Listing a parent twice (in any case) would feed and count its jobs twice."""
    parent(service)
    assert refusals(service, child(parents=("parent-1", "PARENT-1"))) == [
        f"{PARENTS}[1].HyperParameterTuningJobName: 'PARENT-1' is already "
        "ParentHyperParameterTuningJobs[0] (names ignore case); list each parent once"
    ]


def test_the_objective_keeps_its_direction(service: TuningService) -> None:
    parent(service)
    request = child()
    request["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]["Type"] = (
        "Maximize"
    )
    assert refusals(service, request) == [
        f"{PARENTS}[0].HyperParameterTuningJobName: 'parent-1' minimizes 'loss'; a warm start "
        "child optimizes the same objective (MetricName and Type), so it may not maximize it"
    ]


def test_a_local_data_folder_is_the_same_with_or_without_its_trailing_slash(
    service: TuningService, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "train.csv").write_text("1,2\n")

    def channel(uri: str) -> list[dict]:
        source = {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri}}
        return [{"ChannelName": "train", "DataSource": source}]

    request = document(
        name="parent-1",
        max_jobs=2,
        StaticHyperParameters={"seconds_per_epoch": "0", "epochs": "2"},
        InputDataConfig=channel(data.as_uri() + "/"),
    )
    service.run(service.create(request).name)
    service.validate(child(InputDataConfig=channel(data.as_uri())))
    service.validate(child(InputDataConfig=channel(str(data))))
    other = tmp_path / "data2"
    other.mkdir()
    (other / "train.csv").write_text("1,2\n")
    assert refusals(service, child(InputDataConfig=channel(other.as_uri()))) == [
        f"{PARENTS}[0].HyperParameterTuningJobName: IdenticalDataAndAlgorithm needs the input "
        "data of 'parent-1'; use TransferLearning for new data"
    ]


SIX = {
    "CategoricalParameterRanges": [
        {"Name": "x", "Values": ["0.1", "0.2", "0.3", "0.4", "0.5", "0.6"]}
    ]
}


def discrete(request: dict, strategy: str, max_jobs: int | None) -> dict:
    config = request["HyperParameterTuningJobConfig"]
    config["Strategy"] = strategy
    config["ParameterRanges"] = copy.deepcopy(SIX)
    if max_jobs is None:
        del config["ResourceLimits"]["MaxNumberOfTrainingJobs"]
    else:
        config["ResourceLimits"]["MaxNumberOfTrainingJobs"] = max_jobs
    return request


def discrete_parent(service: TuningService, strategy: str, max_jobs: int | None) -> set[str]:
    request = document(
        name="parent-1",
        max_jobs=1,
        StaticHyperParameters={"seconds_per_epoch": "0", "epochs": "2"},  # as child()'s
    )
    service.run(service.create(discrete(request, strategy, max_jobs)).name)
    return {j.tuned_hyperparameters["x"] for j in service.training_jobs_of("parent-1")}


def tried_by(service: TuningService, name: str) -> list[str]:
    return [j.tuned_hyperparameters["x"] for j in service.training_jobs_of(name)]


def test_a_random_child_runs_only_what_its_parents_left_untried(
    service: TuningService,
) -> None:
    """README: Random never runs a configuration twice; with a warm start that counts the
    parents' configurations (same RandomSeed as the parent, as `tunelab clone
    --warm-start` writes it)."""
    evaluated = discrete_parent(service, "Random", 4)
    assert len(evaluated) == 4
    job = service.create(discrete(child(), "Random", 2))
    assert service.run(job.name).status is TuningJobStatus.COMPLETED
    ran = tried_by(service, job.name)
    assert len(ran) == 2 and not evaluated & set(ran)


@pytest.mark.parametrize("strategy", ["Random", "Bayesian"])
def test_random_and_bayesian_need_enough_untried_combinations(
    service: TuningService, strategy: str
) -> None:
    discrete_parent(service, "Random", 4)
    path = "HyperParameterTuningJobConfig.ResourceLimits.MaxNumberOfTrainingJobs"
    assert refusals(service, discrete(child(), strategy, 3)) == [
        f"{path}: the parent jobs already evaluated 4 of the 6 combinations of the "
        f"hyperparameter ranges, and the {strategy} strategy never runs one twice: the 2 left "
        "are fewer than MaxNumberOfTrainingJobs (3); lower it to at most 2 or provide "
        "additional ranges"
    ]
    service.validate(discrete(child(), strategy, 2))


def test_a_child_of_a_finished_grid_is_refused_before_it_runs_nothing(
    service: TuningService,
) -> None:
    """A Bayesian child of parents that tried every combination used to be accepted, run
    no job and end Failed blaming the training program."""
    discrete_parent(service, "Grid", None)
    path = "HyperParameterTuningJobConfig.ResourceLimits.MaxNumberOfTrainingJobs"
    assert refusals(service, discrete(child(), "Bayesian", 3)) == [
        f"{path}: the parent jobs already evaluated 6 of the 6 combinations of the "
        "hyperparameter ranges, and the Bayesian strategy never runs one twice: none is left "
        "to run; provide additional ranges"
    ]
    assert refusals(service, discrete(child(), "Grid", None)) == [
        "HyperParameterTuningJobConfig.ParameterRanges.CategoricalParameterRanges: the parent "
        "jobs already evaluated 6 of the 6 combinations of the hyperparameter ranges, and the "
        "Grid strategy never runs one twice: no grid point is left to run; add values to the "
        "ranges, or leave out WarmStartConfig to run the whole grid again"
    ]


def test_a_grid_child_runs_the_grid_points_its_parents_did_not(service: TuningService) -> None:
    evaluated = discrete_parent(service, "Random", 4)
    job = service.create(discrete(child(), "Grid", None))
    assert service.run(job.name).status is TuningJobStatus.COMPLETED
    ran = tried_by(service, job.name)
    assert sorted(ran) == sorted({"0.1", "0.2", "0.3", "0.4", "0.5", "0.6"} - evaluated)


@pytest.mark.parametrize("strategy", ["Random", "Bayesian", "Grid"])
def test_a_transfer_learning_child_may_run_what_its_parents_ran_elsewhere(
    service: TuningService, strategy: str
) -> None:
    """The parents ran every combination, with epochs=2: a TransferLearning child (new
    data, another algorithm) and an IdenticalDataAndAlgorithm child with epochs=3 run
    them under other conditions, so nothing of theirs counts as evaluated."""
    discrete_parent(service, "Grid", None)
    max_jobs = None if strategy == "Grid" else 3
    service.validate(discrete(child("TransferLearning"), strategy, max_jobs))
    again = child()
    again["TrainingJobDefinition"]["StaticHyperParameters"]["epochs"] = "3"
    service.validate(discrete(again, strategy, max_jobs))


@pytest.mark.parametrize(("strategy", "max_jobs", "runs"), [("Random", 3, 3), ("Grid", None, 6)])
def test_a_transfer_learning_child_of_a_finished_grid_runs(
    service: TuningService, strategy: str, max_jobs: int | None, runs: int
) -> None:
    """Accepted at create time is not enough: the child's strategy must not skip what
    the parents ran under other conditions either (it ran nothing and failed)."""
    discrete_parent(service, "Grid", None)
    job = service.create(discrete(child("TransferLearning"), strategy, max_jobs))
    assert service.run(job.name).status is TuningJobStatus.COMPLETED
    assert len(set(tried_by(service, job.name))) == runs


def test_an_identical_grid_child_gives_the_number_of_points_left(service: TuningService) -> None:
    evaluated = discrete_parent(service, "Random", 4)
    path = "HyperParameterTuningJobConfig.ResourceLimits.MaxNumberOfTrainingJobs"
    assert refusals(service, discrete(child(), "Grid", 6)) == [
        f"{path}: the parent jobs already evaluated 4 of the 6 combinations of the "
        "hyperparameter ranges, and the Grid strategy never runs one twice: must equal the "
        "number of grid points left to run (2) with the Grid strategy, or be left out; got 6"
    ]
    job = service.create(discrete(child(), "Grid", 2))
    assert service.run(job.name).status is TuningJobStatus.COMPLETED
    assert sorted(tried_by(service, job.name)) == sorted(
        {"0.1", "0.2", "0.3", "0.4", "0.5", "0.6"} - evaluated
    )
