"""Acquisition maximization over a mixed space (continuous, integer, categorical).

1. Candidates: a scrambled Sobol set over the whole space, plus perturbations of the
   best observed points (small and medium steps on a few numeric coordinates, the odd
   categorical flip), or, for a small discrete space, every configuration not used yet.
2. The best few distinct candidates are refined together by L-BFGS-B on their numeric
   coordinates (integers relaxed), with the analytic gradient of the acquisition (augmented
   log-EI, :func:`.acquisition.log_aei`); then snapped to
   representable values and swept once over each categorical's values and each integer's
   neighbouring values.
   The sweep of integers tries every value of a range with few values.
3. The best-scoring candidate whose configuration is not used yet (finished, running or
   pending) wins: the optimizer never proposes a duplicate.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import optimize
from scipy.stats import qmc

from tunelab.strategies.bayesian.acquisition import log_aei
from tunelab.strategies.bayesian.encoding import SpaceEncoder
from tunelab.strategies.bayesian.gp import Posterior

N_SOBOL_LOG2 = 10
N_SOBOL_LOG2_LARGE = 8
"""Fewer random candidates once the model has more than LARGE points (scoring costs n^2)."""
LARGE = 200
N_LOCAL = 64
"""Perturbations per anchor."""
N_ANCHORS = 5
N_REFINE = 5
LOCAL_STEPS = (0.02, 0.08, 0.2)
REFINE_ITERATIONS = 30
SWEEP_ALL = 32


def acquisition(model: Posterior, best: float, x: np.ndarray) -> np.ndarray:
    mu, var = model.predict(x)
    return log_aei(mu, var, best, model.noise)[0]


def _local(enc: SpaceEncoder, anchors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    numeric = enc.numeric
    cats = np.flatnonzero(enc.is_cat)
    out = []
    for anchor in anchors:
        x = np.repeat(anchor[None, :], N_LOCAL, axis=0)
        if len(numeric):
            steps = np.asarray(LOCAL_STEPS)[rng.integers(len(LOCAL_STEPS), size=N_LOCAL)]
            chosen = rng.random((N_LOCAL, len(numeric))) < min(1.0, 2.0 / len(numeric))
            chosen[np.arange(N_LOCAL), rng.integers(len(numeric), size=N_LOCAL)] = True
            # an integer moves by at least about one value
            widths = np.where(
                enc.n_values[numeric] > 0, 1.0 / np.maximum(enc.n_values[numeric], 1), 0
            )
            noise = rng.normal(size=(N_LOCAL, len(numeric))) * np.maximum(steps[:, None], widths)
            x[:, numeric] += np.where(chosen, noise, 0.0)
        for i in cats:
            flip = rng.random(N_LOCAL) < 1.0 / (len(cats) + len(numeric))
            x[flip, i] = rng.integers(int(enc.n_values[i]), size=int(flip.sum()))
        out.append(x)
    return enc.snap(np.vstack(out)) if out else np.empty((0, enc.dimension))


def _refine(model: Posterior, best: float, starts: np.ndarray) -> np.ndarray:
    """L-BFGS-B on the numeric coordinates of all starts at once (their log-EIs are
    independent, so the sum's gradient is each one's gradient)."""
    enc = model.enc
    numeric = enc.numeric
    if len(numeric) == 0 or len(starts) == 0:
        return starts

    def objective(flat: np.ndarray) -> tuple[float, np.ndarray]:
        x = starts.copy()
        x[:, numeric] = flat.reshape(len(starts), len(numeric))
        mu, var, dmu, dvar = model.predict_grad(x)
        value, d_mu, d_var = log_aei(mu, var, best, model.noise)
        grad = dmu * d_mu[:, None] + dvar * d_var[:, None]
        return -float(value.sum()), -grad[:, numeric].ravel()

    iterations = REFINE_ITERATIONS if len(model.y) <= LARGE else REFINE_ITERATIONS // 2
    result = optimize.minimize(
        objective, starts[:, numeric].ravel(), jac=True, method="L-BFGS-B",
        bounds=[(0.0, 1.0)] * (len(starts) * len(numeric)),
        options={"maxiter": iterations},
    )  # fmt: skip
    refined = starts.copy()
    refined[:, numeric] = np.clip(result.x.reshape(len(starts), len(numeric)), 0.0, 1.0)
    return enc.snap(refined)


def _sweep(enc: SpaceEncoder, points: np.ndarray) -> np.ndarray:
    """Each point with one categorical value changed, or one integer changed (to any
    value when it has at most SWEEP_ALL values, else to a neighbouring one)."""
    out = []
    for x in points:
        for i in range(enc.dimension):
            if enc.is_cat[i]:
                for v in range(int(enc.n_values[i])):
                    if v != x[i]:
                        y = x.copy()
                        y[i] = v
                        out.append(y)
            elif enc.is_int[i]:
                r = enc.space.ranges[i]
                value = int(r.decode(float(x[i])))
                near = range(value - 1, value + 2) if enc.n_values[i] > SWEEP_ALL else r.values()
                for v in near:
                    if v != value and r.contains(v):
                        y = x.copy()
                        y[i] = r.encode(v)
                        out.append(y)
    return enc.snap(np.array(out)) if out else np.empty((0, enc.dimension))


def maximize(
    model: Posterior,
    best: float,
    anchors: np.ndarray,
    rng: np.random.Generator,
    is_used: Callable[[np.ndarray], bool],
    pool: np.ndarray | None = None,
) -> tuple[np.ndarray, float] | None:
    """The unused feature vector of highest augmented log-EI below ``best`` and that, or
    None when every candidate is used. ``pool`` replaces the random candidates (the
    unused configurations of a small discrete space)."""
    enc = model.enc
    if pool is not None:
        candidates = pool
    else:
        sobol = qmc.Sobol(enc.dimension, scramble=True, seed=int(rng.integers(2**32)))
        m = N_SOBOL_LOG2 if len(model.y) <= LARGE else N_SOBOL_LOG2_LARGE
        globals_ = enc.from_unit(sobol.random_base2(m))
        candidates = np.vstack([globals_, _local(enc, anchors[:N_ANCHORS], rng)])
    if len(candidates) == 0:
        return None
    scores = acquisition(model, best, candidates)
    order = np.argsort(-scores, kind="stable")
    if pool is None:
        starts, seen = [], set()
        for index in order:
            k = candidates[index].tobytes()
            if k not in seen:
                seen.add(k)
                starts.append(candidates[index])
            if len(starts) == N_REFINE:
                break
        refined = _refine(model, best, np.array(starts))
        extra = np.vstack([refined, _sweep(enc, refined)])
        candidates = np.vstack([extra, candidates])
        scores = np.concatenate([acquisition(model, best, extra), scores])
        order = np.argsort(-scores, kind="stable")
    for index in order:
        if np.isfinite(scores[index]) and not is_used(candidates[index]):
            return candidates[index], float(scores[index])
    return None
