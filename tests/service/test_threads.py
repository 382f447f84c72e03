"""Only jobs whose strategy fits Gaussian processes load scipy and limit BLAS threads:
a Random job's process stays small (the overhead benchmark's RSS target)."""

from __future__ import annotations

import subprocess
import sys

from tests.factories import make_document
from tunelab.domain.request import parse_tuning_job
from tunelab.service.threads import uses_linear_algebra

HYPERBAND = {"HyperbandStrategyConfig": {"MaxResource": 3}}


def spec(strategy: str, tags: dict[str, str] | None = None):
    document = make_document(strategy=strategy)
    if strategy == "Hyperband":
        document["HyperParameterTuningJobConfig"]["StrategyConfig"] = HYPERBAND
    document["Tags"] = [{"Key": k, "Value": v} for k, v in (tags or {}).items()]
    return parse_tuning_job(document)


def test_only_gaussian_process_strategies_need_linear_algebra() -> None:
    assert uses_linear_algebra(spec("Bayesian"))
    assert uses_linear_algebra(spec("Hyperband", {"tunelab:hyperband-sampler": "gp"}))
    assert not uses_linear_algebra(spec("Hyperband"))
    assert not uses_linear_algebra(spec("Random"))
    assert not uses_linear_algebra(spec("Grid"))


def test_the_cli_and_a_random_or_hyperband_strategy_do_not_import_scipy() -> None:
    program = """
import sys, numpy as np
import tunelab.cli.app, tunelab.api.app
from tunelab.service.tuning import TuningService
from tunelab.strategies.base import DefinitionSpace, TuningProblem
from tunelab.strategies.registry import STRATEGIES, create_strategy
from tunelab.domain.enums import ObjectiveType, StrategyType
from tunelab.domain.search_space import CategoricalRange, SearchSpace
assert StrategyType.BAYESIAN in STRATEGIES
space = SearchSpace((CategoricalRange("kernel", ("rbf", "linear")),))
problem = TuningProblem((DefinitionSpace(None, space),), ObjectiveType.MINIMIZE, 10, 1)
for kind in (StrategyType.RANDOM, StrategyType.GRID, StrategyType.HYPERBAND):
    assert create_strategy(kind, problem, 1).suggest(2)
print(sorted(m for m in sys.modules if m.split(".")[0] == "scipy")[:3])
"""
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
