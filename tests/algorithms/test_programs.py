"""Every built-in trained on small data (scikit-learn's datasets) through the real
contract: the metrics its log carries, read with the metadata's own regexes (every
metric definition must match a line some run prints), once per round or epoch for the
iterative ones; the model written; and a malformed CSV row's failure reason."""

from __future__ import annotations

import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.algorithms.conftest import (
    Result,
    collect,
    extract,
    run_builtin,
    submit,
    write_csv,
    write_libsvm,
)
from tunelab.algorithms import catalog
from tunelab.domain.enums import TrainingJobStatus
from tunelab.execution.local import LocalExecutor

XGB_URI = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
JUMPSTART = {
    "sagemaker_program": "transfer_learning.py",
    "sagemaker_submit_directory": "s3://jumpstart-cache-prod-us-east-1/source-directory-"
    "tarballs/lightgbm/transfer_learning/classification/v2.1.2/sourcedir.tar.gz",
}
PYTORCH_URI = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:1.9.0-cpu-py38"


def channels(
    root: Path, data: tuple, names: tuple[str, ...], fmt: str = "csv", ctype: str | None = None
) -> list[tuple[str, Path, str | None]]:
    """``train`` from the first split, the other channels from the second."""
    (x_train, y_train), (x_other, y_other) = data
    write = write_csv if fmt == "csv" else write_libsvm
    out = []
    for name in names:
        x, y = (x_train, y_train) if name == "train" else (x_other, y_other)
        path = write(root / "data" / name / f"{name}.{fmt}", y, x)
        out.append((name, path.parent, ctype if fmt == "libsvm" else (ctype or "text/csv")))
    return out


def one_thread(hps: dict[str, str], image: str) -> dict[str, str]:
    """Several jobs share 2 cores here: one thread each avoids OpenMP's spinning."""
    if "xgboost" in image or image == XGB_URI:
        return {"nthread": "1", **hps}
    return hps


def run_all(
    executor: LocalExecutor, tmp_path: Path, algorithm: str, runs: dict[str, tuple], data: dict
) -> dict[str, Result]:
    """Starts every run (id -> (image, hyperparameters, dataset, channel names, fmt,
    ContentType)) at once; their results with ``algorithm``'s metrics extracted."""
    jobs = {}
    for run_id, (image, hps, dataset, names, fmt, ctype) in runs.items():
        root = tmp_path / run_id
        chans = channels(root, data[dataset], names, fmt, ctype)
        hps = one_thread(hps, image)
        jobs[submit(executor, root / run_id, image, hps, chans)] = root / run_id
    results = collect(executor, jobs)
    for result in results.values():
        assert result.finished.status is TrainingJobStatus.COMPLETED, (
            result.failure,
            result.lines[-20:],
        )
        extract(result, algorithm)
    return results


def every_definition_matched(algorithm: str, results: dict[str, Result]) -> None:
    spec = catalog.get(algorithm)
    assert spec is not None
    matched = {name for result in results.values() for name in result.metrics}
    assert matched == {m.name for m in spec.metrics}, {m.name for m in spec.metrics} - matched


def model_files(result: Result) -> list[str]:
    archive = result.job_dir.parent / "output" / result.job_dir.name / "output" / "model.tar.gz"
    with tarfile.open(archive) as tar:
        return tar.getnames()


@pytest.fixture
def data(binary_data: Any, multiclass_data: Any, regression_data: Any) -> dict[str, Any]:
    (x_train, y_train), (x_other, y_other) = regression_data
    survival = (x_train, censored(y_train)), (x_other, censored(y_other))
    return {
        "binary": binary_data,
        "multiclass": multiclass_data,
        "regression": regression_data,
        "survival": survival,
    }


def censored(times: np.ndarray) -> np.ndarray:
    """survival:cox labels: every third time right-censored (negative)."""
    labels = times.copy()
    labels[::3] *= -1
    return labels


