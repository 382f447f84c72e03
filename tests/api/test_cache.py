"""The server's answer cache for reads (``tunelab.api.cache``) and the store reads made
for it: a write through the API, or by the scheduler, shows at once; a write by another
process within ``max_age``; every cached answer equals a fresh one; and the one-read
Describe equals ``TuningService.describe``."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.api import jobs
from tests.api.conftest import Server, start_server, unique, wait_tuning_job
from tunelab.api import codecs
from tunelab.api.app import Caller, _handle
from tunelab.api.cache import ResponseCache, dependencies
from tunelab.domain.enums import TuningJobStatus
from tunelab.store.sql.store import SqlStore

pytestmark = pytest.mark.usefixtures("checked")


def fresh(server: Server, operation: str, request: dict[str, Any]) -> Any:
    """The answer computed now, without the cache."""
    return json.loads(
        _handle(server.services, Caller(None), operation, json.dumps(request).encode())
    )


def test_entries_follow_generations_and_age() -> None:
    generations = {("tuning", "a"): 0}
    now = [100.0]
    cache = ResponseCache(
        lambda scopes: tuple(generations.get(s, 0) for s in scopes),
        max_age=1.0,
        clock=lambda: now[0],
    )
    scopes = [("tuning", "a")]
    assert cache.lookup("k", scopes) == (None, (0,))
    cache.put("k", (0,), b"answer")
    assert cache.lookup("k", scopes) == (b"answer", (0,))
    generations[("tuning", "a")] = 1  # a commit
    assert cache.lookup("k", scopes) == (None, (1,))
    cache.put("k", (0,), b"computed before the commit")
    assert cache.lookup("k", scopes)[0] is None  # stored under the older generation
    cache.put("k", (1,), b"new")
    assert cache.lookup("k", scopes)[0] == b"new"
    now[0] += 1.0  # at most max_age later, even without a commit seen
    assert cache.lookup("k", scopes)[0] is None
    assert ResponseCache(None).lookup("k", scopes) == (None, None)


def test_size_is_bounded() -> None:
    cache = ResponseCache(lambda scopes: (0,), max_bytes=16 * 100)
    for i in range(100):
        cache.put(i, (0,), b"x" * 50)
    assert cache.lookup(0, [()])[0] is None  # the oldest went first
    assert cache.lookup(99, [()])[0] == b"x" * 50


def test_what_each_read_depends_on() -> None:
    assert dependencies(
        "DescribeHyperParameterTuningJob", {"HyperParameterTuningJobName": "A"}
    ) == [("tuning", "a")]
    assert dependencies("ListHyperParameterTuningJobs", {}) == [("tuning",)]
    assert dependencies("ListTrainingJobs", {"MaxResults": 5}) == [("training",)]
    assert dependencies("DescribeTrainingJob", {"TrainingJobName": "T"}) == [
        ("training", "t"),
        ("documents",),
    ]
    arn = "arn:aws:sagemaker:us-east-1:123456789012:training-job/T"
    assert dependencies("ListTags", {"ResourceArn": arn}) == [
        ("tags", "training-job", "t"),
        ("training", "t"),
    ]
    assert dependencies("ListTags", {"ResourceArn": "nonsense"}) is None
    assert dependencies("CreateHyperParameterTuningJob", {}) is None
    assert dependencies("DescribeHyperParameterTuningJob", {}) is None


def test_the_api_sees_its_own_writes_at_once(checked: Server) -> None:
    client = checked.client()
    name = unique("fresh")
    arn = client.create_hyper_parameter_tuning_job(
        **jobs.tuning_job(name, max_jobs=2, static={"epochs": "100", "seconds_per_epoch": "0.1"})
    )["HyperParameterTuningJobArn"]
    for _ in range(3):  # cached
        described = client.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
        assert described["HyperParameterTuningJobStatus"] == "InProgress"
    listed = client.list_hyper_parameter_tuning_jobs(NameContains=name)
    client.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    assert client.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)[
        "HyperParameterTuningJobStatus"
    ] in ("Stopping", "Stopped")
    assert client.list_hyper_parameter_tuning_jobs(NameContains=name) != listed
    assert client.list_tags(ResourceArn=arn)["Tags"] == []
    client.add_tags(ResourceArn=arn, Tags=[{"Key": "k", "Value": "v"}])
    assert client.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "k", "Value": "v"}]
    client.delete_tags(ResourceArn=arn, TagKeys=["k"])
    assert client.list_tags(ResourceArn=arn)["Tags"] == []
    before = client.list_training_jobs(NameContains="fresh-standalone")["TrainingJobSummaries"]
    standalone = unique("fresh-standalone")
    client.create_training_job(**jobs.training_job(standalone, {"epochs": "1"}))
    after = client.list_training_jobs(NameContains="fresh-standalone")["TrainingJobSummaries"]
    assert len(after) == len(before) + 1
    wait_tuning_job(client, name)


def test_another_process_writes_show_within_max_age(checked: Server) -> None:
    client = checked.client()
    name = unique("external")
    client.create_hyper_parameter_tuning_job(**jobs.tuning_job(name, max_jobs=1, parallel=1))
    wait_tuning_job(client, name)
    described = client.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    # another process (here: another store on the same database) changes the job
    with SqlStore(checked.store.url) as other:
        job = other.get_tuning_job(name)
        with other.batch() as batch:
            batch.put_tuning_job(job.evolve(failure_reason="set elsewhere"))
    deadline = time.monotonic() + 1.5  # max_age is 1 s
    while True:
        described = client.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
        if described.get("FailureReason") == "set elsewhere":
            break
        assert time.monotonic() < deadline, "the other process's write never showed"
        time.sleep(0.05)
    assert described["HyperParameterTuningJobStatus"] == str(TuningJobStatus.COMPLETED)


def test_cached_answers_equal_fresh_ones(tmp_path: Path) -> None:
    """After jobs of every kind ran (and were read while they ran), each read answers
    exactly what it would compute now."""
    with start_server(tmp_path / "home") as server:
        client = server.client()
        grid = jobs.tuning_job(
            "grid",
            strategy="Grid",
            max_jobs=None,
            ranges={
                "CategoricalParameterRanges": [
                    {"Name": "mode", "Values": ["ok", "silent", "fail"]},
                    {"Name": "x", "Values": ["0.1", "0.9", "0.5"]},
                ]
            },
        )
        documents = [grid, jobs.two_definition_job("multi"), jobs.tuning_job("single")]
        for document in documents:
            client.create_hyper_parameter_tuning_job(**document)
        reads: list[tuple[str, dict[str, Any]]] = [
            ("ListHyperParameterTuningJobs", {}),
            ("ListTrainingJobs", {"MaxResults": 100}),
        ]
        for document in documents:
            request = {"HyperParameterTuningJobName": document["HyperParameterTuningJobName"]}
            reads += [
                ("DescribeHyperParameterTuningJob", request),
                ("ListTrainingJobsForHyperParameterTuningJob", {**request, "MaxResults": 100}),
                (
                    "ListTrainingJobsForHyperParameterTuningJob",
                    {**request, "SortBy": "FinalObjectiveMetricValue"},
                ),
            ]
        methods = {
            "ListHyperParameterTuningJobs": client.list_hyper_parameter_tuning_jobs,
            "ListTrainingJobs": client.list_training_jobs,
            "DescribeHyperParameterTuningJob": client.describe_hyper_parameter_tuning_job,
            "ListTrainingJobsForHyperParameterTuningJob": (
                client.list_training_jobs_for_hyper_parameter_tuning_job
            ),
        }
        for document in documents:  # read all the time while they run
            name = document["HyperParameterTuningJobName"]
            while client.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)[
                "HyperParameterTuningJobStatus"
            ] not in ("Completed", "Failed", "Stopped"):
                for operation, request in reads:
                    methods[operation](**request)
        for operation, request in reads:
            methods[operation](**request)  # cached now
            answered = [e for e in server.exchanges if e.operation == operation]
            assert json.loads(answered[-1].body) == fresh(server, operation, request), operation


@pytest.mark.parametrize("name", ["grid-d", "multi-d"])
def test_describe_in_one_read_equals_the_service(tmp_path: Path, name: str) -> None:
    with start_server(tmp_path / "home") as server:
        client = server.client()
        if name == "grid-d":
            document = jobs.tuning_job(
                name,
                strategy="Grid",
                max_jobs=None,
                parallel=3,
                ranges={
                    "CategoricalParameterRanges": [
                        {"Name": "mode", "Values": ["ok", "fail", "silent"]},
                        {"Name": "x", "Values": ["0.3", "0.31", "0.9", "0.6"]},
                    ]
                },
            )
        else:
            document = jobs.two_definition_job(name, max_jobs=6, parallel=3)
        client.create_hyper_parameter_tuning_job(**document)
        wait_tuning_job(client, name)
        client.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
        expected = codecs.describe_tuning_job(server.services.tuning.describe(name))
        wire = json.loads(server.exchanges[-1].body)
        assert wire == json.loads(json.dumps(expected))
        assert wire["TuningJobCompletionDetails"] == expected["TuningJobCompletionDetails"]
        counters = server.store.counters_of([name, "nothing"])
        assert counters[name] == server.store.counters(name)
        assert counters["nothing"] == server.store.counters("nothing")
