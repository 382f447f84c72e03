"""One definition's part of the Bayesian strategy: its initial design, its GP fitted to
its results (failures imputed at the worst value, jobs in flight as fantasies), and
the search for its best next configuration."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import qmc

from tunelab.domain.search_space import ParamValue, SearchSpace
from tunelab.strategies.bayesian import gp
from tunelab.strategies.bayesian.acquisition import expected_improvement_raw
from tunelab.strategies.bayesian.encoding import Config, SpaceEncoder
from tunelab.strategies.bayesian.history import DefinitionHistory
from tunelab.strategies.bayesian.optimize import maximize
from tunelab.strategies.bayesian.transform import OutputTransform

POOL_LIMIT = 2048
"""Discrete spaces with at most this many configurations are searched exhaustively."""
FIT_FROM, FIT_MAX = 200, 96
"""With more than FIT_FROM points, hyperparameters are fitted on FIT_MAX of them (the
best third and an even spread of the others); the posterior always uses every point."""
SMALL_FIT = 64
"""Up to this many points, a fit also restarts from the default hyperparameters."""
MAX_SOBOL_TRIES = 64
INITIAL_MIN, INITIAL_MAX = 5, 10


def initial_points(dimension: int) -> int:
    """Size of a definition's Sobol initial design."""
    return min(max(2 * dimension, INITIAL_MIN), INITIAL_MAX)


@dataclass(frozen=True)
class Targets:
    """The output transform shared by every definition and the values it maps."""

    transform: OutputTransform
    sign: float
    """+1 minimize, -1 maximize: internal values are ``sign * value``, minimized."""
    best: float
    """Incumbent in model units."""
    worst: float
    """Worst finite value in model units (imputed for failures)."""
    best_raw: float
    """Incumbent in internal (sign-adjusted objective) units."""