def test_xgboost(executor: LocalExecutor, tmp_path: Path, data: dict) -> None:
    binary = "auc,aucpr,error,logloss,map,ndcg,accuracy,balanced_accuracy,f1,f1_binary,f1_macro"
    binary += ",precision,precision_macro,precision_micro,recall,recall_macro,recall_micro"
    tv = ("train", "validation")
    runs = {
        "binary": ("tunelab/xgboost", {"num_round": "4", "objective": "binary:logistic",
                   "eval_metric": binary}, "binary", tv, "csv", None),
        # SageMaker's image URI; libsvm, which a channel without ContentType is
        "regression": (XGB_URI, {"num_round": "4", "eval_metric": "rmse,rmsle,mae,mape,mphe",
                       "_tuning_objective_metric": "validation:r2"}, "regression", tv,
                       "libsvm", None),
        "custom-mse": (XGB_URI, {"num_round": "2", "eval_metric": "mse"}, "regression", tv,
                       "libsvm", "text/libsvm"),
        "multiclass": ("tunelab/xgboost:1.7-1", {"num_round": "4", "objective": "multi:softprob",
                       "num_class": "3", "eval_metric": "merror,mlogloss"}, "multiclass", tv,
                       "csv", None),
        "poisson": ("tunelab/xgboost", {"num_round": "2", "objective": "count:poisson",
                    "eval_metric": "poisson-nloglik"}, "regression", tv, "csv", None),
        "gamma": ("tunelab/xgboost", {"num_round": "2", "objective": "reg:gamma",
                  "eval_metric": "gamma-nloglik,gamma-deviance"}, "regression", tv, "csv", None),
        # XGBoost takes tweedie-nloglik only as tweedie-nloglik@rho; the bare name is the
        # tuning objective here, with early stopping on it
        "tweedie": ("tunelab/xgboost", {"num_round": "3", "objective": "reg:tweedie",
                    "tweedie_variance_power": "1.3", "eval_metric": "tweedie-nloglik@1.7",
                    "_tuning_objective_metric": "validation:tweedie-nloglik",
                    "early_stopping_rounds": "2"}, "regression", tv, "csv", None),
        "cox": ("tunelab/xgboost", {"num_round": "2", "objective": "survival:cox",
                "eval_metric": "cox-nloglik"}, "survival", tv, "csv", None),
    }  # fmt: skip
    results = run_all(executor, tmp_path, "xgboost", runs, data)
    every_definition_matched("xgboost", results)
    binary_run = results["binary"]
    assert len(binary_run.metrics["validation:auc"]) == 4  # one point per round
    assert binary_run.final("validation:auc") > 0.95
    assert binary_run.final("validation:accuracy") > 0.88
    assert binary_run.metrics["train:logloss"] == sorted(binary_run.metrics["train:logloss"])[::-1]
    assert results["regression"].metrics["validation:r2"][-1] > 0  # the objective was added
    assert len(results["multiclass"].metrics["validation:mlogloss"]) == 4
    tweedie = [line for line in results["tweedie"].lines if line.startswith("[")]
    assert len(tweedie) == 3 and all(
        "#011validation-tweedie-nloglik@1.7:" in line
        and "#011validation-tweedie-nloglik:" in line
        and "@1.3" not in line
        for line in tweedie
    ), tweedie
    assert len(results["tweedie"].metrics["validation:tweedie-nloglik"]) == 3
    assert len(results["cox"].metrics["validation:cox-nloglik"]) == 2
    assert model_files(binary_run) == ["xgboost-model"]
    import xgboost

    booster = xgboost.Booster(
        model_file=bytearray((binary_run.job_dir / "model" / "xgboost-model").read_bytes())
    )
    assert booster.num_boosted_rounds() == 4


def test_linear_learner(executor: LocalExecutor, tmp_path: Path, data: dict) -> None:
    three = ("train", "validation", "test")
    base = {"epochs": "4", "mini_batch_size": "64", "early_stopping_patience": "10"}
    runs = {
        "binary": ("tunelab/linear-learner", {**base, "predictor_type": "binary_classifier"},
                   "binary", three, "csv", None),
        "multiclass": ("382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1",
                       {**base, "predictor_type": "multiclass_classifier", "num_classes": "3",
                        "learning_rate": "0.1", "mini_batch_size": "10"}, "multiclass", three,
                       "csv", None),
        "regressor": ("tunelab/linear-learner", {**base, "predictor_type": "regressor",
                      "loss": "huber_loss", "huber_delta": "5"}, "regression", three, "csv",
                      None),
    }  # fmt: skip
    results = run_all(executor, tmp_path, "linear-learner", runs, data)
    every_definition_matched("linear-learner", results)
    binary = results["binary"].metrics
    assert len(binary["validation:objective_loss"]) == 4  # one point per epoch
    assert binary["validation:objective_loss"][-1] < binary["validation:objective_loss"][0]
    assert binary["validation:binary_classification_accuracy"] == [
        pytest.approx(binary["validation:binary_classification_accuracy"][0])
    ]
    assert binary["test:binary_classification_accuracy"][-1] > 0.9
    assert binary["validation:roc_auc_score"][-1] > 0.95
    assert results["multiclass"].metrics["test:multiclass_accuracy"][-1] > 0.8
    assert results["regressor"].metrics["validation:mse"][-1] < np.var(data["regression"][1][1])
    assert model_files(results["binary"]) == ["model_algo-1"]


