"""A Gaussian process over configuration and resource for model-based Hyperband
(MOBSTER-style sampling, Klein et al., 2020).

Every finite value a job reported at a rung (and at ``MaxResource``) is one
observation of f(x, r): the configuration's unit-cube point x and the resource
coordinate ``log(r / MinResource) / log(MaxResource / MinResource)``. The GP is the
Bayesian strategy's (:mod:`tunelab.strategies.bayesian`: Matérn-5/2 ARD with MAP
hyperparameters, robust output transform) on those d + 1 features, so it learns how
much the early rungs say about the later ones (the lengthscale of the resource
coordinate) instead of trusting one level. It is fitted on the acquisition level
(below), the levels above it, and the levels below it down to the first one whose values
rank the jobs otherwise (:func:`lowest_fitted_level`). A kernel stationary in the
resource carries the low levels' ranking up to the acquisition level, so where early
reports mislead among the good configurations, a model fitted on every level steers
towards the early leaders (on the XGBoost benchmark, among configurations with a good
learning rate, larger steps win the first rounds and a small ``min_child_weight`` the
last; the third round ranks the final values there at a rank correlation of 0.64).
Where they rank alike, the low levels stay in.

An integer range of at most ``SAME_VALUE_LIMIT`` values also enters the kernel a
second time, as a categorical feature of its exact value (Hamming distance, a
lengthscale of its own): what a job reports may hang on the exact integer, not only on
where it lies in the range (a network's width changes its random initialization:
on the MLP benchmark, widths 121 to 128 at the same other settings end at log-losses
from 0.060 to 0.097, while the continuous settings move them smoothly). The fit learns
how much of a value is specific to the exact integer; the observations of one job at
several levels share it, so the model learns that before any value repeats. A
configuration whose integers are those of a good job then inherits that job's luck,
and half the local candidates keep their anchor's integer values exactly.

A new configuration maximizes log expected improvement at the *acquisition level*:
the highest level with at least :func:`min_points` observations (MOBSTER's and BOHB's
rule), below the best value observed there, of the value a job would report there
(the latent function plus the fitted noise, see :meth:`ResourceGP.score`). Jobs that
have not reached that level yet (suggested and not reporting, or running below it)
enter as kriging-believer fantasies at it, and so does each configuration chosen
earlier in the same batch, so parallel suggestions spread out (a fantasy leaves only
the noise's share of the improvement at its point). Candidates are uniform draws
plus perturbations of the best configurations at the level (of every coordinate, or,
for half of them when the space has integer ranges, of the continuous and categorical
ones only).

Hyperparameters are refitted only when the data grew by ``REFIT_GROWTH`` since the
last fit or shrank (levels left out), warm-started from the last ones, on at most
``FIT_MAX`` points; :class:`GpSampler` keeps them and the pending suggestions in the
strategy's state, so a restored strategy proposes exactly the same. Pure numpy/scipy;
randomness only from the generator passed in.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import rankdata

from tunelab.domain.enums import ObjectiveType, ScalingType
from tunelab.domain.search_space import (
    CategoricalRange,
    ContinuousRange,
    IntegerRange,
    SearchSpace,
)
from tunelab.strategies.bayesian import gp
from tunelab.strategies.bayesian.acquisition import log_ei
from tunelab.strategies.bayesian.encoding import SpaceEncoder
from tunelab.strategies.bayesian.transform import OutputTransform
from tunelab.strategies.hyperband_rungs import Observation

RESOURCE = "__resource__"
FIT_MAX = 96
"""Hyperparameters are fitted on at most this many observations (the best third and
an even spread of the others); the posterior uses every one."""
FIT_ITERATIONS = 60
SMALL_FIT = 64
"""Up to this many observations a refit also restarts from the default hyperparameters."""
REFIT_GROWTH = 1.2
UNIFORM, LOCAL, ANCHORS = 512, 48, 6
LOCAL_STEPS = (0.02, 0.06, 0.15)
SAME_POINT = 1e-6
"""A reporting job is a pending suggestion when their points differ by less (values
may have gone through their text form)."""
PENDING_LIMIT = 64
"""Pending suggestions kept at most (the oldest go first: they never started)."""
SAME_VALUE_LIMIT = 10_000
"""An integer range of at most this many values gets a same-value feature (the model
lists the range's values)."""
KEEP_INTEGERS = 0.5
"""Share of the local candidates that keep their anchor's integer values."""
MIN_RANK_CORRELATION = 0.3
MIN_PAIRS = 5
"""A level below the acquisition level is fitted on while the jobs that reached both
rank alike there (see :func:`lowest_fitted_level`)."""


def min_points(space: SearchSpace) -> int:
    """Observations a level needs to be the acquisition level (and the model to start)."""
    return max(5, space.dimension + 2)


def lowest_fitted_level(data: Sequence[Observation], level: int) -> int:
    """The lowest level whose values the model of acquisition level ``level`` is fitted
    on. Levels below ``level`` are taken from the top down while the values there of
    the jobs that also reached ``level`` (at least ``MIN_PAIRS`` of them) rank like their
    values at ``level``: Spearman correlation at least ``MIN_RANK_CORRELATION``; the
    first level that ranks them worse, and every level below it, is left out. Pure."""
    at_level = {o.point: o.value for o in data if o.level == level}
    lowest = level
    for lower in sorted({o.level for o in data if o.level < level}, reverse=True):
        shared = [o for o in data if o.level == lower and o.point in at_level]
        there, later = [o.value for o in shared], [at_level[o.point] for o in shared]
        if len(shared) >= MIN_PAIRS and rank_correlation(there, later) < MIN_RANK_CORRELATION:
            break
        lowest = lower
    return lowest


def same_value_ranges(space: SearchSpace) -> list[tuple[int, IntegerRange]]:
    """The integer ranges that get a same-value feature (at most ``SAME_VALUE_LIMIT``
    values), with their index in the space. Pure."""
    return [
        (j, r)
        for j, r in enumerate(space.ranges)
        if isinstance(r, IntegerRange) and r.cardinality <= SAME_VALUE_LIMIT
    ]


@functools.lru_cache(maxsize=64)
def _same_value_feature(integers: IntegerRange) -> CategoricalRange:
    """The categorical range of ``integers``' values (made once per range: a model is
    built for every batch of suggestions, and the range may list 10,000 values; bounded,
    as a server sees the ranges of every tuning job it ever ran)."""
    values = tuple(str(v) for v in integers.values())
    return CategoricalRange(f"__same_{integers.name}__", values)


def rank_correlation(a: Sequence[float], b: Sequence[float]) -> float:
    """Spearman's rank correlation of two equally long sequences (average ranks for
    ties; 0 when either is constant). Pure."""
    ra, rb = rankdata(a), rankdata(b)
    if np.ptp(ra) == 0 or np.ptp(rb) == 0:
        return 0.0
    return float(np.corrcoef(ra, rb)[0, 1])


@dataclass(frozen=True)
class GpFit:
    """Fitted hyperparameters and how many observations they were fitted on."""

    theta: tuple[float, ...]
    observations: int


class ResourceGP:
    """The model of one definition (see the module doc). ``data`` needs at least
    :func:`min_points` finite values."""

    def __init__(
        self,
        space: SearchSpace,
        resources: tuple[int, int],
        data: Sequence[Observation],
        objective_type: ObjectiveType,
        fit: GpFit | None,
    ) -> None:
        data = [o for o in data if math.isfinite(o.value)]
        if len(data) < min_points(space):
            raise ValueError("the resource GP needs more finite observations")
        self.space = space
        self._low, self._high = resources
        self._same = same_value_ranges(space)
        extended = (
            *space.ranges,
            ContinuousRange(RESOURCE, 0.0, 1.0, ScalingType.LINEAR),
            *(_same_value_feature(integers) for _, integers in self._same),
        )
        self.enc = SpaceEncoder(SearchSpace(extended))
        levels = np.array([o.level for o in data])
        counts = dict(zip(*np.unique(levels, return_counts=True), strict=True))
        enough = [int(level) for level, n in counts.items() if n >= min_points(space)]
        self.level = max(enough) if enough else int(levels.max())
        self.lowest = lowest_fitted_level(data, self.level)
        """The lowest level of the observations the model is fitted on."""
        data = [o for o in data if o.level >= self.lowest]
        levels = np.array([o.level for o in data])
        sign = -1.0 if objective_type is ObjectiveType.MAXIMIZE else 1.0
        raw = np.array([sign * o.value for o in data])
        y = OutputTransform(raw).forward(raw)
        x = self._features(np.array([o.point for o in data]), levels)
        at_level = levels == self.level
        order = np.flatnonzero(at_level)[np.argsort(y[at_level], kind="stable")]
        self.anchors = np.array([data[i].point for i in order[:ANCHORS]])
        self.incumbent = float(y[order[0]])
        default = gp.default_theta(self.enc)
        stale = fit is None or len(fit.theta) != len(default)
        if stale or not fit.observations <= len(y) < REFIT_GROWTH * fit.observations:
            fit = GpFit(tuple(float(t) for t in self._fit(x, y, fit, default)), len(y))
        self.fit = fit
        self.posterior = gp.Posterior(self.enc, np.array(fit.theta), x, y, float(y.mean()))

    def _features(self, points: np.ndarray, levels: np.ndarray) -> np.ndarray:
        span = math.log(self._high / self._low) or 1.0
        r = np.log(np.asarray(levels, dtype=float) / self._low) / span
        points = np.asarray(points, dtype=float)
        columns = [points, r[:, None]]
        for j, integers in self._same:
            index = [integers.decode(float(u)) - integers.min_value for u in points[:, j]]
            columns.append(((np.array(index) + 0.5) / integers.cardinality)[:, None])
        return self.enc.from_unit(np.hstack(columns))

    def _fit(
        self, x: np.ndarray, y: np.ndarray, last: GpFit | None, default: np.ndarray
    ) -> np.ndarray:
        keep = gp.fit_subset(y, FIT_MAX)
        x, y = x[keep], y[keep]
        starts = [default]
        if last is not None and len(last.theta) == len(default):
            starts = [np.array(last.theta)] + ([default] if len(y) <= SMALL_FIT else [])
        return gp.fit(self.enc, x, y - y.mean(), starts, FIT_ITERATIONS)

    def pending(self, point: Sequence[float]) -> None:
        """Condition on ``point`` at the acquisition level at its predicted mean (a job
        in flight or chosen earlier in the batch)."""
        x = self._features(np.array([point]), np.array([self.level]))[0]
        mean = float(self.posterior.predict(x[None, :])[0][0])
        self.posterior.condition(x, mean)
        self.incumbent = min(self.incumbent, mean)

    def score(self, candidates: np.ndarray) -> np.ndarray:
        """log EI at the acquisition level of each unit-cube row, of the value a job
        there would *report* (latent variance plus the fitted noise): higher is better.
        What counts is the best reported value, and where values are rugged in the
        configuration (the GP calls that noise) the best one is a lucky draw far below
        the posterior mean; EI of the latent mean alone is then tiny near every good
        configuration and sends the search wherever the model is unsure."""
        x = self._features(candidates, np.full(len(candidates), self.level))
        mu, var = self.posterior.predict(x)
        return log_ei(mu, var + self.posterior.noise, self.incumbent)[0]

    def candidates(self, rng: np.random.Generator) -> np.ndarray:
        """Unit-cube rows to score: uniform draws and local steps around the best
        (a ``KEEP_INTEGERS`` share of them keeping the anchor's integer values)."""
        uniform = rng.random((UNIFORM, self.space.dimension))
        anchors = np.repeat(self.anchors, LOCAL, axis=0)
        steps = np.asarray(LOCAL_STEPS)[rng.integers(len(LOCAL_STEPS), size=len(anchors))]
        local = anchors + rng.normal(size=anchors.shape) * steps[:, None]
        integers = [j for j, r in enumerate(self.space.ranges) if isinstance(r, IntegerRange)]
        if integers:  # (no draw otherwise: spaces without integers propose as before)
            keep = np.flatnonzero(rng.random(len(local)) < KEEP_INTEGERS)
            local[np.ix_(keep, integers)] = anchors[np.ix_(keep, integers)]
        return np.vstack([uniform, np.clip(local, 0.0, 1.0)])


Evidence = Callable[[int], tuple[list[Observation], list[tuple[list[float], int]]]]
"""definition index -> (its observations, (point, highest level reached) of each job
still running)."""


class GpSampler:
    """The ``gp`` sampler's memory: each definition's last :class:`GpFit` and the
    suggestions whose job has not reported yet; models are built per batch."""

    def __init__(self, objective_type: ObjectiveType, resources: tuple[int, int]) -> None:
        self._objective, self._resources = objective_type, resources
        self.fits: dict[int, GpFit] = {}
        self.pending: list[tuple[int, list[float]]] = []
        self._models: dict[int, ResourceGP | None] = {}

    def begin_batch(self) -> None:
        """Forget the models of the last batch (the data changed since)."""
        self._models = {}

    def model(self, index: int, space: SearchSpace, evidence: Evidence) -> ResourceGP | None:
        """The batch's model of definition ``index`` with every job in flight as a
        fantasy, or None while it has fewer than :func:`min_points` finite values."""
        if index not in self._models:
            data, running = evidence(index)
            if sum(math.isfinite(o.value) for o in data) < min_points(space):
                self._models[index] = None
                return None
            model = ResourceGP(space, self._resources, data, self._objective, self.fits.get(index))
            self.fits[index] = model.fit
            for point, level in running:
                if level < model.level:
                    model.pending(point)
            for i, point in self.pending:
                if i == index:
                    model.pending(point)
            self._models[index] = model
        return self._models[index]

    def chosen(self, index: int, point: Sequence[float]) -> None:
        """A configuration was suggested: pending until its job reports."""
        self.pending.append((index, [float(u) for u in point]))
        del self.pending[:-PENDING_LIMIT]
        model = self._models.get(index)
        if model is not None:
            model.pending(point)

    def started(self, index: int, point: Sequence[float]) -> None:
        """A job of ``point`` reported or ended: it is no longer pending."""
        for k, (i, p) in enumerate(self.pending):
            gap = max((abs(a - b) for a, b in zip(p, point, strict=True)), default=0.0)
            if i == index and gap < SAME_POINT:
                del self.pending[k]
                return

    def to_json(self, names: Sequence[str | None]) -> dict[str, Any]:
        return {
            "fits": [
                {"definition": names[i], "theta": list(f.theta), "observations": f.observations}
                for i, f in self.fits.items()
            ],
            "pending": [[names[i], point] for i, point in self.pending],
        }

    def load(self, data: Mapping[str, Any], index: Mapping[str | None, int]) -> None:
        """Restore :meth:`to_json`'s output (KeyError for an unknown definition)."""
        for entry in data["fits"]:
            theta = tuple(float(t) for t in entry["theta"])
            self.fits[index[entry["definition"]]] = GpFit(theta, int(entry["observations"]))
        self.pending = [(index[n], [float(u) for u in point]) for n, point in data["pending"]]
