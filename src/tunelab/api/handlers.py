"""One function per SageMaker operation, named like the boto3 method, registered
by the wire operation name. Each does three things: read the request's members,
call a use case, build the response shape."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tunelab.api import codecs
from tunelab.api import training_codecs as tcodecs
from tunelab.api.wire import CursorValue, next_token, read_token, timestamp
from tunelab.domain.enums import TrainingJobStatus, TuningJobStatus
from tunelab.domain.errors import Violation, raise_for
from tunelab.domain.names import elsewhere, parse_arn, tuning_job_arn
from tunelab.domain.paths import request_definitions
from tunelab.service.algorithms import AlgorithmService
from tunelab.service.scheduler import STOP_WAIT_SECONDS, Scheduler
from tunelab.service.training import TrainingService
from tunelab.service.tuning import TuningService
from tunelab.store.base import TrainingJobQuery, TuningJobQuery

Request = dict[str, Any]
Response = dict[str, Any]


@dataclass(frozen=True)
class Context:
    tuning: TuningService
    training: TrainingService
    algorithms: AlgorithmService
    scheduler: Scheduler | None
    principal: str | None
    region: str
    account: str


Handler = Callable[[Context, Request], Response]
HANDLERS: dict[str, Handler] = {}


def operation(name: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        HANDLERS[name] = handler
        return handler

    return register


def _limit(request: Request) -> int:
    return int(request.get("MaxResults", 10))


def _windows(request: Request) -> dict[str, float | None]:
    return {
        "created_after": timestamp(request.get("CreationTimeAfter"), "CreationTimeAfter"),
        "created_before": timestamp(request.get("CreationTimeBefore"), "CreationTimeBefore"),
        "modified_after": timestamp(request.get("LastModifiedTimeAfter"), "LastModifiedTimeAfter"),
        "modified_before": timestamp(
            request.get("LastModifiedTimeBefore"), "LastModifiedTimeBefore"
        ),
    }


SORT_VALUE: dict[str, CursorValue] = {
    "Name": "text",
    "Status": "text",
    "CreationTime": "number",
    "FinalObjectiveMetricValue": "number",
}
"""What a page cursor holds for each ``SortBy`` of the job listings."""
UNMATCHABLE_TRAINING_FILTERS = ("WarmPoolStatusEquals", "TrainingPlanArnEquals")
"""ListTrainingJobs filters no tunelab training job matches (no warm pools, no
training plans)."""


def _after(request: Request, filters: dict[str, Any], operation: str, sort_by: str) -> Any:
    """The cursor of the request's ``NextToken`` (None on the first page)."""
    return read_token(request.get("NextToken"), filters, operation, SORT_VALUE[sort_by])


def _with_token(
    response: Response, cursor: Any, filters: dict[str, Any], operation: str
) -> Response:
    """``response`` with a ``NextToken`` for the page after ``cursor``, if any."""
    token = next_token(cursor, filters, operation)
    if token:
        response["NextToken"] = token
    return response


def _filters(request: Request, *ignored: str) -> dict[str, Any]:
    """What a page token is bound to: every member but the token and page size."""
    return {k: v for k, v in request.items() if k not in ("NextToken", "MaxResults", *ignored)}


def algorithm_elsewhere(ctx: Context, name: str) -> str | None:
    """Why the ``AlgorithmName`` ``name``, an ARN, names no algorithm of this server (of
    another partition, region or account, or of another resource type); None for a
    plain name or an ARN that could name one of its algorithms."""
    reason = elsewhere(name, ctx.region, ctx.account)
    parsed = parse_arn(name)
    if reason is None and parsed is not None and parsed[0] != "algorithm":
        reason = f"it is the ARN of a {parsed[0]}, not of an algorithm"
    return reason


def _refuse_algorithms_elsewhere(ctx: Context, request: Request) -> None:
    """A ``ValidationException`` for each definition whose ``AlgorithmName`` is the ARN
    of an algorithm that is not on this server (the service looks algorithms up by name)."""
    definitions: list[tuple[str, Any]] = [("", request)]  # a CreateTrainingJob request
    definitions += [(f"{path}.", d) for path, d in request_definitions(request)]
    problems = []
    for prefix, definition in definitions:
        spec = definition.get("AlgorithmSpecification")
        name = spec.get("AlgorithmName") if isinstance(spec, dict) else None
        if isinstance(name, str) and (reason := algorithm_elsewhere(ctx, name)) is not None:
            problems.append(
                Violation(
                    f"{prefix}AlgorithmSpecification.AlgorithmName",
                    f"{name!r} names no algorithm of this server: {reason}",
                )
            )
    raise_for(problems)


# -- tuning jobs ---------------------------------------------------------------------------


@operation("CreateHyperParameterTuningJob")
def create_hyper_parameter_tuning_job(ctx: Context, request: Request) -> Response:
    _refuse_algorithms_elsewhere(ctx, request)
    job = ctx.tuning.create(request, created_by=ctx.principal)
    if ctx.scheduler is not None:
        ctx.scheduler.notify()
    return {"HyperParameterTuningJobArn": tuning_job_arn(job.name, ctx.region, ctx.account)}


@operation("DescribeHyperParameterTuningJob")
def describe_hyper_parameter_tuning_job(ctx: Context, request: Request) -> Response:
    description = ctx.tuning.describe(request["HyperParameterTuningJobName"])
    return codecs.describe_tuning_job(description, ctx.region, ctx.account)


