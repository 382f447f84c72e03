"""DescribeLogStreams and FilterLogEvents page through the training jobs' log group without
reading every training job: the pages, token after token, hold every stream (event) once,
in order, across jobs whose names sort otherwise than their streams' (``a-b/`` before
``a/``), with a prefix, by LastEventTime, descending; a page looks at about as many jobs
as it returns, and a page cut short by its work budget goes on where it stopped."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.api import jobs
from tunelab.api import logs_search
from tunelab.api.handlers import Context
from tunelab.api.logs_wire import handle
from tunelab.api.wire import ApiError
from tunelab.domain.enums import SecondaryStatus as S
from tunelab.domain.trial import TrainingJob
from tunelab.execution.clock import SystemClock
from tunelab.execution.contract import training_job_dir
from tunelab.execution.hosts import host_log_path, host_names
from tunelab.service.algorithms import AlgorithmService
from tunelab.service.log_streams import TrainingLogs
from tunelab.service.log_walk import StreamOrder, page_of_streams
from tunelab.service.settings import Settings
from tunelab.service.training import TrainingService
from tunelab.service.tuning import TuningService
from tunelab.store.sql.store import SqlStore

GROUP = "/aws/sagemaker/TrainingJobs"
BASE = 1_700_000_000.0


@dataclass(frozen=True)
class Spec:
    """A standalone training job: created at ``BASE + created``, each attempt launched
    at ``BASE + launch``, each host's log holding ``lines`` lines."""

    name: str
    created: float
    launches: tuple[float, ...]
    hosts: int = 1
    lines: int = 2


SPECS = [
    Spec("a", 50, (60, 400)),  # a second attempt, launched after every other job's
    Spec("a-b", 10, (20,), hosts=2),  # its streams sort before a's, its name after
    Spec("a-b-c", 30, (35,)),
    Spec("a0", 5, (8,)),
    Spec("B-up", 40, (45,), lines=3),
    Spec("ab", 20, (25,), hosts=3),
    Spec("zz", 20, ()),  # never launched: no stream (and created with ab)
    Spec("q", 60, (70,), lines=0),  # an empty stream
]


def stream_names(spec: Spec) -> list[tuple[float, str]]:
    """(launch, stream name) of each of the job's streams."""
    return [
        (BASE + at, f"{spec.name}/{host}-{int(BASE + at)}")
        for at in spec.launches
        for host in host_names(spec.hosts)
    ]


def add_job(store: SqlStore, jobs_root: Path, spec: Spec) -> None:
    """Store the job and write its logs as the training runner does."""
    document = jobs.training_job(spec.name)
    document["ResourceConfig"]["InstanceCount"] = spec.hosts
    created = BASE + spec.created
    job = TrainingJob(spec.name, None, 0, None, {}, created, last_modified_time=created)
    job = job.transition(S.STARTING, created, "Launching the training job")
    store.create_training_job(job, document)
    folder = training_job_dir(str(jobs_root), None, spec.name)
    hosts = host_names(spec.hosts)
    for attempt, at in enumerate(spec.launches, start=1):
        if attempt > 1:
            job = job.transition(S.RESTARTING, BASE + at - 1, f"Restarting as attempt {attempt}")
            job = job.evolve(attempt=attempt)
        job = job.transition(S.TRAINING, BASE + at, "Training in progress.")
        for host in hosts:
            path = Path(host_log_path(folder, attempt, host, hosts))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(
                "".join(f"{spec.name} {attempt} {host} line {k}\n" for k in range(spec.lines))
            )
    with store.batch() as batch:
        batch.put_training_job(job)


@pytest.fixture
def group(tmp_path: Path) -> Iterator[tuple[Context, SqlStore, Path]]:
    settings = Settings(home=tmp_path, database_url=f"sqlite:///{tmp_path / 'tunelab.db'}")
    store = SqlStore(settings.database_url)
    clock = SystemClock()
    ctx = Context(
        tuning=TuningService(settings, store, clock),
        training=TrainingService(store, clock, settings.s3_root, settings),
        algorithms=AlgorithmService(store, clock),
        scheduler=None,
        principal=None,
        region="us-east-1",
        account="123456789012",
    )
    try:
        yield ctx, store, settings.jobs_root
    finally:
        store.close()


