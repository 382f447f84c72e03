"""The numerics of the linear learner: losses with their gradients, and the SGD,
Adam and RMSProp updates with L2 (``wd``) and proximal L1 (``l1``) regularization."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

Loss = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
"""(scores n×k, labels n) -> (loss per row, gradient of the loss by the scores)."""

TASK_LOSSES = {
    "binary_classifier": ("logistic", "hinge_loss"),
    "multiclass_classifier": ("softmax_loss",),
    "regressor": (
        "squared_loss", "absolute_loss", "eps_insensitive_squared_loss",
        "eps_insensitive_absolute_loss", "quantile_loss", "huber_loss",
    ),
}  # fmt: skip
AUTO_LOSS = {"binary_classifier": "logistic", "multiclass_classifier": "softmax_loss",
             "regressor": "squared_loss"}  # fmt: skip
OBJECTIVE_NAMES = {"logistic": "binary_classification_cross_entropy_objective",
                   "softmax_loss": "multiclass_cross_entropy_objective"}  # fmt: skip


def sigmoid(s: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * s))


def softmax(s: np.ndarray) -> np.ndarray:
    e = np.exp(s - s.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def make_loss(name: str, margin: float, eps: float, quantile: float, delta: float) -> Loss:
    """The loss called ``name`` (its parameters from the hyperparameters)."""

    def logistic(s: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        s1 = s[:, 0]
        return np.logaddexp(0.0, s1) - y * s1, (sigmoid(s1) - y)[:, None]

    def hinge(s: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        z = 2.0 * y - 1.0
        slack = margin - z * s[:, 0]
        return np.maximum(slack, 0.0), (-z * (slack > 0))[:, None]

    def softmax_loss(s: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p = softmax(s)
        rows = np.arange(len(y))
        grad = p.copy()
        grad[rows, y.astype(int)] -= 1.0
        return -np.log(np.clip(p[rows, y.astype(int)], 1e-15, 1.0)), grad

    def regression(kind: str) -> Loss:
        def loss(s: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            r = s[:, 0] - y
            a = np.abs(r)
            if kind == "squared_loss":
                value, grad = r**2, 2 * r
            elif kind == "absolute_loss":
                value, grad = a, np.sign(r)
            elif kind == "eps_insensitive_squared_loss":
                value, grad = np.maximum(a - eps, 0) ** 2, 2 * np.sign(r) * np.maximum(a - eps, 0)
            elif kind == "eps_insensitive_absolute_loss":
                value, grad = np.maximum(a - eps, 0), np.sign(r) * (a > eps)
            elif kind == "quantile_loss":
                value = np.maximum(-quantile * r, (1 - quantile) * r)
                grad = np.where(r < 0, -quantile, 1 - quantile)
            else:  # huber_loss
                value = np.where(a <= delta, 0.5 * r**2, delta * (a - 0.5 * delta))
                grad = np.where(a <= delta, r, delta * np.sign(r))
            return value, grad[:, None]

        return loss

    named: dict[str, Loss] = {
        "logistic": logistic,
        "hinge_loss": hinge,
        "softmax_loss": softmax_loss,
    }
    return named.get(name) or regression(name)


@dataclass
class Optimizer:
    """One optimizer step for a parameter array (state kept per parameter name)."""

    kind: str
    learning_rate: float
    momentum: float = 0.0
    beta_1: float = 0.9
    beta_2: float = 0.999
    state: dict[str, list[np.ndarray]] = field(default_factory=dict)
    steps: int = 0

    def step(self, name: str, param: np.ndarray, grad: np.ndarray, lr_mult: float = 1.0) -> None:
        lr = self.learning_rate * lr_mult
        slots = self.state.setdefault(name, [np.zeros_like(param), np.zeros_like(param)])
        if self.kind == "sgd":
            slots[0] = self.momentum * slots[0] - lr * grad
            param += slots[0]
        elif self.kind == "rmsprop":
            slots[1] = 0.9 * slots[1] + 0.1 * grad**2
            param -= lr * grad / (np.sqrt(slots[1]) + 1e-8)
        else:  # adam
            t = self.steps + 1
            slots[0] = self.beta_1 * slots[0] + (1 - self.beta_1) * grad
            slots[1] = self.beta_2 * slots[1] + (1 - self.beta_2) * grad**2
            m = slots[0] / (1 - self.beta_1**t)
            v = slots[1] / (1 - self.beta_2**t)
            param -= lr * m / (np.sqrt(v) + 1e-8)


def soft_threshold(param: np.ndarray, amount: float) -> None:
    """The proximal step of L1 regularization, in place."""
    if amount > 0:
        np.copyto(param, np.sign(param) * np.maximum(np.abs(param) - amount, 0.0))
