"""Imports point one way, down DESIGN.md's list of layers; the pure packages do
no I/O of their own."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "tunelab"

PURE_LAYERS = {"domain", "strategies", "stopping", "metrics"}
BELOW_ORCHESTRATOR = PURE_LAYERS | {"store", "execution", "algorithms"}
# layer -> the tunelab packages it may import (besides itself)
ALLOWED = {
    "domain": set(),
    "strategies": {"domain"},
    "stopping": {"domain"},
    "metrics": {"domain"},
    "store": {"domain"},
    "algorithms": {"domain"},  # programs + pure metadata; execution and above read the metadata
    "execution": {"domain", "metrics", "algorithms"},
    "orchestrator": BELOW_ORCHESTRATOR,
    "service": BELOW_ORCHESTRATOR | {"orchestrator"},
    "api": BELOW_ORCHESTRATOR | {"orchestrator", "service"},
    "console": BELOW_ORCHESTRATOR | {"orchestrator", "service"},
    "cli": BELOW_ORCHESTRATOR | {"orchestrator", "service", "api", "console"},
}
IMPURE_MODULES = {"os", "time", "subprocess", "sqlalchemy", "socket", "fastapi", "starlette"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def layer_modules() -> list[tuple[str, Path]]:
    return [
        (p.relative_to(PACKAGE).parts[0], p)
        for p in sorted(PACKAGE.rglob("*.py"))
        if len(p.relative_to(PACKAGE).parts) > 1
    ]


def test_every_package_is_a_known_layer() -> None:
    layers = {layer for layer, _ in layer_modules()}
    assert layers <= set(ALLOWED), layers - set(ALLOWED)


@pytest.mark.parametrize(("layer", "path"), layer_modules(), ids=lambda v: str(v))
def test_imports_point_down_the_layers(layer: str, path: Path) -> None:
    for module in imported_modules(path):
        parts = module.split(".")
        if parts[0] != "tunelab" or len(parts) < 2 or parts[1] == layer:
            continue
        assert parts[1] in ALLOWED[layer], f"{path.relative_to(PACKAGE)} imports {module}"


@pytest.mark.parametrize(
    ("layer", "path"),
    [(lay, p) for lay, p in layer_modules() if lay in PURE_LAYERS],
    ids=lambda v: str(v),
)
def test_pure_packages_do_no_io(layer: str, path: Path) -> None:
    impure = {m for m in imported_modules(path) if m.split(".")[0] in IMPURE_MODULES}
    assert not impure, f"{path.relative_to(PACKAGE)} imports {sorted(impure)}"
