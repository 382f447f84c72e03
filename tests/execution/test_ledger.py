"""The machine's ledger: admission, spot reclaims and holds, sharing across processes."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from tunelab.domain.instance_types import GIB, instance_type
from tunelab.execution.ledger import Ledger
from tunelab.execution.resources import Demand, Machine, Overcommit

MACHINE = Machine((0, 1), 16 * GIB)
ONE_BY_ONE = Overcommit(cpu=1, memory=1)  # room for exactly one ml.m5.large (2 vCPUs, 8 GiB)
LARGE = instance_type("ml.m5.large")
assert LARGE is not None


def demand(spot: bool = False, hosts: int = 1) -> Demand:
    assert LARGE is not None
    return Demand(LARGE, hosts, spot)


def test_admission_until_full_then_after_a_release(tmp_path: Path) -> None:
    ledger = Ledger(MACHINE, ONE_BY_ONE, str(tmp_path / "machine.json"))
    first = ledger.admit("a", demand(), ["algo-1"], 100.0)
    assert first.placements is not None and first.placements[0].cpus == (0, 1)
    second = ledger.admit("b", demand(), ["algo-1"], 101.0)
    assert second.placements is None
    assert second.reason.startswith("waiting for capacity: 1 x ml.m5.large next to 1 running")
    ledger.release("a")
    assert ledger.admit("b", demand(), ["algo-1"], 102.0).placements is not None
    assert [a.job for a in ledger.allocations()] == ["b"]


def test_on_demand_work_reclaims_the_newest_spot_job(tmp_path: Path) -> None:
    ledger = Ledger(MACHINE, Overcommit(cpu=2, memory=2), str(tmp_path / "machine.json"))
    assert ledger.admit("spot-old", demand(spot=True), ["algo-1"], 1.0).placements
    assert ledger.admit("spot-new", demand(spot=True), ["algo-1"], 2.0).placements
    assert ledger.reclaimed(["spot-old", "spot-new"]) == {}
    waiting = ledger.admit("on-demand", demand(), ["algo-1"], 3.0)
    assert waiting.placements is None
    assert ledger.reclaimed(["spot-old", "spot-new"]) == {
        "spot-new": "spot capacity was reclaimed for the on-demand job on-demand"
    }
    # the reclaimed job's capacity goes to the waiting on-demand job, not to new spot work
    ledger.interrupted("spot-new")
    assert ledger.admit("spot-3", demand(spot=True), ["algo-1"], 4.0).placements is None
    assert ledger.admit("on-demand", demand(), ["algo-1"], 4.0).placements is not None
    assert ledger.reclaimed(["spot-new"]) == {}


def test_an_on_demand_job_that_cannot_fit_reclaims_nothing(tmp_path: Path) -> None:
    ledger = Ledger(MACHINE, ONE_BY_ONE, str(tmp_path / "machine.json"))
    assert ledger.admit("spot", demand(spot=True), ["algo-1"], 1.0).placements
    assert ledger.admit("big", demand(hosts=2), ["algo-1", "algo-2"], 2.0).placements is None
    assert ledger.reclaimed(["spot"]) == {}


def test_a_drill_interrupts_a_running_spot_job_and_holds_its_capacity(tmp_path: Path) -> None:
    ledger = Ledger(MACHINE, ONE_BY_ONE)  # in memory
    assert not ledger.request_interrupt("spot", "drill", 50.0)  # not running
    assert ledger.admit("on-demand", demand(), ["algo-1"], 1.0).placements
    assert not ledger.request_interrupt("on-demand", "drill", 50.0)  # not spot
    ledger.release("on-demand")
    assert ledger.admit("spot", demand(spot=True), ["algo-1"], 1.0).placements
    assert ledger.request_interrupt("spot", "drill", 50.0)
    assert ledger.reclaimed(["spot"]) == {"spot": "drill"}
    ledger.interrupted("spot")
    held = ledger.admit("spot", demand(spot=True), ["algo-1"], 40.0)
    assert held.placements is None
    assert held.reason == "spot capacity was reclaimed; it is back in 10 s"
    assert ledger.admit("spot", demand(spot=True), ["algo-1"], 50.0).placements is not None


def test_network_indexes_are_unique_among_running_jobs() -> None:
    ledger = Ledger(Machine((0, 1), 64 * GIB))
    nets = [ledger.admit(n, demand(), ["algo-1"], 1.0, want_net=True).net for n in "abc"]
    assert nets == [0, 1, 2]
    ledger.release("b")
    assert ledger.admit("d", demand(), ["algo-1"], 2.0, want_net=True).net == 1
    assert ledger.admit("e", demand(), ["algo-1"], 2.0).net is None


OTHER_PROCESS = textwrap.dedent(
    """
    import sys, time
    from tunelab.domain.instance_types import GIB, instance_type
    from tunelab.execution.ledger import Ledger
    from tunelab.execution.resources import Demand, Machine, Overcommit
    ledger = Ledger(Machine((0, 1), 16 * GIB), Overcommit(1, 1), sys.argv[1])
    admitted = ledger.admit("theirs", Demand(instance_type("ml.m5.large")), ["algo-1"], 1.0)
    print("admitted" if admitted.placements else "refused", flush=True)
    time.sleep(60)
    """
)


def test_processes_share_the_ledger_and_a_dead_ones_share_is_freed(tmp_path: Path) -> None:
    path = tmp_path / "machine.json"
    other = subprocess.Popen(
        [sys.executable, "-c", OTHER_PROCESS, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert other.stdout is not None and other.stdout.readline().strip() == "admitted"
        ledger = Ledger(MACHINE, ONE_BY_ONE, str(path))
        assert ledger.admit("mine", demand(), ["algo-1"], 2.0).placements is None
        assert json.loads(path.read_text())["waiting"]["mine"]["instance"] == "ml.m5.large"
    finally:
        other.kill()
        other.wait()
    assert ledger.admit("mine", demand(), ["algo-1"], 3.0).placements is not None
    assert [a.job for a in ledger.allocations()] == ["mine"]


def test_a_write_cut_short_by_a_kill_keeps_the_new_accounts(tmp_path: Path) -> None:
    """The file is rewritten in place: a process killed between writing the new document
    and truncating leaves the old document's tail after it, which is ignored."""
    path = tmp_path / "machine.json"
    ledger = Ledger(MACHINE, ONE_BY_ONE, str(path))
    assert ledger.admit("first", demand(), ["algo-1"], 1.0).placements is not None
    longer = path.read_bytes()
    ledger.release("first")
    shorter = path.read_bytes()
    assert len(shorter) < len(longer)
    path.write_bytes(shorter + longer[len(shorter) :])  # the new document, then a stale tail
    assert ledger.allocations() == []
    assert ledger.admit("second", demand(), ["algo-1"], 2.0).placements is not None
    assert [a.job for a in Ledger(MACHINE, ONE_BY_ONE, str(path)).allocations()] == ["second"]
    assert json.loads(path.read_text())["allocations"][0]["job"] == "second"  # clean again


