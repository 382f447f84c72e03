"""SageMaker's LightGBM algorithm (a JumpStart training script in a framework image):
hyperparameters, recommended ranges (the "Tune a LightGBM model" page) and metrics,
printed per round as LightGBM prints them, ``[12]\tvalidation's auc: 0.981``, and
matched by SageMaker's documented regexes (``auc: ([0-9\\.]+)``)."""

from __future__ import annotations

from tunelab.algorithms.spec import (
    CATEGORICAL,
    CONTINUOUS,
    INTEGER,
    MAXIMIZE,
    MINIMIZE,
    AlgorithmSpec,
    Channel,
    Hyperparameter,
    Metric,
    Recommended,
)

METRICS = {  # name -> direction (SageMaker's table says Maximize for the two loglosses: a slip)
    "rmse": MINIMIZE, "l1": MINIMIZE, "l2": MINIMIZE, "huber": MINIMIZE, "fair": MINIMIZE,
    "binary_logloss": MINIMIZE, "binary_error": MINIMIZE, "auc": MAXIMIZE,
    "average_precision": MAXIMIZE, "multi_logloss": MINIMIZE, "multi_error": MINIMIZE,
    "auc_mu": MAXIMIZE, "cross_entropy": MINIMIZE,
}  # fmt: skip


def _hp(name: str, type_: str, description: str, **kw: object) -> Hyperparameter:
    return Hyperparameter(name, type_, description, **kw)  # type: ignore[arg-type]


def _rec(low: str, high: str) -> Recommended:
    return Recommended(low, high, scaling="Linear")


HYPERPARAMETERS = (
    _hp("num_boost_round", INTEGER, "Maximum boosting rounds.", default="100", low=1),
    _hp("early_stopping_rounds", INTEGER, "Stop when no validation metric improved for this "
        "many rounds (<= 0: never).", default="10"),
    _hp("metric", CATEGORICAL, "Evaluation metric ('auto': rmse, binary_logloss or "
        "multi_logloss by task).", default="auto", values=("auto", *METRICS)),
    _hp("learning_rate", CONTINUOUS, "Shrinkage rate.", default="0.1", low=0, high=1,
        low_open=True, high_open=True, tunable=True, recommended=_rec("0.001", "0.01")),
    _hp("num_leaves", INTEGER, "Maximum leaves per tree.", default="64", low=1, high=131072,
        low_open=True, high_open=True, tunable=True, recommended=_rec("10", "100")),
    _hp("feature_fraction", CONTINUOUS, "Fraction of features per tree.", default="0.9",
        low=0, high=1, low_open=True, tunable=True, recommended=_rec("0.1", "1.0")),
    _hp("bagging_fraction", CONTINUOUS, "Fraction of rows per bagging round.", default="0.9",
        low=0, high=1, low_open=True, tunable=True, recommended=_rec("0.1", "1.0")),
    _hp("bagging_freq", INTEGER, "Bagging every k rounds (0: off).", default="1", low=0,
        tunable=True, recommended=_rec("0", "10")),
    _hp("max_depth", INTEGER, "Maximum tree depth (<= 0: no limit).", default="6",
        tunable=True, recommended=_rec("15", "100")),
    _hp("min_data_in_leaf", INTEGER, "Minimum rows in a leaf.", default="3", low=0,
        tunable=True, recommended=_rec("10", "200")),
    _hp("max_delta_step", CONTINUOUS, "Limit of leaf outputs (<= 0: none).", default="0.0"),
    _hp("lambda_l1", CONTINUOUS, "L1 regularization.", default="0.0", low=0),
    _hp("lambda_l2", CONTINUOUS, "L2 regularization.", default="0.0", low=0),
    _hp("boosting", CATEGORICAL, "Boosting type.", default="gbdt",
        values=("gbdt", "rf", "dart", "goss")),
    _hp("min_gain_to_split", CONTINUOUS, "Minimum gain of a split.", default="0.0", low=0),
    _hp("scale_pos_weight", CONTINUOUS, "Weight of the positive class (binary).",
        default="1.0", low=0, low_open=True),
    _hp("tree_learner", CATEGORICAL, "Tree learner.", default="serial",
        values=("serial", "feature", "data", "voting")),
    _hp("feature_fraction_bynode", CONTINUOUS, "Fraction of features per node.",
        default="1.0", low=0, high=1, low_open=True),
    _hp("is_unbalance", CATEGORICAL, "Unbalanced binary data.", default="False",
        values=("True", "False"), ignore_case=True),
    _hp("max_bin", INTEGER, "Maximum bins per feature.", default="255", low=1, low_open=True),
    _hp("tweedie_variance_power", CONTINUOUS, "Tweedie variance power.", default="1.5", low=1,
        high=2, high_open=True),
    _hp("num_threads", INTEGER, "Threads (0: OpenMP's default).", default="0", low=0),
    _hp("verbosity", INTEGER, "LightGBM's verbosity.", default="1"),
    _hp("use_dask", CATEGORICAL, "Distributed training with Dask.", default="False",
        values=("True", "False"), unavailable=("True",), ignore_case=True),
    _hp("seed", INTEGER, "tunelab: random seed (also of the validation hold-out).",
        default="0", low=0),
)  # fmt: skip

SPEC = AlgorithmSpec(
    name="lightgbm",
    title="LightGBM",
    description="Gradient-boosted trees (LightGBM) as SageMaker's LightGBM algorithm runs "
    "them: the task (regression, binary, multiclass) follows the labels; one metric line "
    "per round.",
    module="tunelab.algorithms.lightgbm",
    hyperparameters=HYPERPARAMETERS,
    metrics=tuple(
        Metric(name, rf"{name}: ([0-9\.]+)", direction) for name, direction in METRICS.items()
    ),
    channels=(
        Channel(
            "train",
            "Training rows (CSV, label first; optional categorical_index.json).",
            ("text/csv",),
            True,
        ),
        Channel(
            "validation", "Validation rows; without it 20% of train is held out.", ("text/csv",)
        ),
        Channel("model", "JumpStart's pre-trained model artifact (not used).", ()),
    ),
    default_content_type="text/csv",
)
