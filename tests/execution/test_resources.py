"""The instance catalog, the overcommit policy (what fits, what is too big), placement."""

from __future__ import annotations

import dataclasses

import botocore.session
import pytest

from tunelab.domain.definition import ResourceSpec
from tunelab.domain.instance_types import GIB, INSTANCE_TYPES, InstanceType, instance_type
from tunelab.execution.resources import (
    Allocation,
    Demand,
    Machine,
    Overcommit,
    demand_of,
    fits,
    oversize,
    place,
)

from .test_contract import make_definition

TWO_CORES = Machine((0, 1), 24 * GIB)


def kind(name: str) -> InstanceType:
    found = instance_type(name)
    assert found is not None
    return found


@pytest.mark.parametrize(
    ("name", "vcpus", "memory", "gpus"),
    [
        ("ml.m5.large", 2, 8, 0),
        ("ml.m5.24xlarge", 96, 384, 0),
        ("ml.m6i.32xlarge", 128, 512, 0),
        ("ml.c5.9xlarge", 36, 72, 0),
        ("ml.c5n.xlarge", 4, 10.5, 0),
        ("ml.c6i.8xlarge", 32, 64, 0),
        ("ml.c4.xlarge", 4, 7.5, 0),
        ("ml.r5.large", 2, 16, 0),
        ("ml.t3.medium", 2, 4, 0),
        ("ml.g4dn.xlarge", 4, 16, 1),
        ("ml.g4dn.12xlarge", 48, 192, 4),
        ("ml.g5.48xlarge", 192, 768, 8),
        ("ml.p3.2xlarge", 8, 61, 1),
        ("ml.p3.16xlarge", 64, 488, 8),
        ("ml.p2.16xlarge", 64, 732, 16),
        ("ml.trn1.2xlarge", 8, 32, 0),
        ("ml.r6i.32xlarge", 128, 1024, 0),
        ("ml.m8i.96xlarge", 384, 1536, 0),
        ("ml.c7i-flex.xlarge", 4, 8, 0),
    ],
)
def test_catalog_has_aws_figures(name: str, vcpus: int, memory: float, gpus: int) -> None:
    found = kind(name)
    assert (found.vcpus, found.memory_gib, found.gpus) == (vcpus, memory, gpus)
    assert found.memory_bytes == int(memory * GIB)


def test_catalog_covers_sagemakers_training_types_but_the_newest() -> None:
    model = botocore.session.get_session().get_service_model("sagemaker")
    enum = model.shape_for("TrainingInstanceType").enum
    missing = sorted(set(enum) - set(INSTANCE_TYPES))
    assert all(name.startswith(("ml.p6", "ml.g7")) for name in missing), missing
    assert set(INSTANCE_TYPES) <= set(enum)  # no invented names
    assert instance_type(None) == kind("ml.m5.large")  # no InstanceType: the default


def test_policy_from_environment() -> None:
    assert Overcommit.from_env({}) == Overcommit(10.0, 4.0)
    assert Overcommit.from_env({"TUNELAB_CPU_OVERCOMMIT": "2.5"}).cpu == 2.5
    with pytest.raises(ValueError, match="TUNELAB_MEMORY_OVERCOMMIT must be at least 1"):
        Overcommit.from_env({"TUNELAB_MEMORY_OVERCOMMIT": "0.5"})
    with pytest.raises(ValueError, match="must be a number"):
        Overcommit.from_env({"TUNELAB_CPU_OVERCOMMIT": "lots"})


def test_a_two_core_machine_runs_ten_small_jobs_and_waits_for_the_eleventh() -> None:
    policy, running = Overcommit(), []
    demand = Demand(kind("ml.m5.large"))
    for index in range(10):
        assert fits(demand, TWO_CORES, policy, running)
        (placement,) = place(demand, ["algo-1"], TWO_CORES, running)
        running.append(
            Allocation(f"job-{index}", "algo-1", 2, demand.memory_bytes, placement.cpus)
        )
    assert not fits(demand, TWO_CORES, policy, running)
    assert fits(demand, TWO_CORES, policy, running[1:])
    # memory binds first for memory-optimized types: 23 GiB x 4 holds two r5.xlarge (32 GiB)
    big = Demand(kind("ml.r5.xlarge"))
    assert fits(big, Machine((0, 1), 23 * GIB), policy, [], [big])
    assert not fits(big, Machine((0, 1), 23 * GIB), policy, [], [big] * 2)


