"""Evaluation metrics in numpy, for the built-ins that compute their own: ROC AUC,
log loss, accuracy, precision/recall/F-beta (binary, macro, micro), balanced
accuracy, top-k accuracy, DCG, MSE, RMSE, MAE and R²."""

from __future__ import annotations

import numpy as np

EPS = 1e-15


def roc_auc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve (ties count one half); NaN with a single class."""
    y = np.asarray(y) > 0.5
    positives, negatives = int(y.sum()), int((~y).sum())
    if positives == 0 or negatives == 0:
        return float("nan")
    order = np.argsort(score, kind="mergesort")
    ranks = np.empty(len(score), dtype=np.float64)
    sorted_scores = np.asarray(score)[order]
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    average = first + (counts + 1) / 2.0  # 1-based average rank of each tie group
    ranks[order] = np.repeat(average, counts)
    return float((ranks[y].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def logloss(y: np.ndarray, p: np.ndarray) -> float:
    p = np.clip(p, EPS, 1 - EPS)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def multi_logloss(y: np.ndarray, proba: np.ndarray) -> float:
    picked = proba[np.arange(len(y)), y.astype(int)]
    return float(-np.mean(np.log(np.clip(picked, EPS, 1.0))))


def accuracy(y: np.ndarray, predicted: np.ndarray) -> float:
    return float(np.mean(np.asarray(y) == np.asarray(predicted)))


def _ratio(a: float, b: float) -> float:
    return a / b if b else 0.0


def binary_scores(y: np.ndarray, predicted: np.ndarray, beta: float = 1.0) -> dict[str, float]:
    """precision, recall and f_beta of the positive class (labels 0/1)."""
    y, predicted = np.asarray(y) > 0.5, np.asarray(predicted) > 0.5
    tp = float(np.sum(y & predicted))
    precision = _ratio(tp, float(np.sum(predicted)))
    recall = _ratio(tp, float(np.sum(y)))
    f = _ratio((1 + beta**2) * precision * recall, beta**2 * precision + recall)
    return {"precision": precision, "recall": recall, "f_beta": f}


def class_scores(
    y: np.ndarray, predicted: np.ndarray, classes: int, beta: float = 1.0
) -> dict[str, float]:
    """Macro and micro precision/recall/F-beta and balanced accuracy over ``classes``."""
    y, predicted = np.asarray(y).astype(int), np.asarray(predicted).astype(int)
    precisions, recalls, fs = [], [], []
    for c in range(classes):
        tp = float(np.sum((y == c) & (predicted == c)))
        precision = _ratio(tp, float(np.sum(predicted == c)))
        recall = _ratio(tp, float(np.sum(y == c)))
        precisions.append(precision)
        recalls.append(recall)
        fs.append(_ratio((1 + beta**2) * precision * recall, beta**2 * precision + recall))
    present = [c for c in range(classes) if np.any(y == c)]
    micro = accuracy(y, predicted)  # micro precision = micro recall = accuracy (one label)
    return {
        "macro_precision": float(np.mean(precisions)),
        "macro_recall": float(np.mean(recalls)),
        "macro_f_beta": float(np.mean(fs)),
        "micro_precision": micro,
        "micro_recall": micro,
        "balanced_accuracy": float(np.mean([recalls[c] for c in present])) if present else 0.0,
    }


def top_k_accuracy(y: np.ndarray, scores: np.ndarray, k: int) -> float:
    k = min(k, scores.shape[1])
    top = np.argsort(-scores, axis=1)[:, :k]
    return float(np.mean(np.any(top == np.asarray(y).astype(int)[:, None], axis=1)))


def dcg(y: np.ndarray, scores: np.ndarray) -> float:
    """Mean discounted cumulative gain of the true class: 1 / log2(1 + its rank)."""
    true = scores[np.arange(len(y)), np.asarray(y).astype(int)]
    rank = 1 + np.sum(scores > true[:, None], axis=1)
    return float(np.mean(1.0 / np.log2(1.0 + rank)))


def mse(y: np.ndarray, predicted: np.ndarray) -> float:
    return float(np.mean((np.asarray(y) - predicted) ** 2))


def rmse(y: np.ndarray, predicted: np.ndarray) -> float:
    return float(np.sqrt(mse(y, predicted)))


def mae(y: np.ndarray, predicted: np.ndarray) -> float:
    return float(np.mean(np.abs(np.asarray(y) - predicted)))


def r2(y: np.ndarray, predicted: np.ndarray) -> float:
    total = float(np.sum((np.asarray(y) - np.mean(y)) ** 2))
    return 1.0 - float(np.sum((np.asarray(y) - predicted) ** 2)) / total if total else 0.0
