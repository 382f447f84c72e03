"""Two writers of one artifact at once (two servers packing the same job's model after a
takeover): each writes through a temporary file of its own, so both succeed, the
artifact is whole (one writer's) and no ``.partial`` file is left behind."""

from __future__ import annotations

import os
import tarfile
import threading
from collections.abc import Callable
from pathlib import Path

from tunelab.execution.contract import JobLayout, prepare_job_dir
from tunelab.execution.outputs import package_outputs
from tunelab.execution.storage import DataPlane, put_file, resolve

from .test_contract import make_definition, make_request

ROUNDS = 4


def run_together(*writers: Callable[[], None]) -> list[BaseException]:
    """Run ``writers`` in threads started at the same moment; the errors they raised."""
    start, errors = threading.Barrier(len(writers)), []

    def run(write: Callable[[], None]) -> None:
        start.wait()
        try:
            write()
        except BaseException as error:  # reported by the test
            errors.append(error)

    threads = [threading.Thread(target=run, args=(w,)) for w in writers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.name.endswith(".partial"))


def a_job_dir(tmp_path: Path, which: str, model: bytes) -> JobLayout:
    layout = prepare_job_dir(make_request(tmp_path / which, make_definition("file:///bin/true")))
    Path(layout.model_dir, "model.bin").write_bytes(model)
    return layout


def test_two_servers_packing_one_jobs_model_both_leave_a_whole_archive(
    tmp_path: Path,
) -> None:
    models = {os.urandom(1 << 21), os.urandom(1 << 21)}
    first, second = (a_job_dir(tmp_path, f"server-{i}", m) for i, m in enumerate(models))
    out = tmp_path / "out"
    for _ in range(ROUNDS):
        errors = run_together(
            lambda: package_outputs(first, str(out), "job"),
            lambda: package_outputs(second, str(out), "job"),
        )
        assert errors == []
        with tarfile.open(out / "job" / "output" / "model.tar.gz") as archive:
            member = archive.extractfile("model.bin")
            assert member is not None and member.read() in models
        assert leftovers(out) == []


def test_two_writers_of_one_local_object_both_leave_a_whole_file(tmp_path: Path) -> None:
    sources = [tmp_path / "a.bin", tmp_path / "b.bin"]
    for source in sources:
        source.write_bytes(os.urandom(1 << 23))
    contents = {s.read_bytes() for s in sources}
    target = resolve("s3://bucket/job/output/model.tar.gz", DataPlane(str(tmp_path / "s3")))
    for _ in range(ROUNDS):
        errors = run_together(*(lambda s=s: put_file(str(s), target) for s in sources))
        assert errors == []
        assert Path(target.path).read_bytes() in contents
        assert leftovers(tmp_path / "s3") == []