class DefinitionModel:
    def __init__(
        self, space: SearchSpace, sobol_seed: int, sobol_position: int, theta: np.ndarray | None
    ) -> None:
        self.enc = SpaceEncoder(space)
        self.space = space
        self.sobol_seed, self.sobol_position, self.theta = sobol_seed, sobol_position, theta
        self._sobol: np.ndarray | None = None
        self._grid: list[Config] | None = None
        self.posterior: gp.Posterior | None = None
        self.fantasy_best = math.inf
        self.mean_best = math.inf
        self._anchors = np.empty((0, space.dimension))

    def key(self, params: dict[str, ParamValue]) -> Config:
        return self.enc.key(params)

    def _in_space(self, config: Config) -> bool:
        return self.space.contains(dict(zip(self.space.names, config, strict=True)))

    def exhausted(self, history: DefinitionHistory) -> bool:
        cardinality = self.space.cardinality
        if cardinality is None:
            return False
        return sum(self._in_space(c) for c in history.used()) >= cardinality

    def model_ready(self, history: DefinitionHistory) -> bool:
        observed = [v for c, v in history.observations if self._in_space(c)]
        finite = sum(v is not None for v in observed)
        total = len(observed) + len(history.in_flight())
        return (
            self.space.dimension > 0
            and total >= initial_points(self.space.dimension)
            and (finite >= 2)
        )

    # -- initial design -----------------------------------------------------------------

    def _sobol_point(self, index: int) -> np.ndarray:
        if self._sobol is None or index >= len(self._sobol):
            m = max(6, math.ceil(math.log2(index + 1)) + 1)
            sobol = qmc.Sobol(self.space.dimension, scramble=True, seed=self.sobol_seed)
            self._sobol = sobol.random_base2(m)
        return self._sobol[index]

    def initial(
        self, history: DefinitionHistory, rng: np.random.Generator
    ) -> dict[str, ParamValue] | None:
        """The next unused point of the Sobol sequence; a random unused configuration
        when the sequence keeps hitting used ones; None when none is left."""
        used = history.used()
        if self.space.dimension == 0:
            return {} if () not in used else None
        for _ in range(MAX_SOBOL_TRIES):
            u = self._sobol_point(self.sobol_position)
            self.sobol_position += 1
            params = self.enc.params(self.enc.from_unit(u[None, :])[0])
            if self.key(params) not in used:
                return params
        unused = self._unused_pool(used)
        if unused is not None:
            if len(unused) == 0:
                return None
            return self.enc.params(unused[int(rng.integers(len(unused)))])
        for _ in range(256):
            params = self.space.decode(rng.random(self.space.dimension))
            if self.key(params) not in used:
                return params
        return None

    def _unused_pool(self, used: set[Config]) -> np.ndarray | None:
        """Features of every unused configuration of a small discrete space."""
        cardinality = self.space.cardinality
        if cardinality is None or cardinality > POOL_LIMIT:
            return None
        if self._grid is None:
            self._grid = [self.key(p) for p in self.space.grid()]
        rows = [
            self.enc.features(dict(zip(self.space.names, c, strict=True)))
            for c in self._grid
            if c not in used
        ]
        return np.array(rows).reshape(len(rows), self.space.dimension)

    # -- the model --------------------------------------------------------------------------

    def _data(self, history: DefinitionHistory, targets: Targets) -> tuple[np.ndarray, ...]:
        xs, raw = [], []
        for config, value in history.observations:
            x = self.enc.features(dict(zip(self.space.names, config, strict=True)))
            if x is not None:
                xs.append(x)
                raw.append(np.nan if value is None else targets.sign * value)
        values = np.array(raw, dtype=float)
        finite = np.isfinite(values)
        y = np.full(len(values), targets.worst)
        y[finite] = targets.transform.forward(values[finite])
        return np.array(xs).reshape(len(xs), self.space.dimension), y, finite

    def _fit(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        if len(y) > FIT_FROM:
            keep = gp.fit_subset(y, FIT_MAX)
            x, y = x[keep], y[keep]
        default = gp.default_theta(self.enc)
        starts = []
        if self.theta is not None and len(self.theta) == len(default):
            starts.append(self.theta)
        if not starts or len(y) <= SMALL_FIT:
            starts.append(default)
        iterations = 200 if len(y) <= SMALL_FIT else 25
        return gp.fit(self.enc, x, y - y.mean(), starts, iterations)

    def _posterior(
        self, history: DefinitionHistory, targets: Targets
    ) -> tuple[gp.Posterior, np.ndarray]:
        x, y, finite = self._data(history, targets)
        theta = self._fit(x, y)
        posterior = gp.Posterior(self.enc, theta, x, y, float(y.mean()))
        good = np.flatnonzero(finite)
        anchors = x[good[np.argsort(y[good], kind="stable")]]
        return posterior, anchors

    def prepare(self, history: DefinitionHistory, targets: Targets) -> None:
        """Fit the GP (stores the hyperparameters), note the lowest posterior mean at a
        finite result (``mean_best``) and add the jobs in flight as kriging-believer
        fantasies."""
        self.posterior, self._anchors = self._posterior(history, targets)
        self.theta = self.posterior.theta
        self.mean_best = float(self.posterior.predict(self._anchors)[0].min())
        self.fantasy_best = math.inf
        for config in history.in_flight():
            x = self.enc.features(dict(zip(self.space.names, config, strict=True)))
            if x is not None:
                self._add_fantasy(x)

    def _add_fantasy(self, x: np.ndarray) -> None:
        assert self.posterior is not None
        mean = float(self.posterior.predict(x[None, :])[0][0])
        self.posterior.condition(x, mean)
        self.fantasy_best = min(self.fantasy_best, mean)

    def add_fantasy(self, params: dict[str, ParamValue]) -> None:
        x = self.enc.features(params)
        assert x is not None
        self._add_fantasy(x)

    def propose(
        self, history: DefinitionHistory, incumbent: float, rng: np.random.Generator
    ) -> tuple[float, dict[str, ParamValue]] | None:
        """The unused configuration of highest augmented log-EI below ``incumbent``
        (lowered to the best fantasy) and that value (after :meth:`prepare`), or None
        when every configuration is used."""
        assert self.posterior is not None
        used = history.used()
        found = maximize(
            self.posterior,
            min(incumbent, self.fantasy_best),
            self._anchors,
            rng,
            lambda x: self.key(self.enc.params(x)) in used,
            self._unused_pool(used),
        )
        if found is None:
            return None
        return found[1], self.enc.params(found[0])

    def expected_gain(
        self, history: DefinitionHistory, targets: Targets, rng: np.random.Generator
    ) -> float:
        """The largest expected improvement over the incumbent in objective units,
        ignoring jobs in flight; changes nothing (the fit starts from the stored
        hyperparameters and is not kept)."""
        posterior, anchors = self._posterior(history, targets)
        found = maximize(posterior, targets.best, anchors, rng, lambda x: False)
        if found is None:
            return 0.0
        mu, var = posterior.predict(found[0][None, :])
        return expected_improvement_raw(
            float(mu[0]), float(var[0]), targets.transform.inverse, targets.best_raw
        )


__all__ = ["DefinitionModel", "Targets", "initial_points"]
