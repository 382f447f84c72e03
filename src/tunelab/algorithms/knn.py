"""SageMaker's k-nearest neighbors as a training program:
``python -m tunelab.algorithms.knn train``.

Samples ``sample_size`` rows of ``train`` (CSV, label first), reduces their dimension
when asked (``sign``: a random ±1 projection; ``fjlt``: random signs, a Fourier
transform and a random choice of coordinates), and keeps them as an exact index
(``faiss.Flat``) with ``index_metric`` L2, INNER_PRODUCT or COSINE. The ``test``
channel is scored in mini-batches (``#test_score (algo-1) : ('accuracy', 0.94)``) and
once as a whole, which is the objective::

    #quality_metric: host=algo-1, test accuracy <score>=0.9415

The model (``model/model_algo-1``, numpy ``.npz``) holds the index, its labels and
the projection.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from tunelab.algorithms.data import Dataset, read_channel
from tunelab.algorithms.knn_spec import SPEC
from tunelab.algorithms.runtime import HOST, ClientError, Environment, log, read_hyperparameters
from tunelab.algorithms.runtime import run as run_program


def projection(hp: dict[str, Any], dim: int, rng: np.random.Generator) -> np.ndarray | None:
    """The ``dim × target`` matrix of the dimension reduction (None: none)."""
    kind, target = hp["dimension_reduction_type"], hp["dimension_reduction_target"]
    if kind is None:
        return None
    if not 0 < target < dim:
        raise ClientError(f"dimension_reduction_target must be in (0, {dim}); got {target}")
    if kind == "sign":
        return rng.choice([-1.0, 1.0], size=(dim, target)) / np.sqrt(target)
    signs = rng.choice([-1.0, 1.0], size=dim)
    basis = np.fft.fft(np.eye(dim) * signs[:, None], axis=1).real  # D, then F, on each row
    picked = rng.choice(dim, size=target, replace=False)
    return basis[:, picked] * np.sqrt(2.0 / target)


def neighbours(index: np.ndarray, queries: np.ndarray, k: int, metric: str) -> np.ndarray:
    """Row numbers in ``index`` of each query's ``k`` nearest rows."""
    if metric == "L2":
        distance = (
            np.sum(queries**2, axis=1)[:, None]
            - 2 * queries @ index.T
            + np.sum(index**2, axis=1)[None, :]
        )
    else:
        if metric == "COSINE":
            index = index / np.maximum(np.linalg.norm(index, axis=1, keepdims=True), 1e-12)
            queries = queries / np.maximum(np.linalg.norm(queries, axis=1, keepdims=True), 1e-12)
        distance = -(queries @ index.T)
    k = min(k, index.shape[0])
    nearest = np.argpartition(distance, k - 1, axis=1)[:, :k]
    return nearest


def predict(labels: np.ndarray, nearest: np.ndarray, classifier: bool) -> np.ndarray:
    votes = labels[nearest]
    if not classifier:
        return votes.mean(axis=1)
    out = np.empty(len(votes))
    for i, row in enumerate(votes):
        values, counts = np.unique(row, return_counts=True)
        out[i] = values[np.argmax(counts)]  # ties: the smallest label, as a mode would
    return out


def train(env: Environment) -> None:
    hp = read_hyperparameters(SPEC, env.hyperparameters)
    default = SPEC.default_content_type or ""
    data = read_channel(env, "train", default)
    if data is None:
        raise ClientError("the 'train' channel is required")
    if hp["feature_dim"] != data.features:
        raise ClientError(
            f"feature_dim is {hp['feature_dim']}, but channel 'train' has {data.features} features"
        )
    classifier = hp["predictor_type"] == "classifier"
    rng = np.random.default_rng(hp["seed"])
    size = min(hp["sample_size"], data.rows)
    rows = np.sort(rng.choice(data.rows, size=size, replace=False))
    matrix = projection(hp, data.features, rng)
    index = data.x[rows] if matrix is None else data.x[rows] @ matrix
    labels = data.y[rows]
    log(f"index: {size} of {data.rows} training rows, dimension {index.shape[1]}, "
        f"{hp['index_type']} {hp['index_metric']}")  # fmt: skip
    test = read_channel(env, "test", default)
    if test is not None:
        score(hp, test, index, labels, matrix, classifier)
    env.model_dir.mkdir(parents=True, exist_ok=True)
    with open(env.model_dir / f"model_{HOST}", "wb") as f:
        np.savez(
            f,
            index=index,
            labels=labels,
            projection=np.zeros(0) if matrix is None else matrix,
            k=hp["k"],
            predictor_type=hp["predictor_type"],
            index_metric=hp["index_metric"],
        )
    log(f"model saved to model/model_{HOST}")


def score(
    hp: dict[str, Any],
    test: Dataset,
    index: np.ndarray,
    labels: np.ndarray,
    matrix: np.ndarray | None,
    classifier: bool,
) -> None:
    dimension = index.shape[1] if matrix is None else matrix.shape[0]
    if test.features != dimension:
        raise ClientError(
            f"channel 'test' has {test.features} features, channel 'train' has {dimension}"
        )
    name = "accuracy" if classifier else "mse"
    predicted = np.empty(test.rows)
    for begin in range(0, test.rows, hp["mini_batch_size"]):
        part = slice(begin, begin + hp["mini_batch_size"])
        queries = test.x[part] if matrix is None else test.x[part] @ matrix
        nearest = neighbours(index, queries, hp["k"], hp["index_metric"])
        predicted[part] = predict(labels, nearest, classifier)
        batch = _metric(name, test.y[part], predicted[part])
        log(f"#test_score ({HOST}) : ('{name}', {batch:.6g})")
    value = _metric(name, test.y, predicted)
    log(f"#quality_metric: host={HOST}, test {name} <score>={value:.6g}")


def _metric(name: str, y: np.ndarray, predicted: np.ndarray) -> float:
    if name == "accuracy":
        return float(np.mean(y == predicted))
    return float(np.mean((y - predicted) ** 2))


if __name__ == "__main__":
    sys.exit(run_program(SPEC, train, sys.argv[1:]))