def test_knn(executor: LocalExecutor, tmp_path: Path, data: dict) -> None:
    runs = {
        "classifier": ("tunelab/knn", {"k": "5", "predictor_type": "classifier",
                       "feature_dim": "4", "sample_size": "80", "mini_batch_size": "20"},
                       "multiclass", ("train", "test"), "csv", None),
        "regressor": ("382416733822.dkr.ecr.us-east-1.amazonaws.com/knn:1", {"k": "10",
                      "predictor_type": "regressor", "feature_dim": "10", "sample_size": "300",
                      "dimension_reduction_type": "sign", "dimension_reduction_target": "5",
                      "index_metric": "COSINE"}, "regression", ("train", "test"), "csv", None),
    }  # fmt: skip
    results = run_all(executor, tmp_path, "knn", runs, data)
    every_definition_matched("knn", results)
    classifier = results["classifier"]
    assert classifier.metrics["test:accuracy"] == [
        pytest.approx(classifier.final("test:accuracy"))
    ]
    assert classifier.final("test:accuracy") > 0.85
    assert (
        sum(line.startswith("#test_score (algo-1) : ('accuracy'") for line in classifier.lines)
        == 3
    )
    assert results["regressor"].final("test:mse") < 2 * np.var(data["regression"][1][1])
    assert model_files(classifier) == ["model_algo-1"]


def test_lightgbm(executor: LocalExecutor, tmp_path: Path, data: dict) -> None:
    tv = ("train", "validation")
    image = "tunelab/lightgbm"

    def run(metric: str, objective: str, dataset: str, **extra: str) -> tuple:
        hps = {"num_boost_round": "5", "metric": metric, "_tuning_objective_metric": objective,
               "num_threads": "1"}  # fmt: skip
        return (image, {**hps, **extra}, dataset, tv, "csv", None)

    runs = {
        "auc": run("auc", "binary_error", "binary"),
        "ap": run("average_precision", "cross_entropy", "binary"),
        "multi": run("auto", "multi_error", "multiclass", min_data_in_leaf="5"),
        "auc-mu": run("auc_mu", "multi_logloss", "multiclass", min_data_in_leaf="5"),
        "l1": run("l1", "rmse", "regression"),
        "l2": run("l2", "huber", "regression"),
        "fair": run("fair", "fair", "regression"),
        # SageMaker's LightGBM: JumpStart's script in a framework image; no validation
        # channel, so 20% of train is held out
        "jumpstart": (PYTORCH_URI, {"num_boost_round": "5", "num_threads": "1", **JUMPSTART},
                      "binary",
                      ("train",), "csv", None),
    }  # fmt: skip
    results = run_all(executor, tmp_path, "lightgbm", runs, data)
    every_definition_matched("lightgbm", results)
    assert len(results["auc"].metrics["auc"]) == 5  # one point per round
    assert results["auc"].final("auc") > 0.95
    assert len(results["jumpstart"].metrics["binary_logloss"]) == 5
    assert any("held out for validation" in line for line in results["jumpstart"].lines)
    assert model_files(results["auc"]) == ["model.txt"]


HPS = {
    "tunelab/xgboost": {"num_round": "2"},
    "tunelab/linear-learner": {"predictor_type": "binary_classifier", "epochs": "1"},
    "tunelab/knn": {"k": "1", "predictor_type": "classifier", "feature_dim": "2",
                    "sample_size": "10"},
    "tunelab/lightgbm": {"num_boost_round": "2"},
}  # fmt: skip


