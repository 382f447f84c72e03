"""The CloudWatch Logs operations that read training jobs' logs: what the SageMaker SDK
(``Estimator.fit()``/``logs()``, ``Session.logs_for_job``) and ``aws logs`` call.

There is one log group, ``/aws/sagemaker/TrainingJobs`` (``tunelab.service.log_streams``:
streams, names and times; ``tunelab.service.log_files``: events). It exists once a training
job exists, as at AWS, where the first job's log creates it.
"""

from __future__ import annotations

from typing import Any

from tunelab.api.handlers import Context
from tunelab.api.log_tokens import seal, unseal
from tunelab.api.logs_wire import Request, Response, logs_operation
from tunelab.api.wire import ApiError
from tunelab.service.log_files import Event, read_backward, read_forward, readable_end
from tunelab.service.log_streams import LOG_GROUP, LogStream, TrainingLogs
from tunelab.service.log_walk import Position, StreamOrder, page_of_streams

DEFAULT_STREAMS_LIMIT = 50
DEFAULT_EVENTS_LIMIT = 10_000


def invalid(message: str) -> ApiError:
    return ApiError("InvalidParameterException", message)


def not_found(message: str) -> ApiError:
    return ApiError("ResourceNotFoundException", message)


def group_name(request: Request) -> str:
    """The log group a request names (``logGroupName``, or ``logGroupIdentifier``: a
    name or an ARN)."""
    name, identifier = request.get("logGroupName"), request.get("logGroupIdentifier")
    if name is not None and identifier is not None:
        raise invalid("logGroupName, logGroupIdentifier: give one of them, not both")
    if name is None and identifier is None:
        raise invalid("logGroupName: is required (or logGroupIdentifier)")
    if name is not None:
        return name
    if identifier.startswith("arn:"):  # arn:aws:logs:<region>:<account>:log-group:<name>[:*]
        parts = identifier.split(":")
        if len(parts) < 7 or parts[2] != "logs" or parts[5] != "log-group":
            raise invalid(f"logGroupIdentifier: {identifier!r} is not a log group ARN")
        return parts[6]
    return identifier


def names_the_group(identifier: str) -> bool:
    """Whether a ``logGroupIdentifier`` (a name or an ARN) names tunelab's log group."""
    return identifier == LOG_GROUP or identifier.removesuffix(":*").endswith(
        f":log-group:{LOG_GROUP}"
    )


def group(ctx: Context, request: Request) -> TrainingLogs:
    """The training jobs behind the request's log group; ``ResourceNotFoundException``
    for another group, or before the first training job."""
    name = group_name(request)
    jobs = TrainingLogs(ctx.tuning, ctx.training)
    if name != LOG_GROUP or jobs.first_created() is None:
        served = f"tunelab has the log group {LOG_GROUP} once a training job exists"
        raise not_found(f"The specified log group does not exist: {name!r} ({served})")
    return jobs


def stream_arn(ctx: Context, stream: str) -> str:
    return f"arn:aws:logs:{ctx.region}:{ctx.account}:log-group:{LOG_GROUP}:log-stream:{stream}"


def stream_shape(ctx: Context, stream: LogStream) -> Response:
    shape: Response = {
        "logStreamName": stream.name,
        "creationTime": stream.launched_ms,
        "arn": stream_arn(ctx, stream.name),
        "storedBytes": stream.size,
    }
    if stream.size:
        shape.update(
            firstEventTimestamp=stream.launched_ms,
            lastEventTimestamp=stream.launched_ms,
            lastIngestionTime=stream.modified_ms,
        )
    return shape


def check_window(request: Request) -> None:
    """``InvalidParameterException`` when ``startTime`` is after ``endTime``."""
    start, end = request.get("startTime"), request.get("endTime")
    if start is not None and end is not None and start > end:
        raise invalid(f"startTime: must not be after endTime; got {start} > {end}")


def in_window(stream: LogStream, request: Request) -> bool:
    """Whether the stream's events lie in [startTime, endTime)."""
    start, end = request.get("startTime"), request.get("endTime")
    at = stream.launched_ms
    return (start is None or at >= start) and (end is None or at < end)


@logs_operation("DescribeLogGroups")
def describe_log_groups(ctx: Context, request: Request) -> Response:
    prefix, pattern = request.get("logGroupNamePrefix"), request.get("logGroupNamePattern")
    identifiers = request.get("logGroupIdentifiers")
    selectors = ("logGroupNamePrefix", "logGroupNamePattern", "logGroupIdentifiers")
    given = [member for member in selectors if request.get(member) is not None]
    if len(given) > 1:
        raise invalid(f"{', '.join(given)}: give at most one of them")
    if request.get("nextToken") is not None:  # one group: this server never issues a token
        unseal(request["nextToken"], "DescribeLogGroups", "", "the same members")
    created = TrainingLogs(ctx.tuning, ctx.training).first_created()
    matches = (
        created is not None
        and (prefix is None or LOG_GROUP.startswith(prefix))
        and (pattern is None or pattern in LOG_GROUP)
        and (identifiers is None or any(names_the_group(i) for i in identifiers))
        and request.get("logGroupClass", "STANDARD") == "STANDARD"
    )
    if not matches:
        return {"logGroups": []}
    arn = f"arn:aws:logs:{ctx.region}:{ctx.account}:log-group:{LOG_GROUP}"
    return {
        "logGroups": [
            {
                "logGroupName": LOG_GROUP,
                "creationTime": int((created or 0) * 1000),
                "metricFilterCount": 0,
                "arn": f"{arn}:*",
                "logGroupArn": arn,
                "logGroupClass": "STANDARD",
            }
        ]
    }


