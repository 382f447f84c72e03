"""Tags (by ARN) and registered algorithms."""

from __future__ import annotations

import copy
from typing import Any

from tunelab.api.handlers import Context, Request, Response, algorithm_elsewhere, operation
from tunelab.api.training_codecs import tags as tag_list
from tunelab.api.wire import ApiError, next_token, read_token, timestamp
from tunelab.domain.errors import ResourceNotFound, ValidationError
from tunelab.domain.names import algorithm_arn, elsewhere, parse_arn
from tunelab.domain.tags import repeated_tag_keys
from tunelab.store.sql.tags import MAX_TAGS

RESOURCE_LABEL = {
    "hyper-parameter-tuning-job": "Tuning job",
    "training-job": "Training job",
    "algorithm": "Algorithm",
}


def _resource(ctx: Context, arn: str) -> tuple[str, str]:
    """(resource type, name) of an existing resource named by ``arn``."""
    parsed = parse_arn(arn)
    if parsed is None or parsed[0] not in RESOURCE_LABEL:
        raise ApiError(
            "ValidationException",
            f"ResourceArn: {arn!r} is not the ARN of a tuning job, training job or algorithm",
        )
    resource_type, name = parsed
    if (reason := elsewhere(arn, ctx.region, ctx.account)) is not None:
        raise _no_such_resource(resource_type, arn, f" on this server: {reason}")
    lookup = {
        "hyper-parameter-tuning-job": ctx.tuning.get,
        "training-job": ctx.training.get,
        "algorithm": ctx.algorithms.get,
    }[resource_type]
    try:
        lookup(name)
    except ResourceNotFound:
        raise _no_such_resource(resource_type, arn) from None
    return resource_type, name


def _no_such_resource(resource_type: str, arn: str, why: str = "") -> ApiError:
    return ApiError(
        "ValidationException",
        f"ResourceArn: {RESOURCE_LABEL[resource_type]} {arn} does not exist{why}",
    )


@operation("AddTags")
def add_tags(ctx: Context, request: Request) -> Response:
    """At most ``MAX_TAGS`` per resource, checked and written atomically by the store;
    a key given twice in one request is refused (as AWS does)."""
    resource_type, name = _resource(ctx, request["ResourceArn"])
    new = [(t["Key"], t.get("Value", "")) for t in request["Tags"]]
    _refuse_duplicate_keys(new)
    try:
        ctx.tuning.store.tags.add(resource_type, name, new)
    except ResourceNotFound:  # deleted since _resource looked
        raise _no_such_resource(resource_type, request["ResourceArn"]) from None
    return {"Tags": tag_list(new)}


def _refuse_duplicate_keys(pairs: list[tuple[str, str]]) -> None:
    repeated = list(repeated_tag_keys(pairs))
    if repeated:
        raise ValidationError(repeated)


@operation("ListTags")
def list_tags(ctx: Context, request: Request) -> Response:
    """Pages of at most ``MAX_TAGS`` (ListTagsOutput.Tags), whatever ``MaxResults``."""
    resource_type, name = _resource(ctx, request["ResourceArn"])
    filters = {"ResourceArn": request["ResourceArn"]}
    cursor = read_token(request.get("NextToken"), filters, "ListTags", "offset")
    start = int(cursor[0]) if cursor else 0
    limit = min(int(request.get("MaxResults", MAX_TAGS)), MAX_TAGS)
    found = ctx.tuning.store.tags.list(resource_type, name)
    page = found[start : start + limit]
    response: Response = {"Tags": tag_list(page)}
    if start + limit < len(found):
        response["NextToken"] = next_token((start + limit, ""), filters, "ListTags")
    return response


@operation("DeleteTags")
def delete_tags(ctx: Context, request: Request) -> Response:
    resource_type, name = _resource(ctx, request["ResourceArn"])
    ctx.tuning.store.tags.delete(resource_type, name, list(request["TagKeys"]))
    return {}


# -- algorithms ----------------------------------------------------------------------------


def _describe(algorithm: Any, ctx: Context) -> Response:
    document = algorithm.document
    wire: Response = {
        "AlgorithmName": algorithm.name,
        "AlgorithmArn": algorithm_arn(algorithm.name, ctx.region, ctx.account),
        "CreationTime": algorithm.creation_time,
        "TrainingSpecification": copy.deepcopy(document["TrainingSpecification"]),
        "AlgorithmStatus": "Completed",
        "AlgorithmStatusDetails": {},
        "CertifyForMarketplace": bool(document.get("CertifyForMarketplace", False)),
    }
    for member in ("AlgorithmDescription", "InferenceSpecification", "ValidationSpecification"):
        if member in document:
            wire[member] = copy.deepcopy(document[member])
    return wire


@operation("CreateAlgorithm")
def create_algorithm(ctx: Context, request: Request) -> Response:
    algorithm = ctx.algorithms.create(request)
    return {"AlgorithmArn": algorithm_arn(algorithm.name, ctx.region, ctx.account)}


@operation("DescribeAlgorithm")
def describe_algorithm(ctx: Context, request: Request) -> Response:
    given = request["AlgorithmName"]
    if (reason := algorithm_elsewhere(ctx, given)) is not None:
        raise ResourceNotFound(f"Algorithm {given!r} does not exist on this server: {reason}")
    return _describe(ctx.algorithms.get(given.rsplit("/", 1)[-1]), ctx)


@operation("ListAlgorithms")
def list_algorithms(ctx: Context, request: Request) -> Response:
    filters = {k: v for k, v in request.items() if k not in ("NextToken", "MaxResults")}
    after = timestamp(request.get("CreationTimeAfter"), "CreationTimeAfter")
    before = timestamp(request.get("CreationTimeBefore"), "CreationTimeBefore")
    contains = (request.get("NameContains") or "").lower()
    found = [
        a
        for a in ctx.algorithms.list()
        if contains in a.name.lower()
        and (after is None or a.creation_time > after)
        and (before is None or a.creation_time < before)
    ]
    by_name = request.get("SortBy", "CreationTime") == "Name"
    found.sort(
        key=lambda a: (a.name if by_name else a.creation_time, a.name),
        reverse=request.get("SortOrder", "Ascending") == "Descending",
    )
    cursor = read_token(request.get("NextToken"), filters, "ListAlgorithms", "offset")
    start = int(cursor[0]) if cursor else 0
    limit = int(request.get("MaxResults", 10))
    page = found[start : start + limit]
    response: Response = {
        "AlgorithmSummaryList": [
            {
                "AlgorithmName": a.name,
                "AlgorithmArn": algorithm_arn(a.name, ctx.region, ctx.account),
                "CreationTime": a.creation_time,
                "AlgorithmStatus": "Completed",
                **(
                    {"AlgorithmDescription": a.document["AlgorithmDescription"]}
                    if "AlgorithmDescription" in a.document
                    else {}
                ),
            }
            for a in page
        ]
    }
    if start + limit < len(found):
        response["NextToken"] = next_token((start + limit, ""), filters, "ListAlgorithms")
    return response
