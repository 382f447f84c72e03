"""What the list operations refuse or match: edited or foreign ``NextToken`` s are a
ValidationException naming ``NextToken`` (never a 500), and ListTrainingJobs' warm pool
and training plan filters match no tunelab training job."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.api import jobs
from tests.api.conftest import Server, error_code, unique, wait_tuning_job

pytestmark = pytest.mark.usefixtures("checked")
Client = Any


@pytest.fixture(scope="module")
def finished(api: Server) -> Iterator[str]:
    """Two finished tuning jobs of 2 training jobs each; the name of the last one."""
    client = api.client()
    names = [unique("paged") for _ in range(2)]
    for name in names:
        client.create_hyper_parameter_tuning_job(**jobs.tuning_job(name, max_jobs=2))
    for name in names:
        wait_tuning_job(client, name)
    yield names[-1]


def edited(token: str, cursor: Any) -> str:
    """``token`` with its cursor replaced (as a client that decoded it could)."""
    data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    data["c"] = cursor
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


BAD_CURSORS = {
    "null value": [None, "x"],
    "list value": [[], "x"],
    "object value": [{}, "x"],
    "boolean value": [True, "x"],
    "text value": ["x", "x"],
    "infinite value": [1e308 * 10, "x"],
    "huge integer value": [10**400, "x"],
    "null name": [1.5, None],
    "number name": [1.5, 7],
    "name with NUL": [1.5, "nul\u0000"],
    "name with a lone surrogate": [1.5, "\ud800"],
    "one element": [1.5],
    "text cursor": "ab",
}


def _lists(client: Client, finished: str) -> dict[str, Callable[..., dict[str, Any]]]:
    """Each list operation sorted by a number, so that an edited cursor must be one."""
    return {
        "tuning jobs by CreationTime": lambda **token: client.list_hyper_parameter_tuning_jobs(
            SortBy="CreationTime", MaxResults=1, **token
        ),
        "training jobs by objective": lambda **token: (
            client.list_training_jobs_for_hyper_parameter_tuning_job(
                HyperParameterTuningJobName=finished,
                SortBy="FinalObjectiveMetricValue",
                MaxResults=1,
                **token,
            )
        ),
        "training jobs by CreationTime": lambda **token: client.list_training_jobs(
            SortBy="CreationTime", MaxResults=1, **token
        ),
    }


@pytest.mark.parametrize("cursor", BAD_CURSORS.values(), ids=BAD_CURSORS.keys())
@pytest.mark.parametrize(
    "listing",
    ["tuning jobs by CreationTime", "training jobs by objective", "training jobs by CreationTime"],
)
def test_an_edited_token_is_refused(
    checked: Server, finished: str, listing: str, cursor: Any
) -> None:
    call = _lists(checked.client(parameter_validation=False), finished)[listing]
    token = call()["NextToken"]
    assert call(NextToken=token)  # the token as issued is fine
    code, message, status = error_code(lambda: call(NextToken=edited(token, cursor)))
    assert (code, status) == ("ValidationException", 400)
    assert message.startswith("NextToken: ") and message.endswith(" is not a valid token")


def test_a_token_of_another_operation_is_refused(checked: Server, finished: str) -> None:
    client = checked.client()
    tuning_token = client.list_hyper_parameter_tuning_jobs(MaxResults=1)["NextToken"]
    training_token = client.list_training_jobs(MaxResults=1)["NextToken"]
    for call, token in (
        (lambda t: client.list_training_jobs(NextToken=t), tuning_token),
        (lambda t: client.list_hyper_parameter_tuning_jobs(NextToken=t), training_token),
        (lambda t: client.list_algorithms(NextToken=t), training_token),
    ):
        code, message, status = error_code(lambda call=call, token=token: call(token))
        assert (code, status) == ("ValidationException", 400)
        assert message.startswith("NextToken: the token was issued by 'List"), message


def test_warm_pool_and_training_plan_filters_match_no_job(checked: Server, finished: str) -> None:
    client = checked.client(parameter_validation=False)
    assert client.list_training_jobs(MaxResults=100)["TrainingJobSummaries"]
    plan = "arn:aws:sagemaker:us-east-1:123456789012:training-plan/no-such-plan"
    for filters in (
        {"WarmPoolStatusEquals": "InUse"},
        {"WarmPoolStatusEquals": "Available"},
        {"TrainingPlanArnEquals": plan},
        {"WarmPoolStatusEquals": "Terminated", "NameContains": "paged"},
    ):
        page = client.list_training_jobs(MaxResults=100, **filters)
        assert page["TrainingJobSummaries"] == [] and "NextToken" not in page, filters
    # still checked against the model
    code, message, _ = error_code(
        lambda: client.list_training_jobs(WarmPoolStatusEquals="Warm", MaxResults=100)
    )
    assert code == "ValidationException" and "WarmPoolStatusEquals" in message
    code, message, _ = error_code(
        lambda: client.list_training_jobs(TrainingPlanArnEquals="not-an-arn")
    )
    assert code == "ValidationException" and "TrainingPlanArnEquals" in message


def test_a_status_no_training_job_has_here_matches_none(checked: Server, finished: str) -> None:
    """``Deleting`` is a training job status of SageMaker's model, but tunelab never
    deletes a training job: the filter matches nothing (it was an InternalFailure)."""
    client = checked.client()
    assert client.list_training_jobs(StatusEquals="Completed")["TrainingJobSummaries"]
    for page in (
        client.list_training_jobs(StatusEquals="Deleting", MaxResults=100),
        client.list_training_jobs_for_hyper_parameter_tuning_job(
            HyperParameterTuningJobName=finished, StatusEquals="Deleting"
        ),
    ):
        assert page["TrainingJobSummaries"] == [] and "NextToken" not in page
