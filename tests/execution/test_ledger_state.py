"""The ledger's owners: this process is named by its pid and start time, read once."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tunelab.execution import ledger_state
from tunelab.execution.processes import process_start_time


def test_this_process_is_read_once_and_known_alive_without_proc(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    me = ledger_state.current_owner()
    assert me == [os.getpid(), process_start_time(os.getpid())]
    reads: list[int] = []
    monkeypatch.setattr(ledger_state, "process_start_time", lambda pid: reads.append(pid) or None)
    assert ledger_state.current_owner() == me
    assert ledger_state.owner_alive(me)
    assert reads == []


def test_other_processes_are_alive_while_they_run_with_the_same_start_time() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        owner = [child.pid, process_start_time(child.pid)]
        assert ledger_state.owner_alive(owner)
        assert not ledger_state.owner_alive([child.pid, owner[1] - 1])  # a recycled pid
        assert not ledger_state.owner_alive([child.pid, None])
    finally:
        child.kill()
        child.wait()
    assert not ledger_state.owner_alive(owner)
