"""CheckpointConfig: restore at start, periodic sync of changed files with deletions
propagated, a last sync at the end, and a job resuming after an interruption."""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.execution.conftest import shut_down
from tunelab.domain.definition import CheckpointSpec
from tunelab.domain.enums import TrainingJobStatus
from tunelab.execution.base import Finished, OutputLines, StatusChanged
from tunelab.execution.checkpoints import CheckpointSync, checkpoint_uri
from tunelab.execution.local import LocalExecutor
from tunelab.execution.storage import DataPlane

from .test_contract import PROGRAMS, collect, lines_of, make_definition, make_request

PROGRAM = (PROGRAMS / "checkpointer.py").as_uri()


def test_restore_mirrors_and_sync_sends_changes_and_deletions(tmp_path: Path) -> None:
    remote = tmp_path / "s3" / "bkt" / "ck"
    remote.mkdir(parents=True)
    (remote / "model.pt").write_text("v1")
    (remote / "deep").mkdir()
    (remote / "deep" / "opt.pt").write_text("o1")
    local = tmp_path / "local"
    local.mkdir()
    (local / "leftover.txt").write_text("from an older attempt")
    plane = DataPlane(s3_root=str(tmp_path / "s3"))
    sync = CheckpointSync(str(local), "s3://bkt/ck/", plane, interval=60)
    assert sync.restore() == 2
    assert sorted(str(p.relative_to(local)) for p in local.rglob("*") if p.is_file()) == [
        "deep/opt.pt",
        "model.pt",
    ]
    (local / "model.pt").write_text("v2 is longer")
    (local / "deep" / "opt.pt").unlink()
    (local / "new.pt").write_text("n")
    before = (remote / "model.pt").stat().st_mtime_ns
    sync.sync()
    assert (remote / "model.pt").read_text() == "v2 is longer"
    assert (remote / "new.pt").read_text() == "n"
    assert not (remote / "deep" / "opt.pt").exists()
    (remote / "new.pt").write_text("changed remotely")
    sync.sync()  # nothing changed locally: nothing is sent
    assert (remote / "new.pt").read_text() == "changed remotely"
    assert (remote / "model.pt").stat().st_mtime_ns >= before
    assert sync.close() is None


def test_tuning_jobs_keep_each_training_jobs_checkpoints_apart(tmp_path: Path) -> None:
    definition = make_definition(PROGRAM, checkpoint=CheckpointSpec("s3://bkt/ck"))
    alone = make_request(tmp_path / "job-1", definition)
    assert checkpoint_uri(alone) == "s3://bkt/ck/"
    tuned = dataclasses.replace(alone, tuning_job_name="tuning")
    assert checkpoint_uri(tuned) == "s3://bkt/ck/job-1/"


@pytest.fixture
def executor(tmp_path: Path) -> Iterator[LocalExecutor]:
    plane = DataPlane(s3_root=str(tmp_path / "s3"), checkpoint_interval=0.2)
    ex = LocalExecutor(stop_grace_seconds=2, data=plane)
    yield ex
    shut_down(ex)


def test_a_job_resumes_from_its_checkpoints_after_an_interruption(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    remote = tmp_path / "s3" / "bkt" / "ck"
    remote.mkdir(parents=True)
    (remote / "stale.txt").write_text("restored, then deleted by the program")
    definition = make_definition(
        PROGRAM,
        checkpoint=CheckpointSpec("s3://bkt/ck", "/opt/ml/checkpoints"),
        output_path=str(tmp_path / "out"),
    )
    hps = {"steps": "40", "interval": "0.1"}
    executor.submit(make_request(tmp_path / "host-a" / "job", definition, hps))
    deadline = time.monotonic() + 15
    while not (remote / "step.txt").exists() or int((remote / "step.txt").read_text()) < 5:
        assert time.monotonic() < deadline, "checkpoints were not synced while the job ran"
        executor.wait(0.1)
        executor.poll()
    assert not (remote / "stale.txt").exists()  # the deletion was propagated
    executor.stop("job")  # the interruption: SIGTERM, as a spot reclaim
    events = collect(executor, timeout=15)
    done = events[-1]
    assert isinstance(done, Finished) and done.status is TrainingJobStatus.STOPPED
    reached = int((tmp_path / "host-a" / "job" / "checkpoints" / "step.txt").read_text())
    assert int((remote / "step.txt").read_text()) == reached  # the last sync at the end

    fresh = dict(hps, interval="0")  # a new instance: an empty job directory
    executor.submit(make_request(tmp_path / "host-b" / "job", definition, fresh))
    events = collect(executor, timeout=15)
    assert isinstance(events[-1], Finished)
    assert events[-1].status is TrainingJobStatus.COMPLETED, events[-1].failure_reason
    lines = lines_of(events)
    assert lines[0] == f"resumed_from={reached}" and reached > 0
    assert lines[-1] == "step=40;"
    assert (remote / "step.txt").read_text() == "40"
    assert os.listdir(remote) == ["step.txt"]


def test_jobs_naming_one_local_path_outside_opt_ml_run_one_at_a_time(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    shared = tmp_path / "shared-ck"  # one directory of this machine for every job naming it
    definition = make_definition(
        PROGRAM,
        checkpoint=CheckpointSpec("s3://bkt/ck", str(shared)),
        output_path=str(tmp_path / "out"),
    )
    hps = {"steps": "5", "interval": "0.1", "checkpoint_dir": str(shared)}
    for name in ("job-1", "job-2"):
        request = make_request(tmp_path / name, definition, hps)
        executor.submit(dataclasses.replace(request, tuning_job_name="tuning"))
    events = []
    deadline = time.monotonic() + 30
    while sum(isinstance(e, Finished) for e in events) < 2:
        assert time.monotonic() < deadline, events
        executor.wait(0.2)
        events.extend(executor.poll())
    waits = [e for e in events if isinstance(e, StatusChanged) and e.name == "job-2"]
    assert waits[0].message.startswith(
        f"Waiting for the checkpoint directory {shared}: training job job-1 is using"
    )
    done = {e.name: e for e in events if isinstance(e, Finished)}
    assert list(done) == ["job-1", "job-2"]
    assert all(e.status is TrainingJobStatus.COMPLETED for e in done.values())
    fresh = [e.name for e in events if isinstance(e, OutputLines) and "resumed_from=0" in e.lines]
    assert fresh == ["job-1", "job-2"]  # job-2 did not start from job-1's checkpoint
    remote = tmp_path / "s3" / "bkt" / "ck"
    assert (remote / "job-1" / "step.txt").read_text() == "5"
    assert (remote / "job-2" / "step.txt").read_text() == "5"