Kinds = tuple[type | tuple[type, ...], ...]


def _is_key(value: Any, kinds: Kinds) -> bool:
    """Whether ``value`` is a JSON list of values of ``kinds``, one each."""
    return (
        isinstance(value, list)
        and len(value) == len(kinds)
        and all(
            isinstance(v, kind) and not isinstance(v, bool)
            for v, kind in zip(value, kinds, strict=True)
        )
    )


def walk_position(position: list[Any], order: StreamOrder) -> Position:
    """The ``Position`` a token's JSON holds (``[job key, stream key or null]``);
    ``InvalidParameterException`` naming ``nextToken`` when it is not one of ``order``."""
    job: Kinds = ((int, float), str) if order.by_time else (str,)
    stream: Kinds = (int, str) if order.by_time else (str,)
    if not (
        len(position) == 2
        and _is_key(position[0], job)
        and (position[1] is None or _is_key(position[1], stream))
    ):
        raise invalid("nextToken: the token does not hold a position in the log group")
    return Position(tuple(position[0]), None if position[1] is None else tuple(position[1]))


def position_json(position: Position) -> list[Any]:
    return [list(position.job), None if position.stream is None else list(position.stream)]


@logs_operation("DescribeLogStreams")
def describe_log_streams(ctx: Context, request: Request) -> Response:
    """A page of streams in name order, or by LastEventTime as ``tunelab.service.log_walk``
    orders by time; it reads about as many training jobs as it returns streams."""
    jobs = group(ctx, request)
    prefix = request.get("logStreamNamePrefix")
    by_time = request.get("orderBy", "LogStreamName") == "LastEventTime"
    descending = bool(request.get("descending", False))
    if by_time and prefix is not None:
        raise invalid("logStreamNamePrefix: cannot be given with orderBy LastEventTime")
    bound = f"{LOG_GROUP}|{prefix}|{by_time}|{descending}"
    order = StreamOrder(by_time, descending)
    start = None
    if request.get("nextToken") is not None:
        what = "the same group, prefix and order"
        start = walk_position(
            unseal(request["nextToken"], "DescribeLogStreams", bound, what), order
        )
    limit = request.get("limit", DEFAULT_STREAMS_LIMIT)
    streams, following = page_of_streams(jobs, order, prefix, start, limit)
    response: Response = {"logStreams": [stream_shape(ctx, s) for s in streams]}
    if following is not None:
        response["nextToken"] = seal("DescribeLogStreams", bound, position_json(following))
    return response


def _event(stream: LogStream, event: Event) -> Response:
    return {
        "timestamp": stream.launched_ms,
        "message": event.message,
        "ingestionTime": stream.launched_ms,
    }


def _position(token: str, stream: LogStream) -> tuple[str, int]:
    position = unseal(token, "GetLogEvents", stream.name, "log stream")
    if (
        len(position) != 2
        or position[0] not in ("f", "b")
        or not isinstance(position[1], int)
        or isinstance(position[1], bool)
        or position[1] < 0
    ):
        raise invalid("nextToken: the token does not hold a position in a log stream")
    return position[0], position[1]


@logs_operation("GetLogEvents")
def get_log_events(ctx: Context, request: Request) -> Response:
    """Forward from the head (``startFromHead``) or a forward token, else backward from
    the end or a backward token; the same token back when there is nothing new."""
    check_window(request)
    jobs = group(ctx, request)
    name = request["logStreamName"]
    stream = jobs.stream(name)
    if stream is None:
        raise not_found(f"The specified log stream does not exist: {name!r}")
    end = readable_end(stream.path, stream.ended)
    token = request.get("nextToken")
    if token is not None:
        direction, offset = _position(token, stream)
    else:
        direction = "f" if request.get("startFromHead") else "b"
        offset = 0 if direction == "f" else end
    limit = request.get("limit", DEFAULT_EVENTS_LIMIT)
    events: list[Event] = []
    first = after = offset
    if in_window(stream, request) and direction == "f":
        events, after = read_forward(stream.path, offset, end, limit)
        first = events[0].offset if events else offset
    elif in_window(stream, request):
        events, first = read_backward(stream.path, min(offset, end), limit)
    return {
        "events": [_event(stream, e) for e in events],
        "nextForwardToken": seal("GetLogEvents", stream.name, ["f", after]),
        "nextBackwardToken": seal("GetLogEvents", stream.name, ["b", first]),
    }
