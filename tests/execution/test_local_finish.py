"""Which finishes may take long: those go to a worker thread (job_work.py)."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

from tunelab.execution.hosts import HostProcess
from tunelab.execution.job_dir import Host, JobLayout
from tunelab.execution.limits import HostLimit
from tunelab.execution.local_finish import SLOW_OUTPUT_BYTES, SLOW_OUTPUT_FILES, may_finish_slowly
from tunelab.execution.local_jobs import RunningJob
from tunelab.execution.resources import demand_of
from tunelab.execution.storage import DataPlane

from .test_contract import PROGRAMS, make_definition, make_request


def ended_job(tmp_path: Path, **changes: object) -> RunningJob:
    """A job whose one host ran ``true`` in a job directory under ``tmp_path``."""
    changes.setdefault("output_path", (tmp_path / "out").as_uri())
    definition = make_definition((PROGRAMS / "behave.py").as_uri(), **changes)
    request = make_request(tmp_path / "job", definition)
    layout = JobLayout.for_request(request)
    for folder in (layout.model_dir, layout.output_data_dir):
        Path(folder).mkdir(parents=True)
    proc = subprocess.Popen(["true"])
    proc.wait()
    host = HostProcess(Host("algo-1", ("algo-1",), 1, 0), layout, proc, "", HostLimit(1 << 30))
    return RunningJob(request, demand_of(definition), [host], None, None, None)


def test_a_small_model_is_packed_at_once(tmp_path: Path) -> None:
    job = ended_job(tmp_path)
    (Path(job.hosts[0].layout.model_dir) / "model.txt").write_text("weights")
    assert not may_finish_slowly(job, DataPlane.default())


def test_much_to_pack_may_take_long(tmp_path: Path) -> None:
    job = ended_job(tmp_path)
    model = Path(job.hosts[0].layout.model_dir)
    (model / "sub").mkdir()
    (model / "sub" / "big.bin").write_bytes(b"\0" * (SLOW_OUTPUT_BYTES + 1))
    assert may_finish_slowly(job, DataPlane.default())
    many = ended_job(tmp_path / "many")
    data = Path(many.hosts[0].layout.output_data_dir)
    for i in range(SLOW_OUTPUT_FILES + 1):
        (data / f"{i}.txt").touch()
    assert may_finish_slowly(many, DataPlane.default())


def test_a_kms_key_or_a_remote_output_may_take_long(tmp_path: Path) -> None:
    job = ended_job(tmp_path)
    document = {"OutputDataConfig": {"KmsKeyId": "alias/models"}}
    encrypted = dataclasses.replace(job.request.definition, document=document)
    job.request = dataclasses.replace(job.request, definition=encrypted)
    assert may_finish_slowly(job, DataPlane.default())
    remote = ended_job(tmp_path / "remote", output_path="s3://bucket/out")
    assert may_finish_slowly(remote, DataPlane(s3_endpoint="http://127.0.0.1:9"))  # S3 API
    unreachable = ended_job(tmp_path / "nowhere", output_path="s3://bucket/out")
    assert not may_finish_slowly(unreachable, DataPlane.default(None))  # nothing to upload
