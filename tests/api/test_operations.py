"""Every operation tunelab serves, through a real boto3 ``sagemaker`` client against an
in-process server with SigV4 authentication on, for single- and two-definition tuning
jobs running a real training program. Every response of every test is checked against
botocore's output shape for its operation, and no request may get a 5xx (``checked``)."""

from __future__ import annotations

import io
import itertools
import tarfile
import time
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.api import jobs
from tests.api.conftest import (
    Server,
    error_code,
    response_problems,
    unique,
    wait_for,
    wait_training_job,
    wait_tuning_job,
)
from tests.factories import make_algorithm
from tunelab.api.policy import SERVED_OPERATIONS
from tunelab.service.object_store import LocalObjectStore

pytestmark = pytest.mark.usefixtures("checked")
Client = Any
Summary = dict[str, Any]


def loss(x: float, epochs: int) -> float:
    """What ``programs/train.py`` prints last, rounded as it prints it."""
    return round((x - 0.3) ** 2 + 1.0 / epochs, 6)


def training_jobs_of(client: Client, name: str, **params: Any) -> list[Summary]:
    """Every page of ListTrainingJobsForHyperParameterTuningJob."""
    found: list[Summary] = []
    token: str | None = None
    while True:
        extra = {"NextToken": token} if token else {}
        page = client.list_training_jobs_for_hyper_parameter_tuning_job(
            HyperParameterTuningJobName=name, **params, **extra
        )
        found += page["TrainingJobSummaries"]
        token = page.get("NextToken")
        if not token:
            return found


def names(summaries: list[Summary], key: str = "TrainingJobName") -> list[str]:
    return [s[key] for s in summaries]


def expected_order(
    summaries: list[Summary], field: str, descending: bool, key: str = "TrainingJobName"
) -> list[str]:
    """SageMaker's order: by ``field``, ties by name, both in the same direction."""
    ordered = sorted(summaries, key=lambda s: (s[field], s[key]), reverse=descending)
    return names(ordered, key)


@pytest.fixture(scope="module")
def finished(api: Server) -> dict[str, dict[str, Any]]:
    """Three tuning jobs run to the end at once: ``single`` (one definition, 4 jobs),
    ``multi`` (two definitions, 6 jobs) and ``grid`` (Grid over mode x {ok, silent,
    fail} and x: 2 jobs with an objective, 2 completed without one, 2 failed). Values:
    {"name", "arn", "describe"}."""
    client = api.client()
    documents = {
        "single": jobs.tuning_job(unique("single"), tags={"team": "red"}),
        "multi": jobs.two_definition_job(unique("multi"), tags={"team": "blue"}),
        "grid": jobs.tuning_job(
            unique("grid"),
            strategy="Grid",
            max_jobs=None,
            ranges={
                "CategoricalParameterRanges": [
                    {"Name": "mode", "Values": ["ok", "silent", "fail"]},
                    {"Name": "x", "Values": ["0.1", "0.9"]},
                ]
            },
        ),
    }
    found: dict[str, dict[str, Any]] = {}
    for key, document in documents.items():
        arn = client.create_hyper_parameter_tuning_job(**document)["HyperParameterTuningJobArn"]
        found[key] = {"name": document["HyperParameterTuningJobName"], "arn": arn}
    for entry in found.values():
        entry["describe"] = wait_tuning_job(client, entry["name"])
    return found


# -- tuning jobs -----------------------------------------------------------------------------


def test_create_answers_the_arn(finished: dict[str, Any]) -> None:
    for entry in finished.values():
        assert entry["arn"] == (
            "arn:aws:sagemaker:us-east-1:123456789012:hyper-parameter-tuning-job/"
            + entry["name"].lower()
        )
        assert entry["describe"]["HyperParameterTuningJobArn"] == entry["arn"]


def test_describe_a_single_definition_job(checked: Server, finished: dict[str, Any]) -> None:
    client = checked.client()
    name = finished["single"]["name"]
    described = client.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    assert described["HyperParameterTuningJobStatus"] == "Completed"
    assert described["TrainingJobStatusCounters"] == {
        "Completed": 4,
        "InProgress": 0,
        "RetryableError": 0,
        "NonRetryableError": 0,
        "Stopped": 0,
    }
    assert described["ObjectiveStatusCounters"] == {"Succeeded": 4, "Pending": 0, "Failed": 0}
    config = described["HyperParameterTuningJobConfig"]
    assert config["Strategy"] == "Random"
    assert config["ResourceLimits"] == {"MaxNumberOfTrainingJobs": 4, "MaxParallelTrainingJobs": 2}
    assert config["TrainingJobEarlyStoppingType"] == "Off"
    assert config["HyperParameterTuningJobObjective"] == {"Type": "Minimize", "MetricName": "loss"}
    assert config["ParameterRanges"] == {
        **jobs.X_RANGE,
        "IntegerParameterRanges": [],
        "CategoricalParameterRanges": [],
    }
    definition = described["TrainingJobDefinition"]
    assert definition["StaticHyperParameters"] == {
        "epochs": "2",
        "seconds_per_epoch": "0.05",
        "_tuning_objective_metric": "loss",
    }
    assert definition["AlgorithmSpecification"]["TrainingImage"] == f"file://{jobs.TRAIN}"
    assert definition["ResourceConfig"]["InstanceType"] == "ml.m5.large"
    assert "TrainingJobDefinitions" not in described

    summaries = training_jobs_of(client, name)
    assert len(summaries) == 4
    assert all(s["TrainingJobName"].startswith(f"{name}-") for s in summaries)
    values = {
        s["TrainingJobName"]: s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
        for s in summaries
    }
    for summary in summaries:
        x = float(summary["TunedHyperParameters"]["x"])
        assert 0 <= x <= 1
        assert values[summary["TrainingJobName"]] == pytest.approx(loss(x, 2), abs=1e-6)
    best = described["BestTrainingJob"]
    assert best["TrainingJobName"] == min(values, key=lambda n: (values[n], n))
    assert best["FinalHyperParameterTuningJobObjectiveMetric"] == {
        "Type": "Minimize",
        "MetricName": "loss",
        "Value": min(values.values()),
    }
    assert best["ObjectiveStatus"] == "Succeeded"
    created, ended = described["CreationTime"], described["HyperParameterTuningEndTime"]
    assert created.tzinfo is not None
    assert created <= ended <= described["LastModifiedTime"]
    assert all(created <= s["CreationTime"] <= s["TrainingEndTime"] <= ended for s in summaries)
    assert described["ConsumedResources"]["RuntimeInSeconds"] >= 0
    assert "NumberOfTrainingJobsObjectiveNotImproving" in described["TuningJobCompletionDetails"]


