"""Which starts may take long: those go to a worker thread (job_work.py)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from tunelab.domain.definition import CheckpointSpec, DataChannel
from tunelab.execution.ledger import Admission
from tunelab.execution.local_launch import may_start_slowly

from .test_contract import PROGRAMS, make_definition, make_request

ADMITTED = Admission(placements=[])


def test_a_program_without_data_starts_at_once(tmp_path: Path) -> None:
    request = make_request(tmp_path / "job", make_definition((PROGRAMS / "behave.py").as_uri()))
    assert not may_start_slowly(request, ADMITTED)


def test_data_checkpoints_and_networks_may_take_long(tmp_path: Path) -> None:
    base = make_definition((PROGRAMS / "behave.py").as_uri())
    channel = DataChannel("train", (tmp_path / "data").as_uri())
    for definition in (
        dataclasses.replace(base, channels=(channel,)),
        dataclasses.replace(base, checkpoint=CheckpointSpec((tmp_path / "ckpt").as_uri())),
    ):
        assert may_start_slowly(make_request(tmp_path / "job", definition), ADMITTED)
    with_network = Admission(placements=[], net=3)
    assert may_start_slowly(make_request(tmp_path / "job", base), with_network)
