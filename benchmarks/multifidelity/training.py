"""The real problems' training, one step (boosting round or epoch) at a time.

The tabulated pools are computed from these steps (:func:`curve`), and with
``--live`` every configuration a method proposes gets its own curve, computed step
by step as its training job reports (:class:`LiveCurve`), so a job stopped after
three rounds costs three rounds.
"""

from __future__ import annotations

import functools
import itertools
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, overload

import numpy as np

from tunelab.domain.search_space import ParamValue

Steps = Callable[[Mapping[str, ParamValue]], Iterator[float]]


@functools.cache
def digits(scale: bool) -> tuple[np.ndarray, ...]:
    """scikit-learn's digits, split 70/30 (stratified, fixed), standardized or not."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    x, y = load_digits(return_X_y=True)
    xt, xv, yt, yv = train_test_split(x, y, test_size=0.3, random_state=0, stratify=y)
    if scale:
        scaler = StandardScaler().fit(xt)
        xt, xv = scaler.transform(xt), scaler.transform(xv)
    return xt, xv, yt, yv


@functools.cache
def _xgboost_data() -> tuple[Any, Any]:
    import xgboost as xgb

    xt, xv, yt, yv = digits(scale=False)
    return xgb.DMatrix(xt, label=yt), xgb.DMatrix(xv, label=yv)


def xgboost_steps(params: Mapping[str, ParamValue]) -> Iterator[float]:
    """Validation multi-class log-loss after each boosting round, without end."""
    import xgboost as xgb

    train, valid = _xgboost_data()
    booster_params = {
        "objective": "multi:softprob",
        "num_class": 10,
        "eval_metric": "mlogloss",
        "nthread": 1,
        "verbosity": 0,
        "seed": 0,
        **params,
    }
    booster = xgb.Booster(booster_params, [train, valid])
    for round_ in itertools.count():
        booster.update(train, round_)
        report = booster.eval_set([(valid, "v")], round_)  # "[k]\tv-mlogloss:0.123"
        yield float(report.rsplit(":", 1)[1])


def mlp_steps(params: Mapping[str, ParamValue]) -> Iterator[float]:
    """Validation log-loss of an MLPClassifier after each epoch (``partial_fit``),
    capped at 10 (a diverged network), without end."""
    from sklearn.metrics import log_loss
    from sklearn.neural_network import MLPClassifier

    xt, xv, yt, yv = digits(scale=True)
    model = MLPClassifier(
        hidden_layer_sizes=(int(params["hidden"]),),
        learning_rate_init=float(params["learning_rate_init"]),
        alpha=float(params["alpha"]),
        beta_1=float(params["beta_1"]),
        batch_size=int(params["batch_size"]),
        random_state=0,
    )
    labels = np.arange(10)
    while True:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.partial_fit(xt, yt, classes=labels)
            loss = log_loss(yv, model.predict_proba(xv), labels=labels)
        yield float(min(np.nan_to_num(loss, nan=10.0), 10.0))


def curve(steps: Steps, params: Mapping[str, ParamValue], length: int) -> np.ndarray:
    """The first ``length`` values of ``steps(params)``."""
    return np.array(list(itertools.islice(steps(params), length)))


class LiveCurve(Sequence[float]):
    """A curve of ``length`` values computed from ``steps`` up to the highest index
    read so far."""

    def __init__(self, steps: Iterator[float], length: int) -> None:
        self._steps, self._length = steps, length
        self._values: list[float] = []

    def __len__(self) -> int:
        return self._length

    @overload
    def __getitem__(self, index: int) -> float: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[float]: ...

    def __getitem__(self, index: int | slice) -> float | Sequence[float]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._length))]
        if not -self._length <= index < self._length:
            raise IndexError(index)
        index %= self._length
        while len(self._values) <= index:
            self._values.append(next(self._steps))
        return self._values[index]