def test_describe_a_two_definition_job(checked: Server, finished: dict[str, Any]) -> None:
    client = checked.client()
    name = finished["multi"]["name"]
    described = finished["multi"]["describe"]
    assert described["HyperParameterTuningJobStatus"] == "Completed"
    assert described["TrainingJobStatusCounters"]["Completed"] == 6
    assert "TrainingJobDefinition" not in described
    definitions = {d["DefinitionName"]: d for d in described["TrainingJobDefinitions"]}
    assert set(definitions) == {"fast", "slow"}
    for definition in definitions.values():
        assert definition["TuningObjective"] == {"Type": "Minimize", "MetricName": "loss"}
        assert definition["StaticHyperParameters"]["_tuning_objective_metric"] == "loss"
        assert set(definition["ResourceConfig"]) >= {
            "InstanceType",
            "InstanceCount",
            "VolumeSizeInGB",
        }
    assert definitions["slow"]["HyperParameterRanges"]["IntegerParameterRanges"] == [
        {"Name": "epochs", "MinValue": "2", "MaxValue": "4"}
    ]

    summaries = training_jobs_of(client, name)
    assert len(summaries) == 6
    used = {s["TrainingJobDefinitionName"] for s in summaries}
    assert used == {"fast", "slow"}
    for summary in summaries:
        tuned = summary["TunedHyperParameters"]
        x = float(tuned["x"])
        if summary["TrainingJobDefinitionName"] == "slow":
            assert set(tuned) == {"x", "epochs"}
            assert 0.5 <= x <= 1 and 2 <= int(tuned["epochs"]) <= 4
            epochs = int(tuned["epochs"])
        else:
            assert set(tuned) == {"x"}
            epochs = 2
        metric = summary["FinalHyperParameterTuningJobObjectiveMetric"]
        assert metric["Value"] == pytest.approx(loss(x, epochs), abs=1e-6)
    best = min(
        summaries,
        key=lambda s: (
            s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"],
            s["CreationTime"],
        ),
    )
    assert described["BestTrainingJob"]["TrainingJobName"] == best["TrainingJobName"]
    assert (
        described["BestTrainingJob"]["TrainingJobDefinitionName"]
        == (best["TrainingJobDefinitionName"])
    )
    # a training job of a definition runs that definition's static hyperparameters
    slow_job = next(s for s in summaries if s["TrainingJobDefinitionName"] == "slow")
    hyperparameters = client.describe_training_job(TrainingJobName=slow_job["TrainingJobName"])[
        "HyperParameters"
    ]
    assert hyperparameters == {
        "seconds_per_epoch": "0.02",
        "_tuning_objective_metric": "loss",
        **slow_job["TunedHyperParameters"],
    }


def test_describe_while_in_progress_then_stop(checked: Server) -> None:
    client = checked.client()
    name = unique("stop")
    client.create_hyper_parameter_tuning_job(
        **jobs.tuning_job(name, max_jobs=6, static={"epochs": "100", "seconds_per_epoch": "0.1"})
    )

    def two_running() -> list[Summary] | None:
        running = training_jobs_of(client, name, StatusEquals="InProgress")
        return running if len(running) == 2 else None

    running = wait_for(two_running, what="2 running training jobs")
    described = client.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    assert described["HyperParameterTuningJobStatus"] == "InProgress"
    assert described["TrainingJobStatusCounters"]["InProgress"] == 2
    assert described["ObjectiveStatusCounters"]["Pending"] == 2
    assert "HyperParameterTuningEndTime" not in described

    client.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    status = client.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)[
        "HyperParameterTuningJobStatus"
    ]
    assert status in ("Stopping", "Stopped")
    described = wait_tuning_job(client, name, timeout=30)
    assert described["HyperParameterTuningJobStatus"] == "Stopped"
    assert "HyperParameterTuningEndTime" in described
    assert described["TrainingJobStatusCounters"]["Stopped"] == 2
    assert described["TrainingJobStatusCounters"]["InProgress"] == 0
    after = training_jobs_of(client, name)
    assert sorted(names(after)) == sorted(names(running))  # nothing launched after the stop
    assert {s["TrainingJobStatus"] for s in after} == {"Stopped"}
    for summary in after:
        job = client.describe_training_job(TrainingJobName=summary["TrainingJobName"])
        assert job["SecondaryStatus"] == "Stopped"
        assert "TrainingEndTime" in job

    code, message, status_code = error_code(
        lambda: client.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    )
    assert (code, status_code) == ("ValidationException", 400)
    assert "Stopped" in message


def test_delete(checked: Server, finished: dict[str, Any]) -> None:
    client = checked.client()
    name = unique("delete")
    client.create_hyper_parameter_tuning_job(**jobs.tuning_job(name, max_jobs=1, parallel=1))
    code, message, _ = error_code(
        lambda: client.delete_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    )
    assert code == "ValidationException" and "stop it" in message
    wait_tuning_job(client, name)
    trained = training_jobs_of(client, name)
    assert len(trained) == 1

    assert client.delete_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    with pytest.raises(client.exceptions.ResourceNotFound):
        client.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    listed = client.list_hyper_parameter_tuning_jobs(NameContains=name, MaxResults=100)
    assert listed["HyperParameterTuningJobSummaries"] == []
    with pytest.raises(client.exceptions.ResourceNotFound):
        client.delete_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    # only the tuning job's record goes: its training jobs stay
    kept = client.list_training_jobs(NameContains=name)["TrainingJobSummaries"]
    assert names(kept) == names(trained)
    assert kept[0]["TrainingJobStatus"] == "Completed"
    # the other jobs are untouched
    other = finished["single"]["name"]
    client.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=other)