@operation("ListHyperParameterTuningJobs")
def list_hyper_parameter_tuning_jobs(ctx: Context, request: Request) -> Response:
    operation, filters = "ListHyperParameterTuningJobs", _filters(request)
    status = request.get("StatusEquals")
    sort_by = request.get("SortBy", "Name")
    query = TuningJobQuery(
        name_contains=request.get("NameContains"),
        status=TuningJobStatus(status) if status else None,
        sort_by=sort_by,
        sort_order=request.get("SortOrder", "Ascending"),
        limit=_limit(request),
        after=_after(request, filters, operation, sort_by),
        **_windows(request),
    )
    page = ctx.tuning.list(query)
    counters = ctx.tuning.store.counters_of([job.name for job in page.items])
    response: Response = {
        "HyperParameterTuningJobSummaries": [
            codecs.tuning_job_summary(job, counters[job.name], ctx.region, ctx.account)
            for job in page.items
        ]
    }
    return _with_token(response, page.next_cursor, filters, operation)


@operation("StopHyperParameterTuningJob")
def stop_hyper_parameter_tuning_job(ctx: Context, request: Request) -> Response:
    ctx.tuning.stop(request["HyperParameterTuningJobName"], finish_orphans=False)
    if ctx.scheduler is not None:
        ctx.scheduler.notify()
    return {}


@operation("DeleteHyperParameterTuningJob")
def delete_hyper_parameter_tuning_job(ctx: Context, request: Request) -> Response:
    ctx.tuning.delete(request["HyperParameterTuningJobName"])
    return {}


@operation("ListTrainingJobsForHyperParameterTuningJob")
def list_training_jobs_for_hyper_parameter_tuning_job(ctx: Context, request: Request) -> Response:
    operation, filters = "ListTrainingJobsForHyperParameterTuningJob", _filters(request)
    name = request["HyperParameterTuningJobName"]
    job = ctx.tuning.get(name)
    status = request.get("StatusEquals")
    sort_by = request.get("SortBy", "Name")
    query = TrainingJobQuery(
        job.name,
        status=_training_status(status),
        sort_by=sort_by,
        sort_order=request.get("SortOrder", "Ascending"),
        limit=_limit(request),
        after=_after(request, filters, operation, sort_by),
    )
    if _never_held(status):
        return {"TrainingJobSummaries": []}
    page = ctx.tuning.store.list_training_jobs(query)  # the tuning job exists: read above
    response: Response = {
        "TrainingJobSummaries": [
            codecs.training_job_summary(t, job.spec, ctx.region, ctx.account) for t in page.items
        ]
    }
    return _with_token(response, page.next_cursor, filters, operation)


# -- training jobs -----------------------------------------------------------------------


@operation("CreateTrainingJob")
def create_training_job(ctx: Context, request: Request) -> Response:
    _refuse_algorithms_elsewhere(ctx, request)
    job = ctx.training.create(request, created_by=ctx.principal)
    if ctx.scheduler is not None:
        ctx.scheduler.notify()
    return {
        "TrainingJobArn": tcodecs.training_job_summary(job, ctx.region, ctx.account)[
            "TrainingJobArn"
        ]
    }


@operation("DescribeTrainingJob")
def describe_training_job(ctx: Context, request: Request) -> Response:
    description = ctx.training.describe(request["TrainingJobName"])
    return tcodecs.describe_training_job(description, ctx.region, ctx.account)


def _never_held(status: str | None) -> bool:
    """Whether ``StatusEquals`` names a training job status of SageMaker's model that no
    tunelab training job ever has (``Deleting``: tunelab does not delete training jobs):
    the filter matches no job."""
    return status is not None and status not in {member.value for member in TrainingJobStatus}


def _training_status(status: str | None) -> TrainingJobStatus | None:
    """``StatusEquals`` as a status to query (None: no filter, or :func:`_never_held`)."""
    return None if status is None or _never_held(status) else TrainingJobStatus(status)


@operation("ListTrainingJobs")
def list_training_jobs(ctx: Context, request: Request) -> Response:
    """``WarmPoolStatusEquals`` and ``TrainingPlanArnEquals`` match no job: tunelab
    has neither warm pools nor training plans."""
    operation, filters = "ListTrainingJobs", _filters(request)
    status = request.get("StatusEquals")
    sort_by = request.get("SortBy", "CreationTime")
    query = TrainingJobQuery(
        None,
        status=_training_status(status),
        name_contains=request.get("NameContains"),
        sort_by=sort_by,
        sort_order=request.get("SortOrder", "Ascending"),
        limit=_limit(request),
        after=_after(request, filters, operation, sort_by),
        **_windows(request),
    )
    if _never_held(status) or any(
        request.get(member) is not None for member in UNMATCHABLE_TRAINING_FILTERS
    ):
        return {"TrainingJobSummaries": []}
    page = ctx.training.list(query)
    response: Response = {
        "TrainingJobSummaries": [
            tcodecs.training_job_summary(t, ctx.region, ctx.account) for t in page.items
        ]
    }
    return _with_token(response, page.next_cursor, filters, operation)


@operation("StopTrainingJob")
def stop_training_job(ctx: Context, request: Request) -> Response:
    job = ctx.training.check_stoppable(request["TrainingJobName"])
    ctx.training.record_stop_request(job.name)  # kept even if this server dies next
    if ctx.scheduler is None or not ctx.scheduler.request_stop_training_job(job.name):
        ctx.training.await_stopping(job.name, wait=STOP_WAIT_SECONDS)  # run by another process
    return {}
