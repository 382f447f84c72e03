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
from tunelab.domain.errors import Violation
from tunelab.execution.base import Finished, OutputLines, StatusChanged
from tunelab.execution.checkpoints import CheckpointSync, checkpoint_uri
from tunelab.execution.errors import LaunchStopped
from tunelab.execution.local import LocalExecutor
from tunelab.execution.preflight import launch_problems
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


def test_a_checkpoint_folder_replaced_by_a_file_of_its_name_syncs(tmp_path: Path) -> None:
    """The sync once uploaded before deleting: a folder that became a file of its name (or
    the reverse) clashed with its old self in the local object store, and so did the
    folder its deleted files left behind."""
    local, remote = tmp_path / "local", tmp_path / "s3" / "bkt" / "ck"
    sync = CheckpointSync(str(local), "s3://bkt/ck/", DataPlane(s3_root=str(tmp_path / "s3")), 60)
    sync.restore()
    (local / "step").mkdir()
    (local / "step" / "w.pt").write_text("weights")
    sync.sync()
    (local / "step" / "w.pt").unlink()
    (local / "step").rmdir()
    (local / "step").write_text("now a file")
    sync.sync()
    assert (remote / "step").read_text() == "now a file"
    (local / "step").unlink()
    (local / "step").mkdir()
    (local / "step" / "deep").mkdir()
    (local / "step" / "deep" / "w.pt").write_text("a folder again")
    sync.sync()
    assert (remote / "step" / "deep" / "w.pt").read_text() == "a folder again"
    (local / "step" / "deep" / "w.pt").unlink()
    sync.sync()
    assert os.listdir(remote) == []  # no emptied folder is left to stand for a prefix
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
    shared = tmp_path / "Shared-CK"  # one directory of this machine for every job naming it
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
    assert os.listdir(remote / "job-1") == ["step.txt"]  # tunelab's marker is not a checkpoint


def test_a_local_path_outside_opt_ml_holding_someone_elses_files_is_refused(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    """Restoring empties the LocalPath of what S3Uri does not hold: pointed at a folder of
    the user's, a job once deleted its files without a word."""
    mine = tmp_path / "project"
    (mine / "src").mkdir(parents=True)
    (mine / "notes.txt").write_text("my notes")
    (mine / "src" / "train.py").write_text("print()")
    definition = make_definition(
        PROGRAM,
        checkpoint=CheckpointSpec("s3://bkt/ck", str(mine)),
        output_path=str(tmp_path / "out"),
    )
    reason = (
        f"{mine} holds {mine / 'notes.txt'}, which tunelab did not put there: a training job "
        "starts with only its own checkpoints in that directory, so tunelab would delete it; "
        "name a new or empty directory, or one under /opt/ml/ such as /opt/ml/checkpoints"
    )
    assert launch_problems(definition, "TrainingJobDefinition", executor._data) == [
        Violation("TrainingJobDefinition.CheckpointConfig.LocalPath", reason)
    ]
    hps = {"steps": "2", "checkpoint_dir": str(mine)}
    executor.submit(make_request(tmp_path / "job", definition, hps))  # created before the files
    done = collect(executor)[-1]
    assert isinstance(done, Finished) and done.status is TrainingJobStatus.FAILED
    assert done.failure_reason == f"CheckpointConfig.LocalPath {reason}"
    assert (mine / "notes.txt").read_text() == "my notes"
    assert (mine / "src" / "train.py").read_text() == "print()"
    assert not (tmp_path / "s3" / "bkt" / "ck").exists()  # nothing was synced either
    (mine / "notes.txt").unlink()
    (mine / "src" / "train.py").unlink()  # an empty directory (folders left) is taken
    assert launch_problems(definition, "", executor._data) == []
    executor.submit(make_request(tmp_path / "job-2", definition, hps))
    done = collect(executor)[-1]
    assert isinstance(done, Finished) and done.status is TrainingJobStatus.COMPLETED
    assert (tmp_path / "s3" / "bkt" / "ck" / "step.txt").read_text() == "2"
    (mine / "step.txt").write_text("from job-2")  # tunelab's from now on: no longer refused
    assert launch_problems(definition, "", executor._data) == []


def test_a_local_path_that_is_a_file_is_refused_at_create_time(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    """A LocalPath outside /opt/ml naming an existing file (or a path under one) passed
    validation, and every training job then failed with 'File exists'."""
    file = tmp_path / "ckpt"
    file.write_text("a file, not a folder")
    for local, reason in (
        (file, f"{file} is a file, not a folder"),
        (file / "deeper", f"{file / 'deeper'} is under {file}, which is a file, not a folder"),
    ):
        definition = make_definition(
            PROGRAM,
            checkpoint=CheckpointSpec("s3://bkt/ck", str(local)),
            output_path=str(tmp_path / "out"),
        )
        assert launch_problems(definition, "TrainingJobDefinition", executor._data) == [
            Violation(
                "TrainingJobDefinition.CheckpointConfig.LocalPath",
                f"{reason}: name a folder for the checkpoints",
            )
        ]
    assert file.read_text() == "a file, not a folder"


def test_a_restore_stops_between_two_files_once_told(tmp_path: Path) -> None:
    remote = tmp_path / "s3" / "bkt" / "ck"
    remote.mkdir(parents=True)
    for i in range(5):
        (remote / f"epoch-{i}.pt").write_text(str(i))
    local = tmp_path / "local"
    sync = CheckpointSync(str(local), "s3://bkt/ck/", DataPlane(s3_root=str(tmp_path / "s3")), 60)
    asked = []

    def stopped() -> bool:
        asked.append(1)
        return len(asked) > 2  # told to stop after two files

    with pytest.raises(LaunchStopped):
        sync.restore(stopped)
    assert len(list(local.iterdir())) == 2
    assert sync.restore() == 5  # a later attempt restores everything