def test_training_jobs_of_a_deleted_tuning_job_can_be_described(checked: Server) -> None:
    client = checked.client()
    name = unique("deleted")
    client.create_hyper_parameter_tuning_job(**jobs.tuning_job(name, max_jobs=1, parallel=1))
    wait_tuning_job(client, name)
    trained = training_jobs_of(client, name)[0]
    client.delete_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    kept = client.describe_training_job(TrainingJobName=trained["TrainingJobName"])
    assert kept["TrainingJobStatus"] == "Completed"
    assert kept["HyperParameters"]["x"] == trained["TunedHyperParameters"]["x"]
    assert kept["TuningJobArn"].endswith(f"/{name.lower()}")


# -- ListHyperParameterTuningJobs ---------------------------------------------------------


@pytest.fixture(scope="module")
def listed(api: Server) -> dict[str, Any]:
    """Six tuning jobs of one prefix created 50 ms apart: five of one quick training job
    each, run to the end, and one long one that is stopped. Values: prefix, names (in
    creation order), the stopped one's name, and its status summaries while InProgress."""
    client = api.client()
    prefix = unique("lst")
    created: list[str] = []
    for index in range(6):
        name = f"{prefix}-{index}"
        static = {"epochs": "100", "seconds_per_epoch": "0.1"} if index == 3 else {"epochs": "1"}
        client.create_hyper_parameter_tuning_job(
            **jobs.tuning_job(name, max_jobs=1, parallel=1, static=static)
        )
        created.append(name)
        time.sleep(0.05)
    for name in created:
        if name != created[3]:
            wait_tuning_job(client, name)
    in_progress = client.list_hyper_parameter_tuning_jobs(
        NameContains=prefix, StatusEquals="InProgress"
    )["HyperParameterTuningJobSummaries"]
    client.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName=created[3])
    wait_tuning_job(client, created[3])
    return {"prefix": prefix, "names": created, "stopped": created[3], "in_progress": in_progress}


def widest_gap(moments: list[datetime]) -> datetime:
    """The middle of the widest gap between consecutive ``moments`` (at least 5 ms)."""
    gap, middle = max((b - a, a + (b - a) / 2) for a, b in itertools.pairwise(moments))
    assert gap > timedelta(milliseconds=5)
    return middle


def all_tuning_jobs(client: Client, **params: Any) -> list[Summary]:
    return list(
        item
        for page in client.get_paginator("list_hyper_parameter_tuning_jobs").paginate(**params)
        for item in page["HyperParameterTuningJobSummaries"]
    )


def test_list_tuning_jobs_filters_by_name_and_status(
    checked: Server, listed: dict[str, Any]
) -> None:
    client = checked.client()
    prefix, created = listed["prefix"], listed["names"]
    found = client.list_hyper_parameter_tuning_jobs(NameContains=prefix, MaxResults=100)
    summaries = found["HyperParameterTuningJobSummaries"]
    assert names(summaries, "HyperParameterTuningJobName") == created  # default: Name, Ascending
    assert "NextToken" not in found
    summary = summaries[0]
    assert summary["HyperParameterTuningJobArn"].endswith(f"/{created[0]}")
    assert summary["Strategy"] == "Random"
    assert summary["ResourceLimits"] == {
        "MaxNumberOfTrainingJobs": 1,
        "MaxParallelTrainingJobs": 1,
    }
    assert summary["TrainingJobStatusCounters"]["Completed"] == 1
    assert summary["ObjectiveStatusCounters"]["Succeeded"] == 1
    assert summary["CreationTime"] <= summary["HyperParameterTuningEndTime"]
    # NameContains: any part of the name, any case
    middle = created[4][len(prefix) - 5 :].upper()
    only = client.list_hyper_parameter_tuning_jobs(NameContains=middle)
    assert names(only["HyperParameterTuningJobSummaries"], "HyperParameterTuningJobName") == [
        created[4]
    ]
    assert (
        client.list_hyper_parameter_tuning_jobs(NameContains=f"{prefix}x")[
            "HyperParameterTuningJobSummaries"
        ]
        == []
    )
    # StatusEquals
    assert names(listed["in_progress"], "HyperParameterTuningJobName") == [listed["stopped"]]
    assert listed["in_progress"][0]["HyperParameterTuningJobStatus"] == "InProgress"
    for status, expected in (
        ("Completed", [n for n in created if n != listed["stopped"]]),
        ("Stopped", [listed["stopped"]]),
        ("InProgress", []),
        ("Failed", []),
    ):
        found = client.list_hyper_parameter_tuning_jobs(NameContains=prefix, StatusEquals=status)
        summaries = found["HyperParameterTuningJobSummaries"]
        assert names(summaries, "HyperParameterTuningJobName") == expected, status
        assert all(s["HyperParameterTuningJobStatus"] == status for s in summaries)


def test_list_tuning_jobs_time_windows(checked: Server, listed: dict[str, Any]) -> None:
    client = checked.client()
    prefix = listed["prefix"]
    summaries = all_tuning_jobs(client, NameContains=prefix)
    assert len(summaries) == 6
    for field, after, before in (
        ("CreationTime", "CreationTimeAfter", "CreationTimeBefore"),
        ("LastModifiedTime", "LastModifiedTimeAfter", "LastModifiedTimeBefore"),
    ):
        moments = sorted(s[field] for s in summaries)
        pivot = widest_gap(moments)
        later = [s["HyperParameterTuningJobName"] for s in summaries if s[field] > pivot]
        earlier = [s["HyperParameterTuningJobName"] for s in summaries if s[field] < pivot]
        assert 0 < len(later) < 6 and len(earlier) + len(later) == 6
        for member, expected in ((after, later), (before, earlier)):
            found = all_tuning_jobs(client, NameContains=prefix, **{member: pivot})
            assert names(found, "HyperParameterTuningJobName") == expected, member
        both = all_tuning_jobs(
            client,
            NameContains=prefix,
            **{
                after: moments[0] - timedelta(seconds=1),
                before: moments[-1] + timedelta(seconds=1),
            },
        )
        assert len(both) == 6
        empty = all_tuning_jobs(
            client, NameContains=prefix, **{after: moments[-1] + timedelta(seconds=1)}
        )
        assert empty == []