def test_hosts_are_pinned_to_the_least_loaded_cpus_with_their_share_of_threads() -> None:
    four = Machine((0, 1, 2, 3), 64 * GIB)
    first = place(Demand(kind("ml.m5.large")), ["algo-1"], four, [])[0]
    assert (first.cpus, first.threads, first.memory_bytes) == ((0, 1), 2, 8 * GIB)
    running = [Allocation("a", "algo-1", 2, 8 * GIB, first.cpus)]
    second = place(Demand(kind("ml.m5.large")), ["algo-1"], four, running)[0]
    assert (second.cpus, second.threads) == ((2, 3), 2)  # the idle CPUs
    running.append(Allocation("b", "algo-1", 2, 8 * GIB, second.cpus))
    third = place(Demand(kind("ml.c5.xlarge")), ["algo-1"], four, running)[0]
    assert (third.cpus, third.threads) == ((0, 1, 2, 3), 2)  # 4 vCPUs shared by 2 hosts each
    # two hosts of one job do not pile up on the same CPUs
    pair = place(Demand(kind("ml.m5.large"), 2), ["algo-1", "algo-2"], four, [])
    assert [p.cpus for p in pair] == [(0, 1), (2, 3)]
    # a machine with fewer CPUs than the type's vCPUs pins to all of them
    wide = place(Demand(kind("ml.m5.4xlarge")), ["algo-1"], TWO_CORES, [])[0]
    assert (wide.cpus, wide.threads) == ((0, 1), 2)


def test_gpus_are_given_to_one_job_at_a_time() -> None:
    machine = Machine((0, 1), 200 * GIB, ("0", "1"))
    policy = Overcommit(cpu=100)
    g5 = Demand(kind("ml.g5.12xlarge"))  # 4 GPUs on AWS; this machine has 2
    assert g5.gpus_per_host(machine) == 2
    (placement,) = place(g5, ["algo-1"], machine, [])
    assert placement.gpus == ("0", "1")
    running = [Allocation("a", "algo-1", 48, 0, (0, 1), placement.gpus)]
    assert not fits(Demand(kind("ml.g4dn.xlarge")), machine, policy, running)
    assert fits(Demand(kind("ml.m5.large")), machine, policy, running)  # no GPU needed
    assert Demand(kind("ml.p3.2xlarge")).gpus_per_host(TWO_CORES) == 0  # runs on CPUs


def test_jobs_too_big_for_the_machine_name_the_field() -> None:
    def problems(instance: str, count: int = 1) -> list[tuple[str, str]]:
        definition = make_definition("file:///x", resources=ResourceSpec(instance, count))
        return oversize(definition, TWO_CORES, Overcommit())

    assert problems("ml.m5.large") == []
    assert problems("ml.m5.large", 10) == []
    assert problems("ml.m5.4xlarge") == []  # 16 vCPUs, 64 GiB: fits an idle machine
    cpu_offer = "this machine offers 20 (2 CPUs x CPU overcommit 10, TUNELAB_CPU_OVERCOMMIT)"
    assert problems("ml.m5.large", 11) == [
        ("InstanceCount", f"11 x ml.m5.large need 22 vCPUs at once; {cpu_offer}")
    ]
    assert problems("ml.m5.12xlarge") == [
        ("InstanceType", f"ml.m5.12xlarge has 48 vCPUs; {cpu_offer}"),
        (
            "InstanceType",
            "ml.m5.12xlarge has 192 GiB of memory; this machine offers 96.0 GiB (24.0 GiB x "
            "memory overcommit 4, TUNELAB_MEMORY_OVERCOMMIT)",
        ),
    ]
    assert [field for field, _ in problems("ml.r5.4xlarge")] == ["InstanceType"]  # 128 GiB
    assert problems("ml.p6-b200.48xlarge")[0][1].startswith(
        "ml.p6-b200.48xlarge is not in tunelab's instance catalog"
    )
    gpus = Machine((0, 1), 200 * GIB, ("0",))
    definition = make_definition("file:///x", resources=ResourceSpec("ml.g4dn.xlarge", 2))
    assert oversize(definition, gpus, Overcommit()) == [
        ("InstanceCount", "2 x ml.g4dn.xlarge need 2 GPUs at once; this machine has 1")
    ]


def test_demand_of_a_definition() -> None:
    definition = make_definition("file:///x", resources=ResourceSpec("ml.c5.xlarge", 3))
    demand = demand_of(dataclasses.replace(definition, enable_managed_spot=True))
    assert (demand.vcpus, demand.memory_bytes, demand.spot) == (12, 24 * GIB, True)
    assert demand_of(make_definition("file:///x")).instance.name == "ml.m5.large"
    with pytest.raises(ValueError, match="unknown instance type"):
        demand_of(make_definition("file:///x", resources=ResourceSpec("ml.x9.huge")))


def test_machine_detection_reads_this_machine() -> None:
    machine = Machine.detect()
    assert machine.cpus and machine.memory_bytes > 256 * (1 << 20)
    assert all(g.isdigit() for g in machine.gpus)
