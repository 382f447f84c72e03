"""One ask/tell interface over tunelab's Bayesian strategy and its peers.

``ask(n)`` returns ``n`` configurations (dicts of native Python values) to evaluate
in parallel; ``tell(configs, values)`` reports their objective values (minimized).
Every adapter uses its library's defaults apart from the seed and the search space.
"""

from __future__ import annotations

import logging
import math
import tempfile
import warnings
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
from problems import Param, Problem, random_config

warnings.filterwarnings("ignore")


class Optimizer(Protocol):
    def ask(self, n: int) -> list[dict[str, Any]]: ...

    def tell(self, configs: list[dict[str, Any]], values: list[float]) -> None: ...


class RandomSearch:
    def __init__(self, problem: Problem, seed: int) -> None:
        self.problem, self.rng = problem, np.random.default_rng(seed)

    def ask(self, n: int) -> list[dict[str, Any]]:
        return [random_config(self.problem, self.rng) for _ in range(n)]

    def tell(self, configs: list[dict[str, Any]], values: list[float]) -> None:
        pass


class Tunelab:
    """tunelab's Bayesian strategy driven as the tuning loop drives it: suggest for
    the free slots, then one final event per finished job."""

    def __init__(self, problem: Problem, seed: int) -> None:
        from tunelab.domain.enums import ObjectiveType, ScalingType
        from tunelab.domain.search_space import (
            CategoricalRange,
            ContinuousRange,
            IntegerRange,
            SearchSpace,
        )
        from tunelab.strategies.base import DefinitionSpace, TuningProblem
        from tunelab.strategies.bayesian import BayesianStrategy

        scaling = {
            "linear": ScalingType.LINEAR,
            "log": ScalingType.LOGARITHMIC,
            "auto": ScalingType.AUTO,
        }
        ranges: list[Any] = []
        for p in problem.params:
            if p.kind == "cat":
                ranges.append(CategoricalRange(p.name, p.choices))
            elif p.kind == "int":
                ranges.append(IntegerRange(p.name, int(p.low), int(p.high), scaling[p.scale]))
            else:
                ranges.append(ContinuousRange(p.name, p.low, p.high, scaling[p.scale]))
        space = SearchSpace(tuple(ranges))
        tuning = TuningProblem((DefinitionSpace(None, space),), ObjectiveType.MINIMIZE, seed=seed)
        self.strategy = BayesianStrategy.create(tuning, np.random.default_rng(seed))
        self.count = 0

    def ask(self, n: int) -> list[dict[str, Any]]:
        return [dict(s.params) for s in self.strategy.suggest(n)]

    def tell(self, configs: list[dict[str, Any]], values: list[float]) -> None:
        from tunelab.domain.enums import TrainingJobStatus
        from tunelab.domain.trial import TrialEvent

        events = []
        for config, value in zip(configs, values, strict=True):
            self.count += 1
            events.append(
                TrialEvent(
                    f"t{self.count}", None, config, TrainingJobStatus.COMPLETED, value,
                    is_final=True,
                )
            )  # fmt: skip
        self.strategy.observe(events)


class OptunaSampler:
    def __init__(self, problem: Problem, seed: int, kind: str) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.ERROR)
        if kind == "gp":
            import torch

            torch.set_num_threads(1)
            sampler: Any = optuna.samplers.GPSampler(seed=seed)
        elif kind == "tpe":
            sampler = optuna.samplers.TPESampler(seed=seed)
        else:
            sampler = optuna.samplers.TPESampler(seed=seed, multivariate=False)
        self.study = optuna.create_study(sampler=sampler, direction="minimize")
        self.dists = {p.name: _optuna_dist(p) for p in problem.params}
        self.pending: list[Any] = []

    def ask(self, n: int) -> list[dict[str, Any]]:
        trials = [self.study.ask(self.dists) for _ in range(n)]
        self.pending.extend(trials)
        return [dict(t.params) for t in trials]

    def tell(self, configs: list[dict[str, Any]], values: list[float]) -> None:
        import optuna

        for config, value in zip(configs, values, strict=True):
            trial = next((t for t in self.pending if t.params == config), None)
            if trial is None:  # an injected observation (latency measurement)
                self.study.add_trial(
                    optuna.trial.create_trial(params=config, distributions=self.dists, value=value)
                )
                continue
            self.pending.remove(trial)
            self.study.tell(trial, value)


def _optuna_dist(p: Param) -> Any:
    import optuna

    if p.kind == "cat":
        return optuna.distributions.CategoricalDistribution(list(p.choices))
    if p.kind == "int":
        return optuna.distributions.IntDistribution(int(p.low), int(p.high), log=p.log)
    return optuna.distributions.FloatDistribution(p.low, p.high, log=p.log)