@pytest.mark.parametrize("order", ["Ascending", "Descending"])
@pytest.mark.parametrize("sort_by", ["Name", "Status", "CreationTime"])
def test_list_tuning_jobs_sorted(
    checked: Server, listed: dict[str, Any], sort_by: str, order: str
) -> None:
    client = checked.client()
    summaries = all_tuning_jobs(client, NameContains=listed["prefix"])
    found = client.list_hyper_parameter_tuning_jobs(
        NameContains=listed["prefix"], SortBy=sort_by, SortOrder=order, MaxResults=100
    )["HyperParameterTuningJobSummaries"]
    field = {"Name": "HyperParameterTuningJobName", "Status": "HyperParameterTuningJobStatus"}.get(
        sort_by, sort_by
    )
    assert names(found, "HyperParameterTuningJobName") == expected_order(
        summaries, field, order == "Descending", "HyperParameterTuningJobName"
    )


def test_list_tuning_jobs_pages(checked: Server, listed: dict[str, Any]) -> None:
    client = checked.client()
    prefix, created = listed["prefix"], listed["names"]
    query = {"NameContains": prefix, "SortBy": "CreationTime", "SortOrder": "Descending"}
    first = client.list_hyper_parameter_tuning_jobs(**query, MaxResults=4)
    first_token = first["NextToken"]
    rest = client.list_hyper_parameter_tuning_jobs(**query, MaxResults=4, NextToken=first_token)
    assert "NextToken" not in rest
    pages = [
        names(page["HyperParameterTuningJobSummaries"], "HyperParameterTuningJobName")
        for page in (first, rest)
    ]
    assert pages == [created[::-1][:4], created[::-1][4:]]
    # boto3's paginator follows the tokens
    paged = client.get_paginator("list_hyper_parameter_tuning_jobs").paginate(
        **query, PaginationConfig={"PageSize": 2}
    )
    assert [len(p["HyperParameterTuningJobSummaries"]) for p in paged] == [2, 2, 2]
    # a token belongs to its query
    for other in (
        {**query, "SortOrder": "Ascending"},
        {**query, "NameContains": created[0]},
        {"NameContains": prefix},
    ):
        code, message, status = error_code(
            lambda other=other: client.list_hyper_parameter_tuning_jobs(
                **other, NextToken=first_token
            )
        )
        assert (code, status) == ("ValidationException", 400), other
        assert "NextToken" in message
    code, _, _ = error_code(
        lambda: client.list_hyper_parameter_tuning_jobs(**query, NextToken="not-a-token")
    )
    assert code == "ValidationException"
    # the page size is not part of the query
    second = client.list_hyper_parameter_tuning_jobs(**query, MaxResults=1, NextToken=first_token)
    assert names(second["HyperParameterTuningJobSummaries"], "HyperParameterTuningJobName") == [
        created[1]
    ]


# -- ListTrainingJobsForHyperParameterTuningJob ----------------------------------------------


def test_training_jobs_of_a_tuning_job_by_status(
    checked: Server, finished: dict[str, Any]
) -> None:
    client = checked.client()
    name = finished["grid"]["name"]
    described = finished["grid"]["describe"]
    assert described["TrainingJobStatusCounters"]["Completed"] == 4
    assert described["TrainingJobStatusCounters"]["NonRetryableError"] == 2
    assert described["ObjectiveStatusCounters"] == {"Succeeded": 2, "Pending": 0, "Failed": 4}
    summaries = training_jobs_of(client, name)
    assert len(summaries) == 6
    assert names(summaries) == sorted(names(summaries))  # default: Name, Ascending
    by_mode: dict[str, list[Summary]] = {}
    for summary in summaries:
        by_mode.setdefault(summary["TunedHyperParameters"]["mode"], []).append(summary)
    assert {s["ObjectiveStatus"] for s in by_mode["ok"]} == {"Succeeded"}
    for summary in by_mode["silent"]:
        assert summary["TrainingJobStatus"] == "Completed"
        assert summary["ObjectiveStatus"] == "Failed"
        assert "FinalHyperParameterTuningJobObjectiveMetric" not in summary
        assert "loss=([0-9.]+);" in summary["FailureReason"]
    for summary in by_mode["fail"]:
        assert summary["TrainingJobStatus"] == "Failed"
        assert summary["FailureReason"] == "ValueError: asked to fail"
    for status, expected in (
        ("Completed", by_mode["ok"] + by_mode["silent"]),
        ("Failed", by_mode["fail"]),
        ("Stopped", []),
        ("InProgress", []),
    ):
        found = training_jobs_of(client, name, StatusEquals=status)
        assert names(found) == sorted(names(expected)), status
    with pytest.raises(client.exceptions.ResourceNotFound):
        client.list_training_jobs_for_hyper_parameter_tuning_job(
            HyperParameterTuningJobName=unique("nothing")
        )


@pytest.mark.parametrize("order", ["Ascending", "Descending"])
@pytest.mark.parametrize(
    "sort_by", ["Name", "CreationTime", "Status", "FinalObjectiveMetricValue"]
)
def test_training_jobs_of_a_tuning_job_sorted(
    checked: Server, finished: dict[str, Any], sort_by: str, order: str
) -> None:
    client = checked.client()
    name = finished["grid"]["name"]
    summaries = training_jobs_of(client, name)
    found = training_jobs_of(client, name, SortBy=sort_by, SortOrder=order)
    if sort_by == "FinalObjectiveMetricValue":
        # jobs without a value are left out
        with_value = [s for s in summaries if "FinalHyperParameterTuningJobObjectiveMetric" in s]
        assert len(with_value) == 2
        values = [s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for s in found]
        assert names(found) == names(
            sorted(
                with_value,
                key=lambda s: s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"],
                reverse=order == "Descending",
            )
        )
        assert values == sorted(values, reverse=order == "Descending")
        return
    field = {"Name": "TrainingJobName", "Status": "TrainingJobStatus"}.get(sort_by, sort_by)
    assert names(found) == expected_order(summaries, field, order == "Descending")


