"""``kill -9`` of ``tunelab serve`` while two tuning jobs run, then a new ``tunelab
serve`` on the same TUNELAB_HOME: every tuning job completes, finished training jobs are
kept as they were, the training processes the dead server left behind are ended and
their jobs run again (attempt 2), the budget is spent exactly once, and page tokens
handed out by the dead server still work."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.api import jobs
from tests.api.conftest import make_authenticator, response_problems, wait_for, wait_tuning_job
from tests.api.serve import Serve
from tunelab.domain.trial import TrainingJob
from tunelab.store.base import TrainingJobQuery, iterate_training_jobs
from tunelab.store.sql.store import SqlStore

pytestmark = pytest.mark.slow
MAX_JOBS = 6
SLOW = {"epochs": "4", "seconds_per_epoch": "0.3"}


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def documents(runs_log: Path) -> list[dict[str, Any]]:
    """A single-definition and a two-definition job, each of 6 training jobs of about
    1.2 s, 2 at a time; every program start is logged to ``runs_log``."""
    environment = {"RUNS_LOG": str(runs_log)}
    single = jobs.tuning_job(
        "crash-single", max_jobs=MAX_JOBS, parallel=2, static=SLOW, environment=environment
    )
    multi = jobs.two_definition_job("crash-multi", max_jobs=MAX_JOBS, parallel=2)
    for definition in multi["TrainingJobDefinitions"]:
        definition["StaticHyperParameters"]["seconds_per_epoch"] = SLOW["seconds_per_epoch"]
        definition["Environment"] = environment
    return [single, multi]


def snapshot(store: SqlStore, name: str) -> dict[str, TrainingJob]:
    query = TrainingJobQuery(name, sort_by="CreationTime")
    return {j.name: j for j in iterate_training_jobs(store, query)}


def test_kill_9_then_restart(tmp_path: Path) -> None:
    home = tmp_path / "home"
    runs_log = tmp_path / "runs.log"
    runs_log.touch()
    with SqlStore(f"sqlite:///{home / 'tunelab.db'}") as store:
        make_authenticator(store, home)  # the keys, as `tunelab access-keys create` makes them
    first = Serve(home)
    client = first.client()
    names = []
    for document in documents(runs_log):
        client.create_hyper_parameter_tuning_job(**document)
        names.append(document["HyperParameterTuningJobName"])
    store = SqlStore(f"sqlite:///{home / 'tunelab.db'}")
    second: Serve | None = None
    try:

        def crash_point() -> bool:
            for name in names:
                found = snapshot(store, name).values()
                done = [j for j in found if j.status.is_terminal]
                running = [j for j in found if not j.status.is_terminal and j.pid is not None]
                if not done or len(running) != 2:
                    return False
            return True

        # page tokens handed out before the crash
        wait_for(lambda: len(snapshot(store, "crash-single")) >= 2, what="2 training jobs")
        tuning_page = client.list_hyper_parameter_tuning_jobs(MaxResults=1, NameContains="crash")
        training_page = client.list_training_jobs_for_hyper_parameter_tuning_job(
            HyperParameterTuningJobName="crash-single", SortBy="CreationTime", MaxResults=1
        )
        wait_for(crash_point, timeout=60, what="finished and running training jobs in each job")
        first.kill()
        before = {name: snapshot(store, name) for name in names}
        orphans = [
            j.pid
            for jobs_ in before.values()
            for j in jobs_.values()
            if not j.status.is_terminal and j.pid is not None and alive(j.pid)
        ]
        assert orphans  # the dead server's training processes still run
        ended_before = {
            n: j.end_time for jobs_ in before.values() for n, j in jobs_.items() if j.end_time
        }
        assert ended_before

        second = Serve(home)
        client = second.client()
        described = {name: wait_tuning_job(client, name, timeout=90) for name in names}
        after = {name: snapshot(store, name) for name in names}
        check_recovery(client, runs_log, names, described, before, after, orphans)
        check_old_tokens(client, names, after, tuning_page, training_page)
        for name, end in ended_before.items():  # as the new server reports them
            reported = client.describe_training_job(TrainingJobName=name)["TrainingEndTime"]
            assert reported.timestamp() == pytest.approx(end, abs=1e-3)
    finally:
        store.close()
        if first.process.poll() is None:
            first.kill()
        if second is not None:
            assert second.stop() == 0
    assert second is not None
    assert "Traceback" not in first.output() + second.output(), second.output()
    problems = response_problems(first.exchanges + second.exchanges)
    assert problems == [], json.dumps(problems, indent=1)


def check_recovery(
    client: Any,
    runs_log: Path,
    names: list[str],
    described: dict[str, Any],
    before: dict[str, dict[str, TrainingJob]],
    after: dict[str, dict[str, TrainingJob]],
    orphans: list[int],
) -> None:
    finished = {n: j for jobs_ in before.values() for n, j in jobs_.items() if j.end_time}
    interrupted = {
        n: j for jobs_ in before.values() for n, j in jobs_.items() if not j.status.is_terminal
    }
    for name in names:
        assert described[name]["HyperParameterTuningJobStatus"] == "Completed", name
        assert described[name]["TrainingJobStatusCounters"]["Completed"] == MAX_JOBS
        assert described[name]["ObjectiveStatusCounters"]["Succeeded"] == MAX_JOBS
        # the budget was spent once: 6 training jobs, no more
        assert sorted(j.sequence for j in after[name].values()) == list(range(1, MAX_JOBS + 1))
    merged = {n: j for jobs_ in after.values() for n, j in jobs_.items()}
    runs = [line.split()[0] for line in runs_log.read_text().splitlines()]
    # finished jobs are kept as they were and never ran again
    for name, job in finished.items():
        assert merged[name] == job
        assert runs.count(name) == 1
    # the orphans were ended; their jobs ran again under their names
    assert not any(alive(pid) for pid in orphans)
    for name, job in interrupted.items():
        again = merged[name]
        if job.pid is None:  # created, never started: it simply started after the restart
            assert again.attempt == 1 and runs.count(name) == 1
            continue
        assert again.attempt == 2
        assert runs.count(name) == 2
        statuses = [
            t["Status"]
            for t in client.describe_training_job(TrainingJobName=name)[
                "SecondaryStatusTransitions"
            ]
        ]
        assert statuses.index("Interrupted") < statuses.index("Restarting")
        assert statuses[-1] == "Completed"
    restarted = sum(1 for j in interrupted.values() if j.pid is not None)
    assert len(runs) == len(names) * MAX_JOBS + restarted


def check_old_tokens(
    client: Any,
    names: list[str],
    after: dict[str, dict[str, TrainingJob]],
    tuning_page: dict[str, Any],
    training_page: dict[str, Any],
) -> None:
    """Tokens of the dead server work on the new one."""
    rest = client.list_hyper_parameter_tuning_jobs(
        MaxResults=1, NameContains="crash", NextToken=tuning_page["NextToken"]
    )
    listed = [
        s["HyperParameterTuningJobName"]
        for s in tuning_page["HyperParameterTuningJobSummaries"]
        + rest["HyperParameterTuningJobSummaries"]
    ]
    assert listed == sorted(names)
    following = client.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="crash-single",
        SortBy="CreationTime",
        MaxResults=100,
        NextToken=training_page["NextToken"],
    )
    in_order = sorted(after["crash-single"].values(), key=lambda j: (j.creation_time, j.name))
    assert [s["TrainingJobName"] for s in following["TrainingJobSummaries"]] == [
        j.name for j in in_order[1:]
    ]