@pytest.fixture
def specs(group: tuple[Context, SqlStore, Path]) -> Context:
    ctx, store, root = group
    for spec in SPECS:
        add_job(store, root, spec)
    return ctx


def all_pages(ctx: Context, operation: str, request: dict[str, Any]) -> list[dict[str, Any]]:
    """Every page of ``operation``, following ``nextToken`` (at most 500 pages)."""
    pages = [handle(ctx, f"logs:{operation}", {"logGroupName": GROUP, **request})]
    while "nextToken" in pages[-1]:
        assert len(pages) < 500, "the pages never end"
        ask = {"logGroupName": GROUP, **request, "nextToken": pages[-1]["nextToken"]}
        pages.append(handle(ctx, f"logs:{operation}", ask))
    return pages


def expected_streams(by_time: bool, descending: bool, prefix: str | None) -> list[str]:
    keyed = [
        ((BASE + spec.created, spec.name, at, name) if by_time else (name,), name)
        for spec in SPECS
        for at, name in stream_names(spec)
        if name.startswith(prefix or "")
    ]
    return [name for _, name in sorted(keyed, reverse=descending)]


@pytest.mark.parametrize("limit", [1, 2, 3, 50])
@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize(
    ("order", "prefix"),
    [
        ("LogStreamName", None),
        ("LogStreamName", "a"),
        ("LogStreamName", "a-b"),
        ("LogStreamName", "a-b/"),
        ("LogStreamName", "a/algo-1-17000004"),
        ("LogStreamName", "B"),
        ("LastEventTime", None),
    ],
)
def test_describe_log_streams_pages_hold_every_stream_once_in_order(
    specs: Context, order: str, prefix: str | None, descending: bool, limit: int
) -> None:
    request = {"orderBy": order, "descending": descending, "limit": limit}
    if prefix is not None:
        request["logStreamNamePrefix"] = prefix
    pages = all_pages(specs, "DescribeLogStreams", request)
    names = [s["logStreamName"] for page in pages for s in page["logStreams"]]
    assert names == expected_streams(order == "LastEventTime", descending, prefix)
    assert all(len(page["logStreams"]) == limit for page in pages[:-1])


def test_name_order_is_the_stream_names_order() -> None:
    """What the test above holds the pages to: ``a-b/...`` before ``a/...``, before
    ``a0/...``; capitals first."""
    names = expected_streams(False, False, None)
    assert names.index("a-b/algo-2-1700000020") < names.index("a/algo-1-1700000060")
    assert names[0].startswith("B-up/") and names[-1].startswith("q/")


def test_a_token_is_bound_to_its_prefix_and_order(specs: Context) -> None:
    first = handle(specs, "logs:DescribeLogStreams", {"logGroupName": GROUP, "limit": 1})
    for other in ({"logStreamNamePrefix": "a"}, {"descending": True}):
        ask = {"logGroupName": GROUP, "limit": 1, "nextToken": first["nextToken"], **other}
        with pytest.raises(ApiError, match="nextToken: the token is valid only for") as error:
            handle(specs, "logs:DescribeLogStreams", ask)
        assert error.value.code == "InvalidParameterException"