def test_training_jobs_of_a_tuning_job_pages(checked: Server, finished: dict[str, Any]) -> None:
    client = checked.client()
    name = finished["grid"]["name"]
    everything = names(training_jobs_of(client, name, SortBy="CreationTime"))
    first = client.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name, SortBy="CreationTime", MaxResults=4
    )
    token = first["NextToken"]
    second = client.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name, SortBy="CreationTime", MaxResults=4, NextToken=token
    )
    assert "NextToken" not in second
    assert names(first["TrainingJobSummaries"]) + names(second["TrainingJobSummaries"]) == (
        everything
    )
    paged = client.get_paginator("list_training_jobs_for_hyper_parameter_tuning_job").paginate(
        HyperParameterTuningJobName=name,
        SortBy="FinalObjectiveMetricValue",
        PaginationConfig={"PageSize": 1},
    )
    assert [len(p["TrainingJobSummaries"]) for p in paged] == [1, 1]
    for other in (
        {"HyperParameterTuningJobName": name, "SortBy": "Name"},
        {"HyperParameterTuningJobName": name, "SortBy": "CreationTime", "StatusEquals": "Failed"},
        {"HyperParameterTuningJobName": finished["single"]["name"], "SortBy": "CreationTime"},
    ):
        code, message, _ = error_code(
            lambda other=other: client.list_training_jobs_for_hyper_parameter_tuning_job(
                **other, NextToken=token
            )
        )
        assert code == "ValidationException" and "NextToken" in message, other


# -- training jobs ------------------------------------------------------------------------


def test_create_and_describe_a_training_job(checked: Server) -> None:
    client = checked.client()
    objects = LocalObjectStore(checked.home / "s3")
    data = checked.home.parent / "train.csv"
    data.write_text("".join(f"{i},{i * i}\n" for i in range(5)))
    bucket = unique("data")
    objects.put(data, f"s3://{bucket}/train/")
    name = unique("standalone")
    document = jobs.training_job(
        name,
        {"x": "0.4", "epochs": "3"},
        channel=f"s3://{bucket}/train/",
        output=f"s3://{bucket}/models",
        tags={"owner": "tests"},
    )
    arn = client.create_training_job(**document)["TrainingJobArn"]
    assert arn == f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{name.lower()}"
    early = client.describe_training_job(TrainingJobName=name)
    assert early["TrainingJobStatus"] in ("InProgress", "Completed")
    assert early["SecondaryStatusTransitions"][0]["Status"] == "Starting"

    job = wait_training_job(client, name)
    assert job["TrainingJobStatus"] == "Completed"
    assert job["SecondaryStatus"] == "Completed"
    assert job["TrainingJobArn"] == arn
    assert "TuningJobArn" not in job
    assert job["HyperParameters"] == document["HyperParameters"]
    assert job["AlgorithmSpecification"]["TrainingImage"] == f"file://{jobs.TRAIN}"
    assert job["AlgorithmSpecification"]["TrainingInputMode"] == "File"
    assert job["InputDataConfig"] == document["InputDataConfig"]
    assert job["OutputDataConfig"] == {"S3OutputPath": f"s3://{bucket}/models", "KmsKeyId": ""}
    assert job["RoleArn"] == jobs.ROLE
    assert job["ResourceConfig"] == document["ResourceConfig"]
    assert job["StoppingCondition"] == {"MaxRuntimeInSeconds": 120}
    # metrics: the latest value of each, stamped while the job trained
    final = {m["MetricName"]: m for m in job["FinalMetricDataList"]}
    assert set(final) == {"loss", "acc", "rows"}
    assert final["loss"]["Value"] == pytest.approx(loss(0.4, 3), abs=1e-6)
    assert final["acc"]["Value"] == pytest.approx(1 / (1 + loss(0.4, 3)), abs=1e-5)
    assert final["rows"]["Value"] == 5
    start, end = job["TrainingStartTime"], job["TrainingEndTime"]
    assert job["CreationTime"] <= start <= end <= job["LastModifiedTime"]
    assert all(start <= m["Timestamp"] <= end for m in final.values())
    assert job["TrainingTimeInSeconds"] >= 1
    assert job["BillableTimeInSeconds"] == job["TrainingTimeInSeconds"]
    # the status history: each step ends when the next begins
    transitions = job["SecondaryStatusTransitions"]
    statuses = [t["Status"] for t in transitions]
    assert statuses[0] == "Starting" and statuses[-1] == "Completed"
    assert "Training" in statuses and "Uploading" in statuses
    for current, following in itertools.pairwise(transitions):
        assert current["EndTime"] == following["StartTime"]
    assert "EndTime" not in transitions[-1]
    # the model, packed into the object store where ModelArtifacts says
    model = f"s3://{bucket}/models/{name}/output/model.tar.gz"
    assert job["ModelArtifacts"] == {"S3ModelArtifacts": model}
    with tarfile.open(fileobj=io.BytesIO(objects.path(model).read_bytes())) as archive:
        member = archive.extractfile("model.txt")
        assert member is not None and member.read() == b"x=0.4\n"
    assert client.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "owner", "Value": "tests"}]

    for taken in (name, name.upper()):
        with pytest.raises(client.exceptions.ResourceInUse):
            client.create_training_job(**{**document, "TrainingJobName": taken})
    with pytest.raises(client.exceptions.ResourceNotFound):
        client.describe_training_job(TrainingJobName=unique("nothing"))
    code, message, _ = error_code(lambda: client.stop_training_job(TrainingJobName=name))
    assert code == "ValidationException" and "Completed" in message


