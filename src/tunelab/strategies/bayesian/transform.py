"""Output transform: objective values (minimized) to the GP's standardized units.

Values are centred on their median and scaled by their interquartile range, the bad
tail is winsorized at ``WINSOR`` robust units (a diverged job's 1e30 loss does not
squash every other value together), then a Yeo-Johnson power transform whose exponent
maximizes the normal likelihood (as HEBO does) makes skewed objectives (losses near a
floor, errors spanning decades) closer to Gaussian, and the result is standardized.
The map is monotone, so minima stay minima; :meth:`inverse` maps model values back to
objective units (used to express expected improvement in the objective's units).
"""

from __future__ import annotations

import numpy as np

WINSOR = 8.0
LAMBDA_GRID = np.linspace(-2.0, 3.0, 81)
"""Exponents tried (steps of 1/16); the one of highest normal likelihood wins."""
MIN_POWER_POINTS = 8
"""Below this many values the exponent is unreliable: plain standardization."""


class OutputTransform:
    """Fitted on finite values ``y`` (at least one)."""

    def __init__(self, y: np.ndarray) -> None:
        y = np.asarray(y, dtype=float)
        self.center = float(np.median(y))
        q1, q3 = np.percentile(y, [25, 75])
        scale = (q3 - q1) / 1.349
        if not scale > 0:
            scale = float(np.std(y))
        self.scale = scale if scale > 0 else 1.0
        self.lam = 1.0
        z = self._robust(y)
        if len(y) >= MIN_POWER_POINTS and np.ptp(z) > 0:
            self.lam = _normmax(z)
        t = _yeo_johnson(z, self.lam)
        self.mean = float(t.mean())
        std = float(t.std())
        self.std = std if std > 0 else 1.0

    def _robust(self, y: np.ndarray) -> np.ndarray:
        return np.minimum((np.asarray(y, dtype=float) - self.center) / self.scale, WINSOR)

    def forward(self, y: np.ndarray) -> np.ndarray:
        return (_yeo_johnson(self._robust(y), self.lam) - self.mean) / self.std

    def inverse(self, f: np.ndarray) -> np.ndarray:
        z = _inverse_yeo_johnson(np.asarray(f, dtype=float) * self.std + self.mean, self.lam)
        return z * self.scale + self.center


def _yeo_johnson(z: np.ndarray, lam: float) -> np.ndarray:
    out = np.empty_like(z)
    pos = z >= 0
    if abs(lam) < 1e-8:
        out[pos] = np.log1p(z[pos])
    else:
        out[pos] = ((z[pos] + 1.0) ** lam - 1.0) / lam
    if abs(lam - 2.0) < 1e-8:
        out[~pos] = -np.log1p(-z[~pos])
    else:
        out[~pos] = -((1.0 - z[~pos]) ** (2.0 - lam) - 1.0) / (2.0 - lam)
    return out


def _inverse_yeo_johnson(t: np.ndarray, lam: float) -> np.ndarray:
    out = np.empty_like(t)
    pos = t >= 0
    with np.errstate(all="ignore"):
        if abs(lam) < 1e-8:
            out[pos] = np.expm1(t[pos])
        else:
            base = np.maximum(t[pos] * lam + 1.0, 1e-300)
            out[pos] = base ** (1.0 / lam) - 1.0
        if abs(lam - 2.0) < 1e-8:
            out[~pos] = -np.expm1(-t[~pos])
        else:
            base = np.maximum(1.0 - (2.0 - lam) * t[~pos], 1e-300)
            out[~pos] = 1.0 - base ** (1.0 / (2.0 - lam))
    return np.where(np.isfinite(out), out, np.sign(t) * 1e300)


def _normmax(z: np.ndarray) -> float:
    """The grid exponent maximizing the Yeo-Johnson normal log-likelihood
    ``-n/2 log var(t) + (lam - 1) sum(sign(z) log1p(|z|))``."""
    jacobian = (np.sign(z) * np.log1p(np.abs(z))).sum()
    best, best_llf = 1.0, -np.inf
    with np.errstate(all="ignore"):
        for lam in LAMBDA_GRID:
            var = _yeo_johnson(z, float(lam)).var()
            if not var > 0 or not np.isfinite(var):
                continue
            llf = -0.5 * len(z) * np.log(var) + (lam - 1.0) * jacobian
            if llf > best_llf:
                best, best_llf = float(lam), float(llf)
    return best
