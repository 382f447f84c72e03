"""SageMaker's XGBoost algorithm (images ``sagemaker-xgboost:<version>``): its
hyperparameters, valid ranges, recommended tuning ranges (the "Tune an XGBoost
model" page) and metrics, whose regexes are the ones SageMaker predefines: a round's
line reads ``[3]#011train-rmse:0.41#011validation-rmse:0.47`` (``#011`` is the tab
as SageMaker's log shipping writes it)."""

from __future__ import annotations

from tunelab.algorithms.spec import (
    CATEGORICAL,
    CONTINUOUS,
    FREE_TEXT,
    INTEGER,
    MAXIMIZE,
    MINIMIZE,
    AlgorithmSpec,
    Channel,
    Hyperparameter,
    Metric,
    Recommended,
)

MAXIMIZED = (
    "accuracy", "auc", "aucpr", "balanced_accuracy", "f1", "f1_binary", "f1_macro", "map",
    "ndcg", "precision", "precision_macro", "precision_micro", "r2", "recall",
    "recall_macro", "recall_micro",
)  # fmt: skip
MINIMIZED = (
    "cox-nloglik", "error", "gamma-deviance", "gamma-nloglik", "logloss", "mae", "mape",
    "merror", "mlogloss", "mphe", "mse", "poisson-nloglik", "rmse", "rmsle", "tweedie-nloglik",
)  # fmt: skip
"""SageMaker's list less aft-nloglik and interval-regression-accuracy: XGBoost computes
them (and trains survival:aft) only from a lower and an upper bound of each row's label,
which neither text/csv nor text/libsvm carries. XGBoost takes tweedie-nloglik only as
tweedie-nloglik@rho: the bare name is evaluated at tweedie_variance_power and printed as
tweedie-nloglik, which the predefined regex reads."""
TRAIN_METRICS = ("auc", "error", "logloss", "mae", "merror", "mlogloss", "rmse")
"""The train-set metrics with predefined definitions (SageMaker's list stops at 40)."""
CUSTOM_METRICS = (
    "accuracy", "balanced_accuracy", "f1", "f1_binary", "f1_macro", "mse", "precision",
    "precision_macro", "precision_micro", "r2", "recall", "recall_macro", "recall_micro",
)  # fmt: skip
"""Metrics the container computes itself (XGBoost does not know them)."""
NUMBER = r"([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"


def regex(split: str, metric: str) -> str:
    """SageMaker's predefined regex of ``<split>:<metric>``."""
    return rf".*\[[0-9]+\].*#011{split}-{metric}:{NUMBER}.*"


OBJECTIVES = (
    "reg:squarederror", "reg:linear", "reg:logistic", "reg:gamma", "reg:pseudohubererror",
    "reg:squaredlogerror", "reg:tweedie", "binary:logistic", "binary:logitraw", "binary:hinge",
    "count:poisson", "multi:softmax", "multi:softprob", "rank:pairwise", "rank:ndcg",
    "rank:map", "survival:aft", "survival:cox",
)  # fmt: skip
UNAVAILABLE_OBJECTIVES = ("rank:pairwise", "rank:ndcg", "rank:map", "survival:aft")
"""survival:aft trains on label bounds, which text/csv and text/libsvm do not carry;
survival:cox takes plain labels (a negative one: right-censored at its absolute value)."""


def _rec(low: str, high: str) -> Recommended:
    return Recommended(low, high, scaling="Linear")


def _hp(name: str, type_: str, description: str, **kw: object) -> Hyperparameter:
    return Hyperparameter(name, type_, description, **kw)  # type: ignore[arg-type]


