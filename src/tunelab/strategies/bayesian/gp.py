"""Gaussian process regression with a Matérn-5/2 ARD kernel on model features.

Numeric features (unit-cube coordinates, warped for Auto ranges, see
:mod:`.encoding`) enter the kernel through their scaled difference; categorical
features through their Hamming distance (0 for the same value, 1 otherwise), each with
its own lengthscale. Hyperparameters ``theta`` = (log lengthscales, log signal variance,
log noise variance, warp exponents) are fitted by MAP with L-BFGS-B and analytic
gradients (:func:`fit`); :class:`Posterior` predicts the latent function and its input
gradient, and conditions on pending points cheaply (block inverse, O(n^2)).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import linalg, optimize

from tunelab.strategies.bayesian.encoding import SpaceEncoder, warp

SQRT5 = math.sqrt(5.0)
JITTER = 1e-8
LOG_LS_BOUNDS = (math.log(0.01), math.log(30.0))
LOG_SIGNAL_BOUNDS = (math.log(0.01), math.log(30.0))
LOG_NOISE_BOUNDS = (math.log(1e-6), math.log(2.0))
WARP_BOUNDS = (0.01, 1.0)
LOG_SIGNAL_PRIOR = (0.0, 1.5)
LS_PRIOR_SCALE = 0.7
LS_PRIOR_SD = 1.0
LOG_NOISE_PRIOR = (math.log(1e-4), 3.0)


def lengthscale_prior(dimension: int) -> tuple[float, float]:
    """Mean and sd of the log-normal lengthscale prior: median 0.7 * sqrt(d), wide
    (longer lengthscales in more dimensions keep high-dimensional models smooth)."""
    return math.log(LS_PRIOR_SCALE * math.sqrt(max(dimension, 1))), LS_PRIOR_SD


def fit_subset(y: np.ndarray, size: int) -> np.ndarray:
    """Indexes (sorted) of at most ``size`` points to fit hyperparameters on: the best
    third by ``y`` (lower is better) and an even spread of the rest. Pure."""
    if len(y) <= size:
        return np.arange(len(y))
    order = np.argsort(y, kind="stable")
    top = order[: size // 3]
    rest = np.setdiff1d(np.arange(len(y)), top)
    spread = rest[np.linspace(0, len(rest) - 1, size - len(top)).astype(int)]
    return np.sort(np.concatenate([top, spread]))


def default_theta(encoder: SpaceEncoder) -> np.ndarray:
    mu, _ = lengthscale_prior(encoder.dimension)
    ls = np.full(encoder.dimension, mu)
    return np.concatenate([ls, [0.0, math.log(1e-3)], np.full(len(encoder.warped), 0.5)])


def bounds(encoder: SpaceEncoder) -> list[tuple[float, float]]:
    d, w = encoder.dimension, len(encoder.warped)
    return [LOG_LS_BOUNDS] * d + [LOG_SIGNAL_BOUNDS, LOG_NOISE_BOUNDS] + [WARP_BOUNDS] * w


def _inputs(enc: SpaceEncoder, x: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, ...]:
    """Warped numeric columns ``w``, ``dw/du`` and ``dw/ds`` (zero where not warped)."""
    w = np.array(x, dtype=float, copy=True)
    dw_du = np.ones_like(w)
    dw_ds = np.zeros_like(w)
    for j, i in enumerate(enc.warped):
        w[:, i], dw_du[:, i], dw_ds[:, i] = warp(x[:, i], float(s[j]), enc.log_ratio[i])
    return w, dw_du, dw_ds


def _scaled(enc: SpaceEncoder, w: np.ndarray, ls: np.ndarray) -> np.ndarray:
    """Numeric features whose squared euclidean distances are their share of the
    kernel's r^2."""
    return w[:, enc.numeric] / ls[enc.numeric]


def _r2(
    enc: SpaceEncoder,
    za: np.ndarray,
    zb: np.ndarray,
    wa: np.ndarray,
    wb: np.ndarray,
    ls: np.ndarray,
) -> np.ndarray:
    """The kernel's r^2 between rows ``a`` and ``b`` (``z``: :func:`_scaled`, ``w``: the
    inputs): the numeric features' scaled squared distance plus, for each categorical
    feature, ``1 / ls^2`` where the values differ (Hamming; its cost does not grow with
    the count of values)."""
    r2 = _sqdist(za, zb)
    for i in np.flatnonzero(enc.is_cat):
        r2 += (wa[:, i][:, None] != wb[:, i][None, :]) / ls[i] ** 2
    return r2