@pytest.mark.parametrize("image", list(HPS))
def test_a_malformed_csv_row_is_named(executor: LocalExecutor, tmp_path: Path, image: str) -> None:
    train = tmp_path / "data" / "train.csv"
    train.parent.mkdir()
    train.write_text("1,0.5,2\n0,1.5,3\n\n1,2.5,x4\n0,3,1\n")
    result = run_builtin(
        executor, tmp_path, image, HPS[image], [("train", train.parent, "text/csv")]
    )
    assert result.finished.status is TrainingJobStatus.FAILED
    assert result.failure == (
        "ClientError: channel 'train', file train.csv, line 4: field 3 'x4' is not a number"
    )


def test_csv_problems_name_the_file_and_line(executor: LocalExecutor, tmp_path: Path) -> None:
    train = tmp_path / "data" / "part-2.csv"
    train.parent.mkdir()
    (train.parent / "part-1.csv").write_text("1,0.5,2\n")
    train.write_text("0,1.5,3\n1,2\n")
    hps = HPS["tunelab/xgboost"]
    result = run_builtin(
        executor, tmp_path, "tunelab/xgboost", hps, [("train", train.parent, "text/csv")]
    )
    assert result.failure == (
        "ClientError: channel 'train', file part-2.csv, line 2: 2 fields, but the file's first "
        "row has 3"
    )
    header = tmp_path / "h" / "data" / "train.csv"
    header.parent.mkdir(parents=True)
    header.write_text("label,a,b\n1,2,3\n")
    result = run_builtin(
        executor, tmp_path / "h", "tunelab/xgboost", hps, [("train", header.parent, "text/csv")]
    )
    assert result.failure == (
        "ClientError: channel 'train', file train.csv, line 1: field 1 'label' is not a number "
        "(SageMaker's CSV has no header row)"
    )


def test_xgboost_reads_a_channel_without_content_type_as_libsvm(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    train = tmp_path / "data" / "train.csv"
    train.parent.mkdir()
    train.write_text("1,0.5,2\n0,1.5,3\n")
    result = run_builtin(
        executor, tmp_path, "tunelab/xgboost", {"num_round": "2"}, [("train", train.parent, None)]
    )
    assert result.failure is not None
    assert result.failure.startswith(
        "ClientError: channel 'train', file train.csv, line 1: the label '1,0.5,2' is not a "
        "number (channel 'train' has no ContentType, so it is read as text/libsvm"
    )


def test_bad_labels_and_hyperparameters_are_client_errors(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    train = tmp_path / "data" / "train.csv"
    train.parent.mkdir()
    train.write_text("1,0.5,2\n0,1.5,3\n2,1,1\n")
    hps = {"num_round": "2", "objective": "binary:logistic"}
    result = run_builtin(
        executor, tmp_path, "tunelab/xgboost", hps, [("train", train.parent, "text/csv")]
    )
    assert result.failure == (
        "ClientError: channel 'train', file train.csv, line 3: label 2 must be in [0, 1] for "
        "binary:logistic"
    )
    hps = {"epochs": "0", "predictor_type": "tree", "speed": "3"}
    result = run_builtin(
        executor,
        tmp_path / "b",
        "tunelab/linear-learner",
        hps,
        [("train", train.parent, "text/csv")],
    )
    assert result.failure == (
        "ClientError: Invalid hyperparameters: speed is not a hyperparameter of linear-learner; "
        "predictor_type must be one of binary_classifier, multiclass_classifier, regressor; "
        "got 'tree'; epochs must be an integer in [1, ∞); got '0'"
    )


def test_a_check_xgboost_makes_is_a_client_error_without_its_stack_trace(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    train = tmp_path / "data" / "train.csv"
    train.parent.mkdir()
    train.write_text("1,-0.5,2\n0,1.5,3\n1,1,1\n")  # csv_weights: the second column, < 0
    hps = {"num_round": "2", "objective": "binary:logistic", "csv_weights": "1"}
    result = run_builtin(
        executor, tmp_path, "tunelab/xgboost", hps, [("train", train.parent, "text/csv")]
    )
    assert result.failure == (
        "ClientError: XGBoost refused the data or hyperparameters: Check failed: valid: "
        "Weights must be positive values."
    )
