"""``tunelab run`` beside a ``tunelab serve`` on the same store: the job it creates is
held by it from the start, and should another process drive it anyway, run follows
it there (a stop passed on) or takes it over once that process is gone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import tunelab
from tests.factories import make_document
from tests.serving import wait_for
from tunelab.domain.enums import TuningJobStatus
from tunelab.orchestrator.following import driven_elsewhere
from tunelab.orchestrator.lease import this_process
from tunelab.orchestrator.progress import Progress
from tunelab.service.settings import Settings
from tunelab.service.tuning import TuningService
from tunelab.store.sql.store import SqlStore

PROGRAM = Path(__file__).resolve().parents[1] / "e2e" / "programs" / "epochs.py"
TUNELAB = str(Path(sys.executable).with_name("tunelab"))


@pytest.fixture
def service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TuningService]:
    monkeypatch.setenv("RUNS_LOG", str(tmp_path / "runs.log"))
    store = SqlStore(f"sqlite:///{tmp_path / 'db.sqlite'}")
    settings = Settings(home=tmp_path, database_url=store.url, stop_grace_seconds=2)
    yield TuningService(settings, store)
    store.close()


def document(max_jobs: int, seconds_per_epoch: str) -> dict:
    static = {"epochs": "3", "seconds_per_epoch": seconds_per_epoch}
    result = make_document(
        image=f"file://{PROGRAM}",
        metric="loss",
        regex=r"loss=([0-9.]+);",
        max_jobs=max_jobs,
        parallel=1,
        StaticHyperParameters=static,
    )
    config = result["HyperParameterTuningJobConfig"]
    config["HyperParameterTuningJobObjective"] = {"Type": "Minimize", "MetricName": "loss"}
    config["ParameterRanges"] = {
        "ContinuousParameterRanges": [{"Name": "x", "MinValue": "0", "MaxValue": "1"}]
    }
    return result


def another_process(service: TuningService, *args: str) -> subprocess.Popen[str]:
    """``tunelab <args>`` on the same store (what a server's scheduler does to a job
    nobody holds, ``tunelab resume`` does too)."""
    source = str(Path(tunelab.__file__).parents[1])
    environment = dict(
        os.environ,
        TUNELAB_HOME=str(service.settings.home),
        TUNELAB_DATABASE_URL=service.store.url,
        TUNELAB_STOP_GRACE_SECONDS="2",
        PYTHONPATH=os.pathsep.join([source, os.environ.get("PYTHONPATH", "")]),
    )
    return subprocess.Popen(
        [TUNELAB, *args],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def taken_by_another_process(service: TuningService, name: str) -> subprocess.Popen[str]:
    """The job's lease freed (as when a server's scan came before the claim), then
    taken by another process that runs the job."""
    store = service.store
    assert store.swap_lease(name, store.get_lease(name), None)
    other = another_process(service, "resume", name, "--quiet")
    wait_for(lambda: driven_elsewhere(store, name, time.time()), what="the other process")
    return other


def test_a_new_job_is_held_by_the_process_that_created_it(service: TuningService) -> None:
    job, resumed = service.create_or_resume(document(max_jobs=1, seconds_per_epoch="0"))
    assert not resumed
    lease = service.store.get_lease(job.name)
    assert lease is not None and lease.owner == this_process()
    other = another_process(service, "resume", job.name)
    _, errors = other.communicate(timeout=60)
    assert other.returncode == 3
    assert "is being run by another process" in errors
    assert service.run(job.name).status is TuningJobStatus.COMPLETED


def test_run_follows_a_new_job_another_process_took(service: TuningService) -> None:
    job, _ = service.create_or_resume(document(max_jobs=2, seconds_per_epoch="0.3"))
    other = taken_by_another_process(service, job.name)
    reports: list[Progress] = []
    final = service.run(job.name, reports.append)
    assert final.status is TuningJobStatus.COMPLETED
    assert other.wait(timeout=60) == 0
    assert reports[-1].status is TuningJobStatus.COMPLETED
    assert (reports[-1].created, reports[-1].succeeded) == (2, 2)


def test_a_stop_while_following_stops_the_job_where_it_runs(service: TuningService) -> None:
    job, _ = service.create_or_resume(document(max_jobs=4, seconds_per_epoch="1"))
    other = taken_by_another_process(service, job.name)

    def stop_at_once(progress: Progress) -> None:
        service.request_stop()  # what the CLI's Ctrl-C handler calls

    final = service.run(job.name, stop_at_once)
    assert final.status is TuningJobStatus.STOPPED
    assert other.wait(timeout=60) == 1  # `tunelab resume` of a stopped job
    assert service.store.counters(job.name).total < 4


def test_run_takes_over_when_the_other_process_is_gone(service: TuningService) -> None:
    job, _ = service.create_or_resume(document(max_jobs=2, seconds_per_epoch="0.5"))
    other = taken_by_another_process(service, job.name)
    killed: list[int] = []

    def kill_it(progress: Progress) -> None:
        if not killed:
            other.send_signal(signal.SIGKILL)
            killed.append(other.wait(timeout=30))

    final = service.run(job.name, kill_it)
    assert killed == [-signal.SIGKILL]
    assert final.status is TuningJobStatus.COMPLETED
    assert service.store.counters(job.name).completed == 2


def test_resuming_a_job_another_process_runs_is_still_refused(service: TuningService) -> None:
    job, _ = service.create_or_resume(document(max_jobs=2, seconds_per_epoch="0.3"))
    other = taken_by_another_process(service, job.name)
    elsewhere = TuningService(service.settings, service.store)  # did not create it
    with pytest.raises(Exception, match="is being run by another process"):
        elsewhere.run(job.name)
    assert other.wait(timeout=60) == 0