def test_describe_a_training_job_of_a_tuning_job(
    checked: Server, finished: dict[str, Any]
) -> None:
    client = checked.client()
    tuning = finished["single"]
    summary = training_jobs_of(client, tuning["name"])[0]
    job = client.describe_training_job(TrainingJobName=summary["TrainingJobName"])
    assert job["TuningJobArn"] == tuning["arn"]
    assert job["HyperParameters"] == {
        "epochs": "2",
        "seconds_per_epoch": "0.05",
        "_tuning_objective_metric": "loss",
        **summary["TunedHyperParameters"],
    }
    final = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    assert set(final) == {"loss", "acc"}
    assert final["loss"] == summary["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
    assert job["CreationTime"] == summary["CreationTime"]
    assert job["TrainingStartTime"] == summary["TrainingStartTime"]
    assert job["TrainingEndTime"] == summary["TrainingEndTime"]
    model = f"s3://bucket/out/{summary['TrainingJobName']}/output/model.tar.gz"
    assert job["ModelArtifacts"]["S3ModelArtifacts"] == model
    assert LocalObjectStore(checked.home / "s3").path(model).is_file()


def create_long_training_job(client: Client, prefix: str) -> str:
    """A standalone training job of 200 epochs of 0.1 s (stopped by the tests)."""
    name = unique(prefix)
    client.create_training_job(
        **jobs.training_job(name, {"epochs": "200", "seconds_per_epoch": "0.1"})
    )
    return name


def wait_until_training(client: Client, name: str) -> None:
    wait_for(
        lambda: (
            client.describe_training_job(TrainingJobName=name)["SecondaryStatus"] == "Training"
        ),
        what="the training job to train",
    )


def test_stop_a_training_job(checked: Server) -> None:
    client = checked.client()
    name = create_long_training_job(client, "longrun")
    wait_until_training(client, name)
    client.stop_training_job(TrainingJobName=name)
    assert client.describe_training_job(TrainingJobName=name)["TrainingJobStatus"] in (
        "Stopping",
        "Stopped",
    )
    job = wait_training_job(client, name, timeout=20)
    assert job["TrainingJobStatus"] == "Stopped"
    assert job["SecondaryStatus"] == "Stopped"
    statuses = [t["Status"] for t in job["SecondaryStatusTransitions"]]
    assert statuses[-1] == "Stopped"
    assert "Stopping" in statuses[statuses.index("Training") :]
    assert job["TrainingEndTime"] - job["TrainingStartTime"] < timedelta(seconds=15)
    with pytest.raises(client.exceptions.ResourceNotFound):
        client.stop_training_job(TrainingJobName=unique("nothing"))


def test_stop_a_training_job_returns_once_it_is_stopping(checked: Server) -> None:
    """The scheduler thread commits the stop on its next tick; StopTrainingJob waits for
    it, so a Describe right after shows Stopping even when that tick comes late (here
    held back half a second after the request). Before that tick the request is in the
    store already, so a server dying then loses no stop: whoever adopts the job next
    stops it."""
    client = checked.client()
    name = create_long_training_job(client, "slowtick")
    wait_until_training(client, name)
    assert checked.services.scheduler is not None
    runner = checked.services.scheduler.training
    requested: list[float] = []
    stored_before_tick: list[set[str]] = []
    request_stop, tick = runner.request_stop, runner.tick

    def late_request(job_name: str) -> None:
        requested.append(time.monotonic())
        request_stop(job_name)

    def late_tick() -> None:
        if requested:
            time.sleep(max(0.0, requested[0] + 0.5 - time.monotonic()))
            if not stored_before_tick:
                stored_before_tick.append(checked.store.stop_requested([name]))
        tick()

    runner.request_stop, runner.tick = late_request, late_tick  # type: ignore[method-assign]
    try:
        client.stop_training_job(TrainingJobName=name)
        status = client.describe_training_job(TrainingJobName=name)["TrainingJobStatus"]
        waited = time.monotonic() - requested[0]
    finally:
        runner.request_stop, runner.tick = request_stop, tick  # type: ignore[method-assign]
    assert status in ("Stopping", "Stopped")
    assert waited >= 0.5
    assert stored_before_tick == [{name}]
    assert wait_training_job(client, name, timeout=20)["TrainingJobStatus"] == "Stopped"


def test_stop_a_training_job_right_after_creating_it(checked: Server) -> None:
    """A standalone job is picked up by the scheduler's next scan of the store;
    StopTrainingJob before that scan (here held back half a second) waits for one."""
    client = checked.client()
    assert checked.services.scheduler is not None
    runner = checked.services.scheduler.training
    adopt = runner.adopt

    def late_adopt() -> None:
        time.sleep(0.5)
        adopt()

    runner.adopt = late_adopt  # type: ignore[method-assign]
    try:
        name = create_long_training_job(client, "quickstop")
        client.stop_training_job(TrainingJobName=name)
        status = client.describe_training_job(TrainingJobName=name)["TrainingJobStatus"]
    finally:
        runner.adopt = adopt  # type: ignore[method-assign]
    assert status in ("Stopping", "Stopped")
    assert wait_training_job(client, name, timeout=20)["TrainingJobStatus"] == "Stopped"


def test_stop_a_training_job_of_a_tuning_job(checked: Server) -> None:
    client = checked.client()
    name = unique("stopone")
    client.create_hyper_parameter_tuning_job(
        **jobs.tuning_job(
            name, max_jobs=3, parallel=2, static={"epochs": "20", "seconds_per_epoch": "0.05"}
        )
    )

    def a_running_job() -> str | None:
        for summary in training_jobs_of(client, name, StatusEquals="InProgress"):
            job = client.describe_training_job(TrainingJobName=summary["TrainingJobName"])
            if job["SecondaryStatus"] == "Training":
                return summary["TrainingJobName"]
        return None

    victim = wait_for(a_running_job, what="a training job to train")
    client.stop_training_job(TrainingJobName=victim)
    described = wait_tuning_job(client, name)
    # the tuning job goes on without it
    assert described["HyperParameterTuningJobStatus"] == "Completed"
    assert described["TrainingJobStatusCounters"]["Stopped"] == 1
    assert described["TrainingJobStatusCounters"]["Completed"] == 2
    stopped = client.describe_training_job(TrainingJobName=victim)
    assert stopped["TrainingJobStatus"] == "Stopped"
    assert "StopTrainingJob" in " ".join(
        t.get("StatusMessage", "") for t in stopped["SecondaryStatusTransitions"]
    )


def test_list_training_jobs(checked: Server, finished: dict[str, Any]) -> None:
    client = checked.client()
    grid = finished["grid"]["name"]

    def every(**params: Any) -> list[Summary]:
        return list(
            item
            for page in client.get_paginator("list_training_jobs").paginate(**params)
            for item in page["TrainingJobSummaries"]
        )

    summaries = every(NameContains=grid)
    assert len(summaries) == 6
    assert names(summaries) == expected_order(summaries, "CreationTime", False)  # the default
    for summary in summaries:
        assert summary["TrainingJobArn"].endswith(summary["TrainingJobName"].lower())
        assert summary["SecondaryStatus"] == summary["TrainingJobStatus"]
        assert summary["CreationTime"] <= summary["TrainingEndTime"]
    assert {s["TrainingJobName"] for s in summaries} == set(names(training_jobs_of(client, grid)))
    assert names(every(NameContains=grid, StatusEquals="Failed")) == names(
        [s for s in summaries if s["TrainingJobStatus"] == "Failed"]
    )
    for sort_by, field in (
        ("Name", "TrainingJobName"),
        ("CreationTime", "CreationTime"),
        ("Status", "TrainingJobStatus"),
    ):
        for order in ("Ascending", "Descending"):
            found = every(NameContains=grid, SortBy=sort_by, SortOrder=order)
            assert names(found) == expected_order(summaries, field, order == "Descending")
    # time windows
    for field, after, before in (
        ("CreationTime", "CreationTimeAfter", "CreationTimeBefore"),
        ("LastModifiedTime", "LastModifiedTimeAfter", "LastModifiedTimeBefore"),
    ):
        moments = sorted(s[field] for s in summaries)
        pivot = widest_gap(moments)
        assert names(every(NameContains=grid, **{after: pivot})) == names(
            [s for s in summaries if s[field] > pivot]
        )
        assert names(every(NameContains=grid, **{before: pivot})) == names(
            [s for s in summaries if s[field] < pivot]
        )
    # pages, and a token bound to its query
    first = client.list_training_jobs(NameContains=grid, MaxResults=5)
    assert len(first["TrainingJobSummaries"]) == 5
    rest = client.list_training_jobs(NameContains=grid, MaxResults=5, NextToken=first["NextToken"])
    assert names(first["TrainingJobSummaries"] + rest["TrainingJobSummaries"]) == names(summaries)
    assert "NextToken" not in rest
    code, _, _ = error_code(
        lambda: client.list_training_jobs(
            NameContains=grid, SortOrder="Descending", NextToken=first["NextToken"]
        )
    )
    assert code == "ValidationException"
    # all training jobs: those of tuning jobs and standalone ones
    everything = names(every(MaxResults=100))
    assert set(names(summaries)) <= set(everything)
    assert len(everything) == len(set(everything))


# -- tags --------------------------------------------------------------------------------


def tags_of(client: Client, arn: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in client.list_tags(ResourceArn=arn)["Tags"]}


def test_tags_propagate_to_training_jobs_launched_afterwards(checked: Server) -> None:
    client = checked.client()
    name = unique("tagged")
    arn = client.create_hyper_parameter_tuning_job(
        **jobs.tuning_job(
            name,
            max_jobs=3,
            parallel=1,
            static={"epochs": "5", "seconds_per_epoch": "0.1"},
            tags={"team": "red", "cost-center": "42"},
        )
    )["HyperParameterTuningJobArn"]
    assert tags_of(client, arn) == {"team": "red", "cost-center": "42"}
    first = wait_for(lambda: training_jobs_of(client, name), what="the first training job")
    client.add_tags(ResourceArn=arn, Tags=[{"Key": "stage", "Value": "late"}])
    wait_tuning_job(client, name)
    summaries = training_jobs_of(client, name, SortBy="CreationTime")
    assert len(summaries) == 3
    assert summaries[0]["TrainingJobName"] == first[0]["TrainingJobName"]
    tags = [tags_of(client, s["TrainingJobArn"]) for s in summaries]
    # tags given at creation go to every training job; later ones only to later jobs
    assert tags[0] == {"team": "red", "cost-center": "42"}
    assert tags[1] == tags[2] == {"team": "red", "cost-center": "42", "stage": "late"}
    assert tags_of(client, arn) == {"team": "red", "cost-center": "42", "stage": "late"}


def test_add_list_delete_tags(checked: Server, finished: dict[str, Any]) -> None:
    client = checked.client()
    arn = finished["multi"]["arn"]
    assert tags_of(client, arn) == {"team": "blue"}
    added = client.add_tags(
        ResourceArn=arn, Tags=[{"Key": "team", "Value": "green"}, {"Key": "env", "Value": ""}]
    )
    assert added["Tags"] == [{"Key": "team", "Value": "green"}, {"Key": "env", "Value": ""}]
    assert tags_of(client, arn) == {"team": "green", "env": ""}
    assert client.delete_tags(ResourceArn=arn, TagKeys=["team", "absent"])
    assert tags_of(client, arn) == {"env": ""}
    # training jobs' tags are theirs: deleting the tuning job's does not touch them
    summary = training_jobs_of(client, finished["multi"]["name"])[0]
    assert tags_of(client, summary["TrainingJobArn"]) == {"team": "blue"}
    client.delete_tags(ResourceArn=summary["TrainingJobArn"], TagKeys=["team"])
    assert tags_of(client, summary["TrainingJobArn"]) == {}
    # at most 50 per resource; ListTags pages of at least 50
    many = [{"Key": f"k{i:02d}", "Value": str(i)} for i in range(49)]
    client.add_tags(ResourceArn=arn, Tags=many)
    page = client.list_tags(ResourceArn=arn, MaxResults=50)
    assert len(page["Tags"]) == 50 and "NextToken" not in page
    code, message, _ = error_code(
        lambda: client.add_tags(ResourceArn=arn, Tags=[{"Key": "one-too-many", "Value": "x"}])
    )
    assert code == "ValidationException" and "50" in message
    # ARNs of nothing, or of what tunelab does not have
    for bad in (
        arn + "-gone",
        "arn:aws:sagemaker:us-east-1:123456789012:endpoint/some-endpoint",
    ):
        for call in (
            lambda bad=bad: client.list_tags(ResourceArn=bad),
            lambda bad=bad: client.add_tags(ResourceArn=bad, Tags=[{"Key": "a", "Value": "b"}]),
            lambda bad=bad: client.delete_tags(ResourceArn=bad, TagKeys=["a"]),
        ):
            assert error_code(call)[0] == "ValidationException"


# -- algorithms --------------------------------------------------------------------------


def algorithm(name: str, **extra: Any) -> dict[str, Any]:
    image, description = f"file://{jobs.TRAIN}", "the test program"
    return make_algorithm(
        name, image, metrics=jobs.METRICS, AlgorithmDescription=description, **extra
    )


def test_algorithms(checked: Server) -> None:
    client = checked.client()
    prefix = unique("algo")
    created = []
    for index in range(3):
        name = f"{prefix}-{index}"
        arn = client.create_algorithm(**algorithm(name, Tags=[{"Key": "i", "Value": str(index)}]))[
            "AlgorithmArn"
        ]
        assert arn == f"arn:aws:sagemaker:us-east-1:123456789012:algorithm/{name}"
        created.append((name, arn))
        time.sleep(0.02)
    name, arn = created[1]
    for key in (name, arn):
        described = client.describe_algorithm(AlgorithmName=key)
        assert described["AlgorithmName"] == name and described["AlgorithmArn"] == arn
        assert described["AlgorithmStatus"] == "Completed"
        assert described["AlgorithmDescription"] == "the test program"
        specification = described["TrainingSpecification"]
        assert specification["TrainingImage"] == f"file://{jobs.TRAIN}"
        assert specification["MetricDefinitions"] == jobs.METRICS
    assert tags_of(client, arn) == {"i": "1"}

    found = client.list_algorithms(NameContains=prefix)["AlgorithmSummaryList"]
    assert [a["AlgorithmName"] for a in found] == [n for n, _ in created]  # CreationTime
    assert found[0]["AlgorithmDescription"] == "the test program"
    descending = client.list_algorithms(NameContains=prefix, SortBy="Name", SortOrder="Descending")
    assert [a["AlgorithmName"] for a in descending["AlgorithmSummaryList"]] == [
        n for n, _ in reversed(created)
    ]
    after = found[0]["CreationTime"] + (found[1]["CreationTime"] - found[0]["CreationTime"]) / 2
    windowed = client.list_algorithms(NameContains=prefix, CreationTimeAfter=after)
    assert [a["AlgorithmName"] for a in windowed["AlgorithmSummaryList"]] == [
        n for n, _ in created[1:]
    ]
    first = client.list_algorithms(NameContains=prefix, MaxResults=2)
    rest = client.list_algorithms(NameContains=prefix, MaxResults=2, NextToken=first["NextToken"])
    assert [
        a["AlgorithmName"] for a in first["AlgorithmSummaryList"] + rest["AlgorithmSummaryList"]
    ] == [n for n, _ in created]
    assert "NextToken" not in rest
    code, _, _ = error_code(
        lambda: client.list_algorithms(
            NameContains=prefix, SortBy="Name", NextToken=first["NextToken"]
        )
    )
    assert code == "ValidationException"

    with pytest.raises(client.exceptions.ResourceInUse):
        client.create_algorithm(**algorithm(name.upper()))
    with pytest.raises(client.exceptions.ResourceNotFound):
        client.describe_algorithm(AlgorithmName=unique("nothing"))
    docker = algorithm(unique("docker"))
    docker["TrainingSpecification"]["TrainingImage"] = "123.dkr.ecr.us-east-1.amazonaws.com/x:1"
    code, message, _ = error_code(lambda: client.create_algorithm(**docker))
    assert code == "ValidationException" and "file://" in message


# -- every operation's responses -----------------------------------------------------------


def test_every_operation_answers_in_its_output_shape(server: Server) -> None:
    """One call of each operation on a fresh server, single- and two-definition jobs
    included; ``server`` checks every response against its output shape."""
    client = server.client()
    single, multi = unique("shape"), unique("shapes")
    client.create_hyper_parameter_tuning_job(
        **jobs.tuning_job(single, max_jobs=2, tags={"a": "b"})
    )
    client.create_hyper_parameter_tuning_job(**jobs.two_definition_job(multi, max_jobs=2))
    client.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=single)
    for name in (single, multi):
        wait_tuning_job(client, name)
        for summary in training_jobs_of(client, name, MaxResults=1):
            client.describe_training_job(TrainingJobName=summary["TrainingJobName"])
    client.list_hyper_parameter_tuning_jobs(MaxResults=1)
    client.list_training_jobs(MaxResults=1)
    standalone = unique("shape-train")
    client.create_training_job(
        **jobs.training_job(standalone, {"epochs": "100", "seconds_per_epoch": "0.1"})
    )
    client.describe_training_job(TrainingJobName=standalone)
    wait_for(
        lambda: (
            client.describe_training_job(TrainingJobName=standalone)["SecondaryStatus"]
            == "Training"
        )
    )
    client.stop_training_job(TrainingJobName=standalone)
    arn = client.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=single)[
        "HyperParameterTuningJobArn"
    ]
    client.add_tags(ResourceArn=arn, Tags=[{"Key": "c", "Value": "d"}])
    client.list_tags(ResourceArn=arn)
    client.delete_tags(ResourceArn=arn, TagKeys=["c"])
    client.create_algorithm(**algorithm("shape-algorithm"))
    client.describe_algorithm(AlgorithmName="shape-algorithm")
    client.list_algorithms()
    stopped = unique("shape-stop")
    client.create_hyper_parameter_tuning_job(
        **jobs.tuning_job(stopped, static={"epochs": "100", "seconds_per_epoch": "0.1"})
    )
    client.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName=stopped)
    client.delete_hyper_parameter_tuning_job(HyperParameterTuningJobName=single)
    wait_training_job(client, standalone)
    wait_tuning_job(client, stopped)
    answered = {e.operation for e in server.exchanges if e.status == 200}
    assert answered == set(SERVED_OPERATIONS)
    assert response_problems(server.exchanges) == []
    # a response that breaks its shape is caught by the check
    broken = [e for e in server.exchanges if e.operation == "DescribeTrainingJob"][:1]
    assert (
        response_problems([type(broken[0])(broken[0].operation, 200, b'{"TrainingJobName": 5}')])
        != []
    )