class Hyperopt:
    """Hyperopt's TPE through its Trials/Domain API, one suggestion per new id
    (what ``fmin`` does with a queue); pending jobs count as running trials."""

    def __init__(self, problem: Problem, seed: int) -> None:
        from hyperopt import Domain, Trials, hp

        logging.getLogger("hyperopt").setLevel(logging.ERROR)
        space: dict[str, Any] = {}
        for p in problem.params:
            if p.kind == "cat":
                space[p.name] = hp.choice(p.name, list(p.choices))
            elif p.kind == "int":
                lo, hi = p.low - 0.5, p.high + 0.5
                if p.log:
                    space[p.name] = hp.qloguniform(p.name, math.log(lo), math.log(hi), 1)
                else:
                    space[p.name] = hp.quniform(p.name, lo, hi, 1)
            elif p.log:
                space[p.name] = hp.loguniform(p.name, math.log(p.low), math.log(p.high))
            else:
                space[p.name] = hp.uniform(p.name, p.low, p.high)
        self.problem, self.space = problem, space
        self.domain = Domain(lambda _: 0.0, space)
        self.trials = Trials()
        self.rng = np.random.default_rng(seed)
        self.by_config: dict[tuple, dict] = {}

    def _native(self, doc: dict) -> dict[str, Any]:
        from hyperopt import space_eval

        values = space_eval(self.space, {k: v[0] for k, v in doc["misc"]["vals"].items()})
        out: dict[str, Any] = {}
        for p in self.problem.params:
            v = values[p.name]
            out[p.name] = int(min(max(round(v), p.low), p.high)) if p.kind == "int" else v
        return out

    def ask(self, n: int) -> list[dict[str, Any]]:
        from hyperopt import tpe

        configs = []
        for _ in range(n):
            ids = self.trials.new_trial_ids(1)
            docs = tpe.suggest(ids, self.domain, self.trials, int(self.rng.integers(2**31)))
            self.trials.insert_trial_docs(docs)
            self.trials.refresh()
            config = self._native(docs[0])
            self.by_config[_key(config)] = self.trials.trials[-1]
            configs.append(config)
        return configs

    def tell(self, configs: list[dict[str, Any]], values: list[float]) -> None:
        from hyperopt import JOB_STATE_DONE, STATUS_OK

        for config, value in zip(configs, values, strict=True):
            doc = self.by_config.pop(_key(config), None)
            if doc is None:  # an injected observation (latency measurement)
                doc = self._inject(config)
            doc["state"] = JOB_STATE_DONE
            doc["result"] = {"loss": float(value), "status": STATUS_OK}
        self.trials.refresh()

    def _inject(self, config: dict[str, Any]) -> dict:
        tid = self.trials.new_trial_ids(1)[0]
        vals = {
            p.name: [p.choices.index(config[p.name]) if p.kind == "cat" else config[p.name]]
            for p in self.problem.params
        }
        misc = {"tid": tid, "cmd": self.domain.cmd, "workdir": None,
                "idxs": {k: [tid] for k in vals}, "vals": vals}  # fmt: skip
        docs = self.trials.new_trial_docs([tid], [None], [self.domain.new_result()], [misc])
        self.trials.insert_trial_docs(docs)
        self.trials.refresh()
        return self.trials.trials[-1]


def _key(config: dict[str, Any]) -> tuple:
    return tuple(sorted(config.items()))


class Skopt:
    """scikit-optimize's ``Optimizer`` (GP, gp_hedge, 10 initial points); a batch
    uses its constant-liar ``ask(n_points)``."""

    def __init__(self, problem: Problem, seed: int) -> None:
        from skopt import Optimizer as SkOptimizer
        from skopt.space import Categorical, Integer, Real

        dims: list[Any] = []
        for p in problem.params:
            prior = "log-uniform" if p.log else "uniform"
            if p.kind == "cat":
                dims.append(Categorical(list(p.choices), name=p.name))
            elif p.kind == "int":
                dims.append(Integer(int(p.low), int(p.high), prior=prior, name=p.name))
            else:
                dims.append(Real(p.low, p.high, prior=prior, name=p.name))
        self.names = [p.name for p in problem.params]
        self.opt = SkOptimizer(dims, base_estimator="GP", random_state=seed)

    def ask(self, n: int) -> list[dict[str, Any]]:
        points = [self.opt.ask()] if n == 1 else self.opt.ask(n_points=n)
        return [dict(zip(self.names, (_py(v) for v in x), strict=True)) for x in points]

    def tell(self, configs: list[dict[str, Any]], values: list[float]) -> None:
        self.opt.tell([[c[n] for n in self.names] for c in configs], [float(v) for v in values])