def _sqdist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.maximum(d, 0.0)


def _matern(r2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """k(r^2) and dk/d(r^2) for unit signal variance."""
    r = np.sqrt(r2)
    e = np.exp(-SQRT5 * r)
    return (1.0 + SQRT5 * r + (5.0 / 3.0) * r2) * e, -(5.0 / 6.0) * (1.0 + SQRT5 * r) * e


def _inverse(lower: np.ndarray) -> np.ndarray:
    """K^-1 from K's lower Cholesky factor (LAPACK potri), symmetrized."""
    inv, info = linalg.lapack.dpotri(lower, lower=1)
    if info != 0:
        raise linalg.LinAlgError("potri failed")
    return np.tril(inv) + np.tril(inv, -1).T


def neg_log_posterior(
    theta: np.ndarray, enc: SpaceEncoder, x: np.ndarray, y: np.ndarray
) -> tuple[float, np.ndarray]:
    """Negative log marginal likelihood minus log prior, and its gradient."""
    d, n = enc.dimension, len(y)
    ls = np.exp(theta[:d])
    signal, noise = math.exp(theta[d]), math.exp(theta[d + 1])
    w, _, dw_ds = _inputs(enc, x, theta[d + 2 :])
    z = _scaled(enc, w, ls)
    k, dk = _matern(_r2(enc, z, z, w, w, ls))
    kf = signal * k
    try:
        chol = linalg.cho_factor(kf + (noise + JITTER) * np.eye(n), lower=True)
    except linalg.LinAlgError:
        return 1e10, np.zeros_like(theta)
    alpha = linalg.cho_solve(chol, y)
    kinv = _inverse(chol[0])
    mll = -0.5 * y @ alpha - np.log(np.diag(chol[0])).sum() - 0.5 * n * math.log(2 * math.pi)
    wmat = np.outer(alpha, alpha) - kinv
    g = wmat * (signal * dk)
    g_rows = g.sum(1)
    grad = np.zeros_like(theta)
    num = enc.numeric
    wn = w[:, num]
    gw = g @ wn
    grad[num] = -2.0 * ((wn**2).T @ g_rows - (wn * gw).sum(0)) / ls[num] ** 2
    for i in np.flatnonzero(enc.is_cat):
        hamming = g[w[:, i][:, None] != w[:, i][None, :]].sum()
        grad[i] = -hamming / ls[i] ** 2
    grad[d] = 0.5 * (wmat * kf).sum()
    grad[d + 1] = 0.5 * noise * np.trace(wmat)
    for j, i in enumerate(enc.warped):
        col, dcol = w[:, i], dw_ds[:, i]
        grad[d + 2 + j] = 2.0 * ((col * dcol) @ g_rows - (g @ col) @ dcol) / ls[i] ** 2
    mu, sd = lengthscale_prior(d)
    log_prior = -0.5 * (((theta[:d] - mu) / sd) ** 2).sum()
    grad[:d] -= (theta[:d] - mu) / sd**2
    for index, (m, s) in ((d, LOG_SIGNAL_PRIOR), (d + 1, LOG_NOISE_PRIOR)):
        log_prior -= 0.5 * ((theta[index] - m) / s) ** 2
        grad[index] -= (theta[index] - m) / s**2
    return -(mll + log_prior), -grad


def fit(
    enc: SpaceEncoder, x: np.ndarray, y: np.ndarray, starts: list[np.ndarray], max_iter: int
) -> np.ndarray:
    """MAP hyperparameters from each start (L-BFGS-B); the best one wins."""
    best, best_value = starts[0], math.inf
    box = bounds(enc)
    for start in starts:
        start = np.clip(start, [b[0] for b in box], [b[1] for b in box])
        result = optimize.minimize(
            neg_log_posterior, start, args=(enc, x, y), jac=True, method="L-BFGS-B",
            bounds=box, options={"maxiter": max_iter},
        )  # fmt: skip
        if np.isfinite(result.fun) and result.fun < best_value:
            best, best_value = result.x, float(result.fun)
    return np.asarray(best, dtype=float)


class Posterior:
    """The GP conditioned on (x, y) with hyperparameters ``theta`` and constant mean
    ``mean``. ``condition`` adds points (pending jobs' fantasies) in O(n^2) each by
    extending the Cholesky factor."""

    def __init__(
        self, enc: SpaceEncoder, theta: np.ndarray, x: np.ndarray, y: np.ndarray, mean: float
    ) -> None:
        d = enc.dimension
        self.enc, self.theta, self.mean = enc, theta, mean
        self.ls = np.exp(theta[:d])
        self.signal, self.noise = math.exp(theta[d]), math.exp(theta[d + 1])
        self.s = theta[d + 2 :]
        self.x = np.array(x, dtype=float)
        self.y = np.array(y, dtype=float)
        self.w = _inputs(enc, self.x, self.s)[0]
        self.z = _scaled(enc, self.w, self.ls)
        k = self.signal * _matern(self._r2(self.z, self.w))[0]
        jitter = self.noise + JITTER
        while True:
            try:
                self.chol = linalg.cholesky(k + jitter * np.eye(len(self.y)), lower=True)
                break
            except linalg.LinAlgError:
                jitter *= 10
        self._solve_alpha()

    def _r2(self, z: np.ndarray, w: np.ndarray) -> np.ndarray:
        """r^2 from rows (scaled ``z``, inputs ``w``) to the conditioning points."""
        return _r2(self.enc, z, self.z, w, self.w, self.ls)

    def _solve_alpha(self) -> None:
        self.alpha = linalg.cho_solve((self.chol, True), self.y - self.mean)

    def _cross(self, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        ws, dws, _ = _inputs(self.enc, xs, self.s)
        k, dk = _matern(self._r2(_scaled(self.enc, ws, self.ls), ws))
        return self.signal * k, self.signal * dk, ws, dws

    def predict(self, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and variance of the latent function at each row of ``xs``."""
        ws = _inputs(self.enc, xs, self.s)[0]
        r = np.sqrt(self._r2(_scaled(self.enc, ws, self.ls), ws))
        kc = (self.signal * (1.0 + SQRT5 * r + (5.0 / 3.0) * r * r)) * np.exp(-SQRT5 * r)
        mu = self.mean + kc @ self.alpha
        half = linalg.lapack.dtrtrs(self.chol, kc.T, lower=1)[0]
        var = self.signal - (half * half).sum(0)
        return mu, np.maximum(var, 1e-12 * self.signal)

    def predict_grad(self, xs: np.ndarray) -> tuple[np.ndarray, ...]:
        """Mean, variance and their gradients in the unit-cube coordinates of the
        numeric features (zero columns for categorical ones)."""
        kc, dkc, ws, dws = self._cross(xs)
        half = linalg.solve_triangular(self.chol, kc.T, lower=True, check_finite=False)
        v = linalg.solve_triangular(self.chol, half, lower=True, trans="T", check_finite=False).T
        mu = self.mean + kc @ self.alpha
        var = np.maximum(self.signal - (v * kc).sum(1), 1e-12 * self.signal)
        scale = 2.0 / self.ls**2
        num = self.enc.numeric
        dmu = np.zeros_like(xs)
        dvar = np.zeros_like(xs)
        for weights, out, factor in ((dkc * self.alpha, dmu, 1.0), (dkc * v, dvar, -2.0)):
            sums = weights.sum(1)[:, None]
            raw = ws[:, num] * sums - weights @ self.w[:, num]
            out[:, num] = factor * raw * scale[num] * dws[:, num]
        return mu, var, dmu, dvar

    def condition(self, x_new: np.ndarray, y_new: float) -> None:
        """Also condition on one more point observed without noise (a fantasy: the
        posterior variance there drops to ~0), growing the Cholesky factor by one row."""
        kc = self._cross(x_new[None, :])[0][0]
        row = linalg.solve_triangular(self.chol, kc, lower=True, check_finite=False)
        corner = math.sqrt(max(self.signal + JITTER - row @ row, 1e-9 * self.signal))
        n = len(self.y)
        chol = np.zeros((n + 1, n + 1))
        chol[:n, :n] = self.chol
        chol[n, :n] = row
        chol[n, n] = corner
        self.chol = chol
        self.x = np.vstack([self.x, x_new])
        self.y = np.append(self.y, y_new)
        self.w = _inputs(self.enc, self.x, self.s)[0]
        self.z = _scaled(self.enc, self.w, self.ls)
        self._solve_alpha()
