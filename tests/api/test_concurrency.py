"""20 tuning jobs running at once in one server while client threads create, poll,
list and stop them: no "database is locked", no 5xx, no error in the server's log, and
every job ends with counters that agree with its training jobs."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.api import jobs
from tests.api.conftest import Server, response_problems, start_server, wait_for

JOBS = 20
PER_JOB = 3
STOPPED = {3, 11, 17}  # indexes of the jobs a client stops while they run


class Captured(logging.Handler):
    """Every warning and error logged in the process (the server's threads included)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def texts(self) -> list[str]:
        formatter = logging.Formatter()
        return [formatter.format(r) for r in self.records]


@pytest.fixture
def captured() -> Iterator[Captured]:
    handler = Captured()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


def document(index: int) -> dict[str, Any]:
    seconds = "3" if index in STOPPED else "0.3"
    return jobs.tuning_job(
        f"busy-{index:02d}",
        max_jobs=PER_JOB,
        parallel=2,
        program=jobs.SLEEPER,
        static={"seconds": seconds},
        ranges={"ContinuousParameterRanges": [{"Name": "x", "MinValue": "0.1", "MaxValue": "1"}]},
    )


def test_twenty_tuning_jobs_at_once(tmp_path: Path, captured: Captured) -> None:
    names = [f"busy-{i:02d}" for i in range(JOBS)]
    with start_server(tmp_path / "home") as server:
        done = threading.Event()
        polls: list[int] = []
        failures: list[BaseException] = []

        def guarded(work: Callable[[], None]) -> Callable[[], None]:
            def run() -> None:
                try:
                    work()
                except BaseException as error:  # reported by the main thread
                    failures.append(error)

            return run

        def poller(seed: int) -> None:
            client = server.client()
            chance = random.Random(seed)
            count = 0
            while not done.is_set():
                name = chance.choice(names)
                try:
                    client.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
                    client.list_training_jobs_for_hyper_parameter_tuning_job(
                        HyperParameterTuningJobName=name, SortBy="FinalObjectiveMetricValue"
                    )
                except client.exceptions.ResourceNotFound:
                    pass  # not created yet
                client.list_hyper_parameter_tuning_jobs(MaxResults=100, NameContains="busy")
                client.list_training_jobs(MaxResults=100, StatusEquals="InProgress")
                count += 4
            polls.append(count)

        pollers = [threading.Thread(target=guarded(lambda s=s: poller(s))) for s in range(4)]
        for thread in pollers:
            thread.start()
        started = time.monotonic()
        with ThreadPoolExecutor(4) as pool:  # created by 4 clients at once
            clients = [server.client() for _ in range(4)]
            list(
                pool.map(
                    lambda i: clients[i % 4].create_hyper_parameter_tuning_job(**document(i)),
                    range(JOBS),
                )
            )
        client = server.client()
        wait_for(
            lambda: all(running_count(client, names[i]) > 0 for i in STOPPED),
            timeout=30,
            what="the jobs to stop to run",
        )
        with ThreadPoolExecutor(3) as pool:  # stopped while their loops write
            list(
                pool.map(
                    lambda i: clients[i % 4].stop_hyper_parameter_tuning_job(
                        HyperParameterTuningJobName=names[i]
                    ),
                    sorted(STOPPED),
                )
            )

        def all_ended() -> bool:
            found = client.list_hyper_parameter_tuning_jobs(MaxResults=100, NameContains="busy")
            statuses = [
                s["HyperParameterTuningJobStatus"]
                for s in found["HyperParameterTuningJobSummaries"]
            ]
            return len(statuses) == JOBS and all(s in ("Completed", "Stopped") for s in statuses)

        wait_for(all_ended, timeout=120, what="every tuning job to end", every=0.2)
        elapsed = time.monotonic() - started
        done.set()
        for thread in pollers:
            thread.join(30)
        assert failures == []
        check_every_job(server, names)
        problems = response_problems(server.exchanges)
    assert problems == []
    texts = captured.texts()
    assert not [t for t in texts if "database is locked" in t]
    assert texts == []
    assert sum(polls) > 100, (polls, elapsed)


def running_count(client: Any, name: str) -> int:
    try:
        described = client.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    except client.exceptions.ResourceNotFound:
        return 0
    return described["TrainingJobStatusCounters"]["InProgress"]


def check_every_job(server: Server, names: list[str]) -> None:
    client = server.client()
    for index, name in enumerate(names):
        described = client.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
        summaries = client.list_training_jobs_for_hyper_parameter_tuning_job(
            HyperParameterTuningJobName=name, MaxResults=100
        )["TrainingJobSummaries"]
        counters = described["TrainingJobStatusCounters"]
        objectives = described["ObjectiveStatusCounters"]
        by_status: dict[str, int] = {}
        for summary in summaries:
            by_status[summary["TrainingJobStatus"]] = (
                by_status.get(summary["TrainingJobStatus"], 0) + 1
            )
        assert counters["InProgress"] == 0 and objectives["Pending"] == 0, name
        assert counters["Completed"] == by_status.get("Completed", 0), name
        assert counters["Stopped"] == by_status.get("Stopped", 0), name
        assert sum(counters.values()) == len(summaries), name
        assert objectives["Succeeded"] + objectives["Failed"] == len(summaries), name
        sequences = sorted(int(s["TrainingJobName"].split("-")[2]) for s in summaries)
        assert sequences == list(range(1, len(sequences) + 1)), name
        if index in STOPPED:
            assert described["HyperParameterTuningJobStatus"] == "Stopped", name
            assert counters["Stopped"] >= 1 and len(summaries) <= PER_JOB, name
        else:
            assert described["HyperParameterTuningJobStatus"] == "Completed", name
            assert counters["Completed"] == PER_JOB == len(summaries), name
            assert objectives["Succeeded"] == PER_JOB, name
            values = {
                s["TrainingJobName"]: s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
                for s in summaries
            }
            assert described["BestTrainingJob"]["TrainingJobName"] in values
            best = described["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]
            assert best["Value"] == min(values.values()), name