def _py(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


class Smac:
    """SMAC3's hyperparameter-optimization facade (random forest, its defaults)."""

    def __init__(self, problem: Problem, seed: int, budget: int) -> None:
        from ConfigSpace import Categorical, ConfigurationSpace, Float, Integer
        from smac import HyperparameterOptimizationFacade, Scenario

        cs = ConfigurationSpace(seed=seed)
        for p in problem.params:
            if p.kind == "cat":
                cs.add(Categorical(p.name, list(p.choices)))
            elif p.kind == "int":
                cs.add(Integer(p.name, (int(p.low), int(p.high)), log=p.log))
            else:
                cs.add(Float(p.name, (p.low, p.high), log=p.log))
        self.cs = cs
        self.tmp = tempfile.TemporaryDirectory()
        scenario = Scenario(
            cs, deterministic=True, n_trials=budget + 1000, seed=seed,
            output_directory=self.tmp.name,
        )  # fmt: skip
        self.smac = HyperparameterOptimizationFacade(
            scenario, lambda config, seed=0: 0.0, overwrite=True, logging_level=40
        )
        self.pending: list[Any] = []

    def ask(self, n: int) -> list[dict[str, Any]]:
        infos = [self.smac.ask() for _ in range(n)]
        self.pending.extend(infos)
        return [{k: _py(v) for k, v in dict(i.config).items()} for i in infos]

    def tell(self, configs: list[dict[str, Any]], values: list[float]) -> None:
        from ConfigSpace import Configuration
        from smac.runhistory import TrialInfo, TrialValue

        for config, value in zip(configs, values, strict=True):
            info = next((i for i in self.pending if dict(i.config) == config), None)
            if info is None:  # an injected observation (latency measurement)
                info = TrialInfo(Configuration(self.cs, values=config), seed=0)
            else:
                self.pending.remove(info)
            self.smac.tell(info, TrialValue(cost=float(value)))


class Hebo:
    """HEBO 0.3.6 with its defaults."""

    def __init__(self, problem: Problem, seed: int) -> None:
        import torch
        from pymoo.config import Config

        Config.warnings["not_compiled"] = False  # pymoo prints it to stdout otherwise
        from hebo.design_space.design_space import DesignSpace
        from hebo.optimizers.hebo import HEBO

        torch.set_num_threads(1)
        torch.manual_seed(seed)
        np.random.seed(seed)
        spec = []
        for p in problem.params:
            if p.kind == "cat":
                spec.append({"name": p.name, "type": "cat", "categories": list(p.choices)})
            elif p.kind == "int":
                kind = "pow_int" if p.log else "int"
                spec.append({"name": p.name, "type": kind, "lb": int(p.low), "ub": int(p.high)})
            else:
                kind = "pow" if p.log else "num"
                spec.append({"name": p.name, "type": kind, "lb": p.low, "ub": p.high})
        self.problem = problem
        self.opt = HEBO(DesignSpace().parse(spec), scramble_seed=seed)

    def ask(self, n: int) -> list[dict[str, Any]]:
        frame = self.opt.suggest(n_suggestions=n)
        out = []
        for row in frame.to_dict("records"):
            config = {}
            for p in self.problem.params:
                v = _py(row[p.name])
                config[p.name] = int(v) if p.kind == "int" else v
            out.append(config)
        return out

    def tell(self, configs: list[dict[str, Any]], values: list[float]) -> None:
        import pandas as pd

        frame = pd.DataFrame(configs)[[p.name for p in self.problem.params]]
        self.opt.observe(frame, np.asarray(values, dtype=float).reshape(-1, 1))


FACTORIES: dict[str, Callable[[Problem, int, int], Optimizer]] = {
    "tunelab": lambda p, s, b: Tunelab(p, s),
    "random": lambda p, s, b: RandomSearch(p, s),
    "optuna-tpe": lambda p, s, b: OptunaSampler(p, s, "tpe"),
    "optuna-tpe-indep": lambda p, s, b: OptunaSampler(p, s, "tpe-independent"),
    "optuna-gp": lambda p, s, b: OptunaSampler(p, s, "gp"),
    "hyperopt": lambda p, s, b: Hyperopt(p, s),
    "skopt-gp": lambda p, s, b: Skopt(p, s),
    "smac3": lambda p, s, b: Smac(p, s, b),
    "hebo": lambda p, s, b: Hebo(p, s),
}
