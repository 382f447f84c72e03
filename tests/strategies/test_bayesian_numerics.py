"""The Bayesian strategy's numerical parts: GP posterior, MAP fit, gradients, log-EI,
output transform and Auto warping.

Every test uses fixed data or a fixed seed; tolerances are stated next to each check.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import optimize, stats

from tunelab.domain.enums import ScalingType
from tunelab.domain.search_space import (
    CategoricalRange,
    ContinuousRange,
    IntegerRange,
    SearchSpace,
)
from tunelab.strategies.bayesian import gp
from tunelab.strategies.bayesian.acquisition import (
    expected_improvement_raw,
    log_aei,
    log_ei,
    log_h,
)
from tunelab.strategies.bayesian.encoding import SpaceEncoder, warp
from tunelab.strategies.bayesian.transform import WINSOR, OutputTransform

LINE = SearchSpace((ContinuousRange("x", 0.0, 1.0, ScalingType.LINEAR),))
MIXED = SearchSpace(
    (
        ContinuousRange("a", 0.0, 1.0, ScalingType.LINEAR),
        ContinuousRange("b", 1e-3, 10.0),  # Auto, warpable
        IntegerRange("i", 1, 100),  # Auto, warpable
        CategoricalRange("c", ("x", "y", "z")),
    )
)


def _fitted(enc: SpaceEncoder, x: np.ndarray, y: np.ndarray) -> gp.Posterior:
    theta = gp.fit(enc, x, y - y.mean(), [gp.default_theta(enc)], 200)
    return gp.Posterior(enc, theta, x, y, float(y.mean()))


def test_posterior_interpolates_a_smooth_function_and_knows_where_it_is_unsure() -> None:
    enc = SpaceEncoder(LINE)
    x = np.linspace(0.0, 0.6, 13)[:, None]  # nothing observed beyond 0.6
    y = np.sin(6 * x[:, 0])
    posterior = _fitted(enc, x, y)
    inside = np.linspace(0.02, 0.58, 29)[:, None]
    mu, var = posterior.predict(inside)
    # 13 points on a smooth function 0.05 apart: interpolation error well under 1%.
    assert np.abs(mu - np.sin(6 * inside[:, 0])).max() < 0.01
    far_mu, far_var = posterior.predict(np.array([[1.0]]))
    # Uncertainty grows away from the data: far variance >> any variance inside.
    assert far_var[0] > 100 * var.max()
    # The posterior at a training point reproduces it (noise is fitted tiny).
    at, _ = posterior.predict(x[5:6])
    assert at[0] == pytest.approx(y[5], abs=1e-3)
    assert np.isfinite(far_mu).all()


def test_marginal_likelihood_gradient_matches_finite_differences() -> None:
    enc = SpaceEncoder(MIXED)
    rng = np.random.default_rng(0)
    x = enc.from_unit(rng.random((30, 4)))
    y = np.sin(5 * x[:, 0]) + x[:, 1] + 0.3 * x[:, 3]
    theta = gp.default_theta(enc) + 0.1 * rng.normal(size=len(gp.default_theta(enc)))
    theta[-2:] = [0.3, 0.7]  # warp exponents inside their bounds

    def value(t: np.ndarray) -> float:
        return gp.neg_log_posterior(t, enc, x, y - y.mean())[0]

    analytic = gp.neg_log_posterior(theta, enc, x, y - y.mean())[1]
    numeric = optimize.approx_fprime(theta, value, 1e-6)
    # Central agreement to 1e-4 relative: finite differences at step 1e-6 are good to ~1e-5.
    assert np.allclose(analytic, numeric, rtol=1e-4, atol=1e-3)


def test_predictive_gradients_and_conditioning_are_exact() -> None:
    enc = SpaceEncoder(MIXED)
    rng = np.random.default_rng(1)
    x = enc.from_unit(rng.random((25, 4)))
    y = np.cos(4 * x[:, 0]) * x[:, 1]
    theta = gp.default_theta(enc)
    posterior = gp.Posterior(enc, theta, x, y, float(y.mean()))
    probe = enc.from_unit(rng.random((4, 4)))
    probe[:, :3] = np.clip(probe[:, :3], 0.05, 0.95)
    mu, var, dmu, dvar = posterior.predict_grad(probe)
    for j in range(3):  # numeric columns (the categorical one has no gradient)
        moved = probe.copy()
        moved[:, j] += 1e-6
        mu2, var2 = posterior.predict(moved)
        assert np.allclose((mu2 - mu) / 1e-6, dmu[:, j], rtol=1e-3, atol=1e-5)
        assert np.allclose((var2 - var) / 1e-6, dvar[:, j], rtol=1e-3, atol=1e-5)
    # Conditioning on a noiseless fantasy by one Cholesky row equals the textbook
    # posterior with the point added to the kernel matrix without noise.
    grown = gp.Posterior(enc, theta, x, y, float(y.mean()))
    grown.condition(probe[0], 0.25)
    at, var_at = grown.predict(probe[:1])
    assert at[0] == pytest.approx(0.25, abs=1e-4) and var_at[0] < 1e-4  # jitter 1e-8
    d = enc.dimension
    signal, noise = math.exp(theta[d]), math.exp(theta[d + 1])
    pts = np.vstack([x, probe[0]])

    def kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        ls = np.exp(theta[:d])
        wa, wb = (gp._inputs(enc, v, theta[d + 2 :])[0] for v in (a, b))
        r2 = gp._r2(enc, gp._scaled(enc, wa, ls), gp._scaled(enc, wb, ls), wa, wb, ls)
        return signal * gp._matern(r2)[0]

    big = kernel(pts, pts) + np.diag([noise + gp.JITTER] * len(x) + [gp.JITTER])
    targets = np.append(y, 0.25) - y.mean()
    cross = kernel(probe[1:], pts)
    mean = y.mean() + cross @ np.linalg.solve(big, targets)
    var = signal - np.einsum("ij,ji->i", cross, np.linalg.solve(big, cross.T))
    got_mean, got_var = grown.predict(probe[1:])
    assert np.allclose(got_mean, mean, atol=1e-6)
    assert np.allclose(got_var, var, atol=1e-6)


def test_log_h_is_accurate_and_finite_far_below_the_incumbent() -> None:
    z = np.linspace(-30.0, 5.0, 351)
    direct = stats.norm.pdf(z) + z * stats.norm.cdf(z)
    usable = direct > 1e-250
    assert np.allclose(log_h(z[usable]), np.log(direct[usable]), rtol=1e-9, atol=1e-12)
    far = np.array([-40.0, -1e3, -1e5, -1e9, -1e15])
    values = log_h(far)
    assert np.isfinite(values).all()
    assert (np.diff(values) < 0).all()  # still strictly decreasing: a gradient to follow
    # Asymptote: log h(z) ~ -z^2/2 - log(sqrt(2 pi)) - 2 log|z| for z -> -inf.
    asymptote = -0.5 * far**2 - 0.5 * math.log(2 * math.pi) - 2 * np.log(-far)
    assert np.allclose(values[1:], asymptote[1:], rtol=1e-6)


def test_log_ei_and_its_derivatives_stay_finite_where_ei_underflows() -> None:
    mu = np.array([0.0, 5.0, 50.0, 1e4])
    var = np.array([1.0, 0.01, 1e-6, 1e-8])
    value, d_mu, d_var = log_ei(mu, var, best=-1.0)
    assert np.isfinite(value).all() and np.isfinite(d_mu).all() and np.isfinite(d_var).all()
    # Plain EI underflows to exactly 0 for all but the first point.
    sigma = np.sqrt(var)
    z = (-1.0 - mu) / sigma
    plain = sigma * (stats.norm.pdf(z) + z * stats.norm.cdf(z))
    assert (plain[1:] == 0).all()
    assert (np.diff(value) < 0).all()
    # Derivatives against finite differences at the first, well-conditioned point.
    step = 1e-6
    v2 = log_ei(mu[:1] + step, var[:1], -1.0)[0]
    assert (v2[0] - value[0]) / step == pytest.approx(d_mu[0], rel=1e-4)
    v3 = log_ei(mu[:1], var[:1] + step, -1.0)[0]
    assert (v3[0] - value[0]) / step == pytest.approx(d_var[0], rel=1e-4)


def test_augmented_log_ei_discounts_only_where_noise_dominates() -> None:
    mu = np.array([0.3, -0.5, 2.0, 0.0])
    var = np.array([0.01, 0.2, 1.5, 1e-10])
    plain = log_ei(mu, var, 0.0)[0]
    value, d_mu, d_var = log_aei(mu, var, 0.0, noise=0.05)
    assert np.isfinite(value).all() and (value < plain).all()
    assert value[3] < plain[3] - 5  # next to a result: another one teaches nothing
    assert log_aei(mu, var, 0.0, noise=1e-12)[0][:3] == pytest.approx(plain[:3], abs=1e-4)
    step = 1e-7
    for i in range(3):
        up = log_aei(mu[i : i + 1], var[i : i + 1] + step, 0.0, 0.05)[0][0]
        down = log_aei(mu[i : i + 1], var[i : i + 1] - step, 0.0, 0.05)[0][0]
        assert (up - down) / (2 * step) == pytest.approx(d_var[i], rel=1e-5)
        up = log_aei(mu[i : i + 1] + step, var[i : i + 1], 0.0, 0.05)[0][0]
        down = log_aei(mu[i : i + 1] - step, var[i : i + 1], 0.0, 0.05)[0][0]
        assert (up - down) / (2 * step) == pytest.approx(d_mu[i], rel=1e-5)


def test_output_transform_is_monotone_invertible_and_tames_outliers() -> None:
    rng = np.random.default_rng(2)
    y = np.exp(rng.normal(size=60) * 2.0)  # log-normal: heavily right-skewed
    y[0] = 1e30  # a diverged job
    t = OutputTransform(y)
    mapped = t.forward(y)
    order = np.argsort(y[1:])
    assert (np.diff(mapped[1:][order]) >= 0).all()
    # Winsorized: the outlier does not squash the others (their spread stays ~ unit).
    assert np.std(mapped[1:]) > 0.5
    inside = y[(y - t.center) / t.scale < WINSOR]  # values beyond the winsor bound are clipped
    assert len(inside) > 50
    assert np.allclose(t.inverse(t.forward(inside)), inside, rtol=1e-9)
    # The skew is mostly removed (|skewness| of a log-normal(0, 2) is huge).
    assert abs(stats.skew(mapped[1:])) < 1.0


def test_expected_improvement_in_objective_units_matches_monte_carlo() -> None:
    t = OutputTransform(np.array([3.0, 1.0, 4.0, 1.5, 9.0, 2.6, 5.0, 3.5, 8.0, 7.9]))
    mu, var, best_raw = -0.5, 0.4, 1.0
    ei = expected_improvement_raw(mu, var, t.inverse, best_raw)
    draws = np.random.default_rng(3).normal(mu, math.sqrt(var), 400_000)
    mc = np.maximum(best_raw - t.inverse(draws), 0).mean()
    # 400k draws: Monte Carlo standard error ~ 0.1% of the mean; allow 2%.
    assert ei == pytest.approx(mc, rel=0.02)


def test_auto_warp_interpolates_between_linear_and_log() -> None:
    u = np.linspace(0.0, 1.0, 11)
    log_ratio = math.log(1e4)
    w, dw_du, dw_ds = warp(u, 1.0, log_ratio)
    assert np.allclose(w, np.log1p((1e4 - 1) * u) / log_ratio)  # s = 1: the log encoding
    assert np.allclose(warp(u, 0.01, log_ratio)[0], u, atol=0.05)  # s -> 0: linear
    assert np.isfinite(dw_du).all() and np.isfinite(dw_ds).all()


def test_auto_range_that_behaves_logarithmically_is_learned_as_such() -> None:
    """f depends on log10(x) on an Auto range [1e-4, 1]: the fitted warp exponent goes
    to the log end (s = 1), while a linear dependence keeps it near linear."""
    space = SearchSpace((ContinuousRange("x", 1e-4, 1.0),))
    enc = SpaceEncoder(space)
    assert list(enc.warped) == [0]
    u = np.linspace(0.0, 1.0, 40) ** 3  # dense near the small values, as a log design would be
    values = 1e-4 + u * (1.0 - 1e-4)
    log_like = np.sin(1.5 * np.log10(values))
    theta = gp.fit(enc, u[:, None], log_like - log_like.mean(), [gp.default_theta(enc)], 200)
    assert theta[-1] > 0.8
    linear_like = np.sin(3 * values)
    theta = gp.fit(enc, u[:, None], linear_like - linear_like.mean(), [gp.default_theta(enc)], 200)
    assert theta[-1] < 0.5
