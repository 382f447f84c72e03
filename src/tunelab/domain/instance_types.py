"""SageMaker's training instance types with their hardware: vCPUs, memory (GiB) and GPUs.

The figures are those of the EC2 instance type each ``ml.`` type runs on, as AWS
publishes them:

- general purpose (m4, m5, m6i, m7i, t3): "Specifications for Amazon EC2 general purpose
  instances", https://docs.aws.amazon.com/ec2/latest/instancetypes/gp.html, and the
  EC2 user guide's hardware table,
  https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/general-purpose-instances.html;
- compute optimized (c4, c5, c5n, c6i, c7i):
  https://docs.aws.amazon.com/ec2/latest/instancetypes/co.html and
  https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/compute-optimized-instances.html;
- memory optimized (r5, r5d, r7i): https://docs.aws.amazon.com/ec2/latest/instancetypes/mo.html;
- accelerated (g4dn, g5, g6, g6e, p2, p3, p3dn, p4d, p4de, p5, p5e, p5en; trn1, trn1n,
  trn2): https://docs.aws.amazon.com/ec2/latest/instancetypes/ac.html, AWS Batch's
  GPU table https://docs.aws.amazon.com/batch/latest/userguide/gpu-jobs.html and, for
  Trainium, https://awsdocs-neuron.readthedocs-hosted.com/en/latest/general/arch/neuron-hardware/trn2-arch.html.

The Intel families from the 6th generation on (m6i, m7i, m8i and their ``-flex``
variants, c6i, c7i, c8i, r6i, r7i, r8i) follow AWS's fixed sizes: ``large`` has 2
vCPUs, ``xlarge`` 4, ``<n>xlarge`` 4n, with 4 (m), 2 (c) or 8 (r) GiB per vCPU.

``gpus`` counts NVIDIA GPUs; Trainium chips are accelerators, not GPUs (0 here).
SageMaker's newest GPU types whose figures are not listed here (``ml.p6-*``,
``ml.p6e-*``, ``ml.g7.*``, ``ml.g7e.*``) are not in the catalog: a request naming one
is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_INSTANCE_TYPE = "ml.m5.large"
"""What a definition without ``InstanceType`` runs as (what Describe reports for it)."""

GIB = 1 << 30


@dataclass(frozen=True)
class InstanceType:
    name: str
    vcpus: int
    memory_gib: float
    gpus: int = 0

    @property
    def memory_bytes(self) -> int:
        return int(self.memory_gib * GIB)


def _family(family: str, sizes: str, gpus: dict[str, int] | None = None) -> list[InstanceType]:
    """``sizes``: ``"size:vcpus:memory ..."``; ``gpus``: GPUs per size (default 0)."""
    found = []
    for item in sizes.split():
        size, vcpus, memory = item.split(":")
        gpu = (gpus or {}).get(size, 0)
        found.append(InstanceType(f"ml.{family}.{size}", int(vcpus), float(memory), gpu))
    return found


def _intel(family: str, gib_per_vcpu: int, sizes: str) -> list[InstanceType]:
    """A family of AWS's regular Intel sizes (module docstring)."""
    found = []
    for size in sizes.split():
        vcpus = 2 if size == "large" else 4 * int(size.removesuffix("xlarge") or 1)
        found.append(InstanceType(f"ml.{family}.{size}", vcpus, vcpus * gib_per_vcpu))
    return found


_FLEX = "large xlarge 2xlarge 4xlarge 8xlarge 12xlarge 16xlarge"
_GEN8 = (
    "large xlarge 2xlarge 4xlarge 8xlarge 12xlarge 16xlarge 24xlarge 32xlarge 48xlarge 96xlarge"
)
_XL = "xlarge:4:16 2xlarge:8:32 4xlarge:16:64 8xlarge:32:128 16xlarge:64:256"
_G_GPUS = {
    "xlarge": 1,
    "2xlarge": 1,
    "4xlarge": 1,
    "8xlarge": 1,
    "16xlarge": 1,
    "12xlarge": 4,
    "24xlarge": 4,
    "48xlarge": 8,
}