def count_streams_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The training jobs whose streams are looked for, as ``TrainingLogs.streams`` is
    called (it still runs)."""
    seen: list[str] = []
    looked_up = TrainingLogs.streams

    def streams(self: TrainingLogs, job: TrainingJob) -> Any:
        seen.append(job.name)
        return looked_up(self, job)

    monkeypatch.setattr(TrainingLogs, "streams", streams)
    return seen


def test_a_page_looks_at_about_as_many_jobs_as_it_returns(
    group: tuple[Context, SqlStore, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx, store, root = group
    for k in range(150):
        add_job(store, root, Spec(f"bulk-{k:03d}", k, (k + 0.5,), lines=1))
    seen = count_streams_calls(monkeypatch)
    for order in ("LogStreamName", "LastEventTime"):
        ask = {"logGroupName": GROUP, "orderBy": order, "limit": 5}
        first = handle(ctx, "logs:DescribeLogStreams", ask)
        later = handle(ctx, "logs:DescribeLogStreams", {**ask, "nextToken": first["nextToken"]})
        assert len(first["logStreams"]) == len(later["logStreams"]) == 5
        assert len(seen) <= 2 * (5 + 2), seen
        seen.clear()
    found = handle(ctx, "logs:FilterLogEvents", {"logGroupName": GROUP, "limit": 3})
    again = handle(
        ctx,
        "logs:FilterLogEvents",
        {"logGroupName": GROUP, "limit": 3, "nextToken": found["nextToken"]},
    )
    assert [e["message"] for e in found["events"] + again["events"]] == [
        f"bulk-{k:03d} 1 algo-1 line 0" for k in range(6)
    ]
    assert len(seen) <= 2 * (3 + 2), seen


def test_a_page_that_spent_its_jobs_goes_on_where_it_stopped(specs: Context) -> None:
    """Jobs without streams fill no page: a page stops after ``max_jobs`` jobs, with
    fewer streams than asked (even none), and the next one goes on from there."""
    logs = TrainingLogs(specs.tuning, specs.training)
    for by_time in (False, True):
        order = StreamOrder(by_time, descending=False)
        pages, start = [], None
        while True:
            streams, start = page_of_streams(logs, order, None, start, limit=4, max_jobs=1)
            pages.append([s.name for s in streams])
            if start is None:
                break
        assert [name for page in pages for name in page] == expected_streams(by_time, False, None)
        assert [] in pages  # zz has no stream
        assert len(pages) == len(SPECS) + 1  # one job a page, then the end


def expected_events(prefix: str | None, matching: str = "") -> list[tuple[str, str]]:
    """(stream, message) of every event, in FilterLogEvents' order."""
    found = []
    for spec in sorted(SPECS, key=lambda s: (s.created, s.name)):
        streams = sorted(
            (at, name, attempt)
            for attempt, at in enumerate(spec.launches, start=1)
            for name in [f"{spec.name}/{host}-{int(BASE + at)}" for host in host_names(spec.hosts)]
        )
        for _, name, attempt in streams:
            host = name.split("/")[1].rsplit("-", 1)[0]
            found += [
                (name, f"{spec.name} {attempt} {host} line {k}")
                for k in range(spec.lines)
                if name.startswith(prefix or "") and matching in f"line {k}"
            ]
    return found


@pytest.mark.parametrize("limit", [1, 2, 7, None])
@pytest.mark.parametrize(
    ("prefix", "pattern"), [(None, ""), ("a", ""), ("a-b/", ""), (None, '"line 1"')]
)
@pytest.mark.parametrize("budget", ["ample", "small"])
def test_filter_log_events_pages_hold_every_event_once_in_order(
    specs: Context,
    monkeypatch: pytest.MonkeyPatch,
    prefix: str | None,
    pattern: str,
    limit: int | None,
    budget: str,
) -> None:
    if budget == "small":  # a page stops after one read, or after one job
        monkeypatch.setattr(logs_search, "SCAN_BYTES_PER_PAGE", 1)
        monkeypatch.setattr(logs_search, "SCAN_EVENTS", 1)
        monkeypatch.setattr(logs_search, "JOBS_PER_PAGE", 1)
    request: dict[str, Any] = {"filterPattern": pattern}
    if prefix is not None:
        request["logStreamNamePrefix"] = prefix
    if limit is not None:
        request["limit"] = limit
    pages = all_pages(specs, "FilterLogEvents", request)
    found = [(e["logStreamName"], e["message"]) for page in pages for e in page["events"]]
    assert found == expected_events(prefix, pattern.strip('"'))
    assert len({e["eventId"] for page in pages for e in page["events"]}) == len(found)


def test_filter_log_events_over_named_streams_pages_in_the_same_order(
    specs: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logs_search, "SCAN_BYTES_PER_PAGE", 1)
    monkeypatch.setattr(logs_search, "SCAN_EVENTS", 1)
    names = ["a/algo-1-1700000400", "a-b/algo-2-1700000020", "B-up/algo-1-1700000045"]
    pages = all_pages(specs, "FilterLogEvents", {"logStreamNames": names, "limit": 2})
    found = [(e["logStreamName"], e["message"]) for page in pages for e in page["events"]]
    assert found == [event for event in expected_events(None) if event[0] in names]