def test_jobs_naming_one_directory_of_the_machine_run_one_at_a_time(tmp_path: Path) -> None:
    ledger = Ledger(MACHINE, Overcommit(cpu=4, memory=4), str(tmp_path / "machine.json"))
    assert LARGE is not None
    shared = Demand(LARGE, directories=("/tmp/ck",))
    assert ledger.admit("a", shared, ["algo-1"], 1.0).placements is not None
    waits = ledger.admit("b", shared, ["algo-1"], 2.0)
    assert waits.placements is None
    assert waits.reason.startswith(
        "waiting for the checkpoint directory /tmp/ck: training job a is using /tmp/ck"
    )
    inner = ledger.admit("c", Demand(LARGE, directories=("/tmp/ck/inner",)), ["algo-1"], 2.0)
    assert inner.placements is None and "training job a is using /tmp/ck" in inner.reason
    assert ledger.admit("d", Demand(LARGE, directories=("/tmp/ck2",)), ["algo-1"], 2.0).placements
    assert ledger.admit("e", demand(), ["algo-1"], 2.0).placements is not None  # room is there
    ledger.release("a")
    assert ledger.admit("b", shared, ["algo-1"], 3.0).placements is not None
    other = Ledger(MACHINE, Overcommit(cpu=4, memory=4), str(tmp_path / "machine.json"))
    assert other.admit("f", shared, ["algo-1"], 4.0).placements is None  # another process