_CATALOG: list[InstanceType] = [
    *_family("m4", "xlarge:4:16 2xlarge:8:32 4xlarge:16:64 10xlarge:40:160 16xlarge:64:256"),
    *_family(
        "m5", "large:2:8 xlarge:4:16 2xlarge:8:32 4xlarge:16:64 12xlarge:48:192 24xlarge:96:384"
    ),
    *_family(
        "m6i",
        "large:2:8 xlarge:4:16 2xlarge:8:32 4xlarge:16:64 8xlarge:32:128 12xlarge:48:192 "
        "16xlarge:64:256 24xlarge:96:384 32xlarge:128:512",
    ),
    *_family(
        "m7i",
        "large:2:8 xlarge:4:16 2xlarge:8:32 4xlarge:16:64 8xlarge:32:128 12xlarge:48:192 "
        "16xlarge:64:256 24xlarge:96:384 48xlarge:192:768",
    ),
    *_family("t3", "medium:2:4 large:2:8 xlarge:4:16 2xlarge:8:32"),
    *_family("c4", "xlarge:4:7.5 2xlarge:8:15 4xlarge:16:30 8xlarge:36:60"),
    *_family("c5", "xlarge:4:8 2xlarge:8:16 4xlarge:16:32 9xlarge:36:72 18xlarge:72:144"),
    *_family("c5n", "xlarge:4:10.5 2xlarge:8:21 4xlarge:16:42 9xlarge:36:96 18xlarge:72:192"),
    *_family(
        "c6i",
        "xlarge:4:8 2xlarge:8:16 4xlarge:16:32 8xlarge:32:64 12xlarge:48:96 16xlarge:64:128 "
        "24xlarge:96:192 32xlarge:128:256",
    ),
    *_family(
        "c7i",
        "large:2:4 xlarge:4:8 2xlarge:8:16 4xlarge:16:32 8xlarge:32:64 12xlarge:48:96 "
        "16xlarge:64:128 24xlarge:96:192 48xlarge:192:384",
    ),
    *(
        item
        for family in ("r5", "r5d")
        for item in _family(
            family,
            "large:2:16 xlarge:4:32 2xlarge:8:64 4xlarge:16:128 8xlarge:32:256 "
            "12xlarge:48:384 16xlarge:64:512 24xlarge:96:768",
        )
    ),
    *_family(
        "r7i",
        "large:2:16 xlarge:4:32 2xlarge:8:64 4xlarge:16:128 8xlarge:32:256 12xlarge:48:384 "
        "16xlarge:64:512 24xlarge:96:768 48xlarge:192:1536",
    ),
    *_family("g4dn", f"{_XL} 12xlarge:48:192", _G_GPUS),
    *(
        item
        for family in ("g5", "g6")
        for item in _family(
            family, f"{_XL} 12xlarge:48:192 24xlarge:96:384 48xlarge:192:768", _G_GPUS
        )
    ),
    *_family(
        "g6e",
        "xlarge:4:32 2xlarge:8:64 4xlarge:16:128 8xlarge:32:256 16xlarge:64:512 "
        "12xlarge:48:384 24xlarge:96:768 48xlarge:192:1536",
        _G_GPUS,
    ),
    *_family(
        "p2",
        "xlarge:4:61 8xlarge:32:488 16xlarge:64:732",
        {"xlarge": 1, "8xlarge": 8, "16xlarge": 16},
    ),
    *_family(
        "p3",
        "2xlarge:8:61 8xlarge:32:244 16xlarge:64:488",
        {"2xlarge": 1, "8xlarge": 4, "16xlarge": 8},
    ),
    *_family("p3dn", "24xlarge:96:768", {"24xlarge": 8}),
    *_family("p4d", "24xlarge:96:1152", {"24xlarge": 8}),
    *_family("p4de", "24xlarge:96:1152", {"24xlarge": 8}),
    *_family("p5", "4xlarge:16:256 48xlarge:192:2048", {"4xlarge": 1, "48xlarge": 8}),
    *_family("p5e", "48xlarge:192:2048", {"48xlarge": 8}),
    *_family("p5en", "48xlarge:192:2048", {"48xlarge": 8}),
    *_intel("r6i", 8, "large xlarge 2xlarge 4xlarge 8xlarge 12xlarge 16xlarge 24xlarge 32xlarge"),
    *_intel("m8i", 4, _GEN8),
    *_intel("c8i", 2, _GEN8.removeprefix("large ")),
    *_intel("r8i", 8, _GEN8),
    *_intel("m7i-flex", 4, _FLEX),
    *_intel("m8i-flex", 4, _FLEX),
    *_intel("c7i-flex", 2, _FLEX.removeprefix("large ")),
    *_intel("c8i-flex", 2, _FLEX.removeprefix("large ")),
    *_intel("r8i-flex", 8, _FLEX),
    *_family("trn1", "2xlarge:8:32 32xlarge:128:512"),
    *_family("trn1n", "32xlarge:128:512"),
    *_family("trn2", "48xlarge:192:2048"),
]

INSTANCE_TYPES: dict[str, InstanceType] = {item.name: item for item in _CATALOG}


def instance_type(name: str | None) -> InstanceType | None:
    """The catalog entry of ``name`` (None: :data:`DEFAULT_INSTANCE_TYPE`'s), or None
    when tunelab does not know the type."""
    return INSTANCE_TYPES.get(name or DEFAULT_INSTANCE_TYPE)