HYPERPARAMETERS = (
    _hp("num_round", INTEGER, "The number of boosting rounds.", low=1, required=True,
        tunable=True, recommended=_rec("1", "4000")),
    _hp("num_class", INTEGER, "The number of classes; required for multi:softmax and "
        "multi:softprob.", low=2),
    _hp("objective", CATEGORICAL, "The learning task and objective.",
        default="reg:squarederror", values=OBJECTIVES, unavailable=UNAVAILABLE_OBJECTIVES),
    _hp("eval_metric", FREE_TEXT, "Comma-separated evaluation metrics for the train and "
        "validation channels (default: the objective's metric). error@t, ndcg@n, map@n and "
        "tweedie-nloglik@rho take a parameter; tweedie-nloglik alone is evaluated at "
        "tweedie_variance_power.",
        values=(*MAXIMIZED, *MINIMIZED, "error@", "ndcg@", "map@", "tweedie-nloglik@")),
    _hp("alpha", CONTINUOUS, "L1 regularization term on weights.", default="0", low=0,
        tunable=True, recommended=_rec("0", "1000")),
    _hp("lambda", CONTINUOUS, "L2 regularization term on weights.", default="1", low=0,
        tunable=True, recommended=_rec("0", "1000")),
    _hp("eta", CONTINUOUS, "Step size shrinkage (learning rate).", default="0.3", low=0,
        high=1, tunable=True, recommended=_rec("0.1", "0.5")),
    _hp("gamma", CONTINUOUS, "Minimum loss reduction to make a further partition.",
        default="0", low=0, tunable=True, recommended=_rec("0", "5")),
    _hp("max_depth", INTEGER, "Maximum depth of a tree (0: no limit).", default="6", low=0,
        tunable=True, recommended=_rec("0", "10")),
    _hp("min_child_weight", CONTINUOUS, "Minimum sum of instance weight in a child.",
        default="1", low=0, tunable=True, recommended=_rec("0", "120")),
    _hp("max_delta_step", CONTINUOUS, "Maximum delta step of each tree's weight estimation.",
        default="0", low=0, tunable=True, recommended=_rec("0", "10")),
    _hp("subsample", CONTINUOUS, "Subsample ratio of the training rows.", default="1",
        low=0, high=1, low_open=True, tunable=True, recommended=_rec("0.5", "1")),
    _hp("colsample_bytree", CONTINUOUS, "Subsample ratio of columns for each tree.",
        default="1", low=0, high=1, low_open=True, tunable=True, recommended=_rec("0.5", "1")),
    _hp("colsample_bylevel", CONTINUOUS, "Subsample ratio of columns for each level.",
        default="1", low=0, high=1, low_open=True, tunable=True, recommended=_rec("0.1", "1")),
    _hp("colsample_bynode", CONTINUOUS, "Subsample ratio of columns for each split.",
        default="1", low=0, high=1, low_open=True, tunable=True, recommended=_rec("0.1", "1")),
    _hp("early_stopping_rounds", INTEGER, "Stop when the validation metric has not "
        "improved for this many rounds.", low=1),
    _hp("booster", CATEGORICAL, "The booster.", default="gbtree",
        values=("gbtree", "gblinear", "dart")),
    _hp("tree_method", CATEGORICAL, "The tree construction algorithm.", default="auto",
        values=("auto", "exact", "approx", "hist", "gpu_hist"), unavailable=("gpu_hist",)),
    _hp("grow_policy", CATEGORICAL, "How new nodes are added.", default="depthwise",
        values=("depthwise", "lossguide")),
    _hp("max_leaves", INTEGER, "Maximum number of leaves (lossguide).", default="0", low=0),
    _hp("max_bin", INTEGER, "Maximum number of histogram bins (hist).", default="256", low=2),
    _hp("sketch_eps", CONTINUOUS, "Sketch accuracy (approx).", default="0.03", low=0, high=1,
        low_open=True, high_open=True),
    _hp("scale_pos_weight", CONTINUOUS, "Balance of positive and negative weights.",
        default="1", low=0, low_open=True),
    _hp("base_score", CONTINUOUS, "Initial prediction score of every row.", low=0),
    _hp("seed", INTEGER, "Random number seed.", default="0", low=-(2**31), high=2**31 - 1,
        low_open=True, high_open=True),
    _hp("nthread", INTEGER, "Number of threads (default: SM_NUM_CPUS).", low=1),
    _hp("verbosity", INTEGER, "XGBoost's own verbosity.", default="1", low=0, high=3),
    _hp("csv_weights", INTEGER, "1: the column after the label holds instance weights (CSV).",
        default="0", low=0, high=1),
    _hp("num_parallel_tree", INTEGER, "Trees grown per round.", default="1", low=1),
    _hp("tweedie_variance_power", CONTINUOUS, "Tweedie variance power.", default="1.5",
        low=1, high=2, low_open=True, high_open=True),
    _hp("sample_type", CATEGORICAL, "Dart: sampling algorithm.", default="uniform",
        values=("uniform", "weighted")),
    _hp("normalize_type", CATEGORICAL, "Dart: normalization.", default="tree",
        values=("tree", "forest")),
    _hp("rate_drop", CONTINUOUS, "Dart: dropout rate.", default="0", low=0, high=1),
    _hp("skip_drop", CONTINUOUS, "Dart: probability of skipping dropout.", default="0", low=0,
        high=1),
    _hp("one_drop", INTEGER, "Dart: 1 always drops one tree.", default="0", low=0, high=1),
    _hp("process_type", CATEGORICAL, "Boosting process.", default="default",
        values=("default", "update")),
    _hp("refresh_leaf", INTEGER, "Refresh updater: update leaves too.", default="1", low=0,
        high=1),
    _hp("updater", FREE_TEXT, "Comma-separated sequence of tree updaters."),
    _hp("monotone_constraints", FREE_TEXT, "Monotonicity constraints, e.g. (0,1,-1)."),
    _hp("interaction_constraints", FREE_TEXT, "Groups of interacting features, "
        "e.g. [[0,1],[2,3]]."),
    _hp("save_model_on_termination", CATEGORICAL, "Save the model when stopped (SIGTERM).",
        default="false", values=("true", "false"), ignore_case=True),
)  # fmt: skip


def _metrics() -> tuple[Metric, ...]:
    validation = [Metric(f"validation:{m}", regex("validation", m), MAXIMIZE) for m in MAXIMIZED]
    validation += [Metric(f"validation:{m}", regex("validation", m), MINIMIZE) for m in MINIMIZED]
    train = [Metric(f"train:{m}", regex("train", m)) for m in TRAIN_METRICS]
    return (*sorted(validation, key=lambda m: m.name), *train)


SPEC = AlgorithmSpec(
    name="xgboost",
    title="XGBoost",
    description="Gradient-boosted trees (XGBoost) with SageMaker's XGBoost algorithm "
    "hyperparameters, data formats and per-round metrics.",
    module="tunelab.algorithms.xgboost",
    hyperparameters=HYPERPARAMETERS,
    metrics=_metrics(),
    channels=(
        Channel("train", "Training rows.", ("text/csv", "text/libsvm", "text/x-libsvm"), True),
        Channel(
            "validation",
            "Rows the validation:* metrics are computed on.",
            ("text/csv", "text/libsvm", "text/x-libsvm"),
        ),
    ),
    default_content_type="text/libsvm",
    metric_hyperparameter="eval_metric",
    unsupported_content_types=("application/x-parquet", "application/x-recordio-protobuf"),
    requires=(("objective", ("multi:softmax", "multi:softprob"), "num_class"),),
)
