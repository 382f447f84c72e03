"""Tags through boto3: they go with a deleted tuning job, 50 per resource even under
concurrent AddTags, ListTags pages of at most 50, and one key once per AddTags."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from botocore.exceptions import ClientError
from sqlalchemy import create_engine

from tests.api import jobs
from tests.api.conftest import Server, error_code, unique, wait_training_job, wait_tuning_job
from tunelab.store.sql.tags import TUNING_JOB, insert_tags

pytestmark = pytest.mark.usefixtures("checked")
Client = Any


def tags_of(client: Client, arn: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in client.list_tags(ResourceArn=arn)["Tags"]}


def training_job_arns(client: Client, name: str) -> list[str]:
    page = client.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name
    )
    return [s["TrainingJobArn"] for s in page["TrainingJobSummaries"]]


def test_a_deleted_tuning_job_takes_its_tags_along(checked: Server) -> None:
    client = checked.client()
    name = unique("retagged")
    tagged = jobs.tuning_job(name, max_jobs=1, parallel=1, tags={"team": "red"})
    arn = client.create_hyper_parameter_tuning_job(**tagged)["HyperParameterTuningJobArn"]
    client.add_tags(ResourceArn=arn, Tags=[{"Key": "owner", "Value": "alice"}])
    wait_tuning_job(client, name)
    [old_training_job] = training_job_arns(client, name)
    client.delete_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    # the same name again, without tags: neither it nor its training jobs get the old ones
    untagged = jobs.tuning_job(name, max_jobs=1, parallel=1)
    recreated = client.create_hyper_parameter_tuning_job(**untagged)
    assert recreated["HyperParameterTuningJobArn"] == arn
    assert tags_of(client, arn) == {}
    wait_tuning_job(client, name)
    [new_training_job] = training_job_arns(client, name)
    assert tags_of(client, new_training_job) == {}
    # training jobs outlive their tuning job, and keep the tags they were launched with
    assert tags_of(client, old_training_job)["team"] == "red"


def _add_at_once(client: Client, arn: str, writers: int = 4, each: int = 30) -> list[str]:
    """``writers`` threads each adding ``each`` new tags at the same moment; the outcome
    of each: "ok" or the error code."""
    barrier = threading.Barrier(writers)
    outcomes = [""] * writers

    def add(index: int) -> None:
        tags = [{"Key": f"w{index}-{i:02d}", "Value": ""} for i in range(each)]
        barrier.wait()
        try:
            client.add_tags(ResourceArn=arn, Tags=tags)
            outcomes[index] = "ok"
        except ClientError as error:
            outcomes[index] = error.response["Error"]["Code"]

    threads = [threading.Thread(target=add, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_concurrent_add_tags_keep_50_per_resource(checked: Server) -> None:
    client = checked.client()
    name = unique("crowded")
    arn = client.create_hyper_parameter_tuning_job(
        **jobs.tuning_job(name, max_jobs=1, parallel=1)
    )["HyperParameterTuningJobArn"]
    training_name = unique("crowded-training")
    training_arn = client.create_training_job(**jobs.training_job(training_name))["TrainingJobArn"]
    for resource in (arn, training_arn):
        outcomes = _add_at_once(client, resource)
        assert sorted(outcomes) == ["ValidationException"] * 3 + ["ok"], resource
        assert len(client.list_tags(ResourceArn=resource, MaxResults=100)["Tags"]) == 30
    code, message, _ = error_code(
        lambda: client.add_tags(
            ResourceArn=arn, Tags=[{"Key": f"more-{i}", "Value": ""} for i in range(21)]
        )
    )
    assert code == "ValidationException"
    assert message == "Tags: a resource has at most 50 tags; this would make 51"
    wait_tuning_job(client, name)
    wait_training_job(client, training_name)


def test_list_tags_pages_hold_at_most_50(checked: Server) -> None:
    """Even for a resource with more than 50 tags (as concurrent AddTags could leave
    before the limit was atomic) and a larger ``MaxResults``."""
    client = checked.client()
    name = unique("overfull")
    arn = client.create_hyper_parameter_tuning_job(
        **jobs.tuning_job(name, max_jobs=1, parallel=1)
    )["HyperParameterTuningJobArn"]
    engine = create_engine(checked.store.url)
    with engine.begin() as conn:
        insert_tags(conn, TUNING_JOB, name.lower(), [(f"k{i:02d}", "") for i in range(60)])
    engine.dispose()
    first = client.list_tags(ResourceArn=arn, MaxResults=100)
    assert len(first["Tags"]) == 50 and first["Tags"][0]["Key"] == "k00"
    rest = client.list_tags(ResourceArn=arn, MaxResults=100, NextToken=first["NextToken"])
    assert [t["Key"] for t in rest["Tags"]] == [f"k{i}" for i in range(50, 60)]
    assert "NextToken" not in rest
    paged = client.get_paginator("list_tags").paginate(ResourceArn=arn)
    assert [len(page["Tags"]) for page in paged] == [50, 10]
    wait_tuning_job(client, name)


def test_add_tags_refuses_a_key_given_twice(checked: Server) -> None:
    client = checked.client()
    name = unique("twice")
    arn = client.create_hyper_parameter_tuning_job(
        **jobs.tuning_job(name, max_jobs=1, parallel=1)
    )["HyperParameterTuningJobArn"]
    tags = [
        {"Key": "team", "Value": "red"},
        {"Key": "env", "Value": "dev"},
        {"Key": "team", "Value": "blue"},
    ]
    code, message, status = error_code(lambda: client.add_tags(ResourceArn=arn, Tags=tags))
    assert (code, status) == ("ValidationException", 400)
    assert message.startswith("Tags[2].Key: ") and "'team'" in message
    assert tags_of(client, arn) == {}
    wait_tuning_job(client, name)
