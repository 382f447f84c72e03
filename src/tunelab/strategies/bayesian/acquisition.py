"""Log expected improvement for minimization, numerically safe everywhere.

``EI(x) = sigma * h(z)`` with ``z = (best - mu) / sigma`` and
``h(z) = phi(z) + z * Phi(z)``. ``log h`` is computed without cancellation for very
negative ``z`` (Ament et al., "Unexpected improvements to expected improvement",
NeurIPS 2023), so log-EI stays finite and informative far from the incumbent, where
plain EI underflows to 0 and gives the optimizer no gradient.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy import special

LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
SQRT_HALF_PI = math.sqrt(math.pi / 2.0)
ASYMPTOTIC_FROM = 1e4
"""Beyond |z| = 1e4 the series 1 - t*R(t) ~ 1/t^2 (1 - 3/t^2) is used."""


def log_h(z: np.ndarray) -> np.ndarray:
    """``log(phi(z) + z * Phi(z))``, finite for every finite ``z``."""
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    upper = z > -1.0
    zu = z[upper]
    out[upper] = np.log(np.exp(-0.5 * zu**2 - LOG_SQRT_2PI) + zu * special.ndtr(zu))
    t = -z[~upper]  # t >= 1: h(z) = phi(t) * (1 - t * sqrt(pi/2) * erfcx(t / sqrt(2)))
    far = t > ASYMPTOTIC_FROM
    tail = np.empty_like(t)
    near_t = t[~far]
    tail[~far] = np.log1p(-near_t * SQRT_HALF_PI * special.erfcx(near_t / math.sqrt(2.0)))
    far_t = t[far]
    tail[far] = -2.0 * np.log(far_t) + np.log1p(-3.0 / far_t**2)
    out[~upper] = -0.5 * t**2 - LOG_SQRT_2PI + tail
    return out


def log_ei(
    mu: np.ndarray, var: np.ndarray, best: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """log EI below ``best`` and its derivatives with respect to ``mu`` and ``var``."""
    sigma = np.sqrt(var)
    z = (best - mu) / sigma
    lh = log_h(z)
    g = np.exp(special.log_ndtr(z) - lh)  # d log h / dz = Phi(z) / h(z)
    value = np.log(sigma) + lh
    d_mu = -g / sigma
    d_sigma = (1.0 - z * g) / sigma
    return value, d_mu, d_sigma / (2.0 * sigma)


def log_aei(
    mu: np.ndarray, var: np.ndarray, best: float, noise: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Augmented log EI (Huang et al. 2006) and its derivatives in ``mu`` and ``var``:
    EI times ``1 - sqrt(noise / (var + noise))``, which vanishes where another result
    would teach the model no more than its noise (next to a result or a pending job)
    and is ~1 wherever the latent variance dominates the noise."""
    value, d_mu, d_var = log_ei(mu, var, best)
    total = var + noise
    r = np.sqrt(noise / total)
    value = value + np.log1p(-np.minimum(r, 1.0 - 1e-12))
    d_var = d_var + 0.5 * r / (total * np.maximum(1.0 - r, 1e-12))
    return value, d_mu, d_var


GAUSS_HERMITE = np.polynomial.hermite_e.hermegauss(48)


def expected_improvement_raw(
    mu: float, var: float, inverse: Callable[[np.ndarray], np.ndarray], best_raw: float
) -> float:
    """EI in the objective's own units: ``E[max(best_raw - inverse(f), 0)]`` for
    ``f ~ N(mu, var)`` in model units, ``inverse`` mapping model values back to
    (minimized) objective values. Gauss-Hermite quadrature with 48 nodes."""
    nodes, weights = GAUSS_HERMITE
    raw = inverse(mu + math.sqrt(var) * nodes)
    gain = np.maximum(best_raw - raw, 0.0)
    return float((weights * gain).sum() / weights.sum())
