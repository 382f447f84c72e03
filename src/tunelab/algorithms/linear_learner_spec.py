"""SageMaker's Linear Learner (images ``linear-learner:1``): binary and multiclass
classifiers and regressors trained by mini-batch SGD, Adam or RMSProp. Metrics are
printed as Amazon's algorithms print them and matched by SageMaker's predefined
regexes, e.g. ``#quality_metric: host=algo-1, epoch=3, validation
binary_classification_cross_entropy_objective <loss>=0.231``."""

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

LOSSES = (
    "auto", "logistic", "squared_loss", "absolute_loss", "hinge_loss",
    "eps_insensitive_squared_loss", "eps_insensitive_absolute_loss", "quantile_loss",
    "huber_loss", "softmax_loss",
)  # fmt: skip
SCORES = (
    "binary_classification_accuracy", "binary_f_beta", "precision", "recall", "roc_auc_score",
    "multiclass_accuracy", "multiclass_top_k_accuracy", "macro_precision", "macro_recall",
    "macro_f_beta", "dcg",
)  # fmt: skip
LOSS_METRICS = ("absolute_loss", "mse")
PATTERN = {  # metric -> its text in a log line (the value follows "=")
    **{s: f"{s} <score>" for s in SCORES},
    "binary_f_beta": r"binary_f_\S+ <score>",
    "macro_f_beta": r"macro_f_\S+ <score>",
    "multiclass_top_k_accuracy": r"multiclass_top_k_accuracy_\S+ <score>",
    "absolute_loss": "absolute_loss <loss>",
    "mse": "mse <loss>",
    "objective_loss": r"\S+_objective <loss>",
}
HOST = r"#quality_metric: host=\S+, "
PREDICTOR_TYPES = {  # metric -> the predictor_type values it is reported for
    **dict.fromkeys(
        ("binary_classification_accuracy", "binary_f_beta", "precision", "recall",
         "roc_auc_score"),
        ("binary_classifier",),
    ),
    **dict.fromkeys(
        ("multiclass_accuracy", "multiclass_top_k_accuracy", "macro_precision", "macro_recall",
         "macro_f_beta", "dcg"),
        ("multiclass_classifier",),
    ),
    **dict.fromkeys(LOSS_METRICS, ("regressor",)),
}  # fmt: skip


def _metrics() -> tuple[Metric, ...]:
    out = []
    for split in ("test", "validation"):
        for name in (*LOSS_METRICS, "objective_loss", *SCORES):
            direction = MINIMIZE if name in (*LOSS_METRICS, "objective_loss") else MAXIMIZE
            epoch = r"epoch=\S+, " if (split, name) == ("validation", "objective_loss") else ""
            regex = f"{HOST}{epoch}{split} {PATTERN[name]}=(\\S+)"
            out.append(Metric(f"{split}:{name}", regex, direction, PREDICTOR_TYPES.get(name, ())))
    out += [
        Metric("train:objective_loss", rf"{HOST}epoch=\S+, train \S+_objective <loss>=(\S+)"),
        Metric("train:objective_loss:final", rf"{HOST}train \S+_objective <loss>=(\S+)"),
        Metric("validation:objective_loss:final", rf"{HOST}validation \S+_objective <loss>=(\S+)"),
        Metric("train:progress", r"#progress_metric: host=\S+, completed (\S+) %"),
        Metric(
            "train:throughput", r"#throughput_metric: host=\S+, train throughput=(\S+) records"
        ),
    ]
    for name in ("binary_classification_accuracy", "binary_f_beta", "precision", "recall"):
        out.append(Metric(f"train:{name}", f"{HOST}train {PATTERN[name]}=(\\S+)"))
    out += [Metric(f"train:{n}", f"{HOST}train {PATTERN[n]}=(\\S+)") for n in LOSS_METRICS]
    return tuple(out)


def _hp(name: str, type_: str, description: str, **kw: object) -> Hyperparameter:
    return Hyperparameter(name, type_, description, **kw)  # type: ignore[arg-type]


AUTO = ("auto",)
BOOL = ("true", "false")
HYPERPARAMETERS = (
    _hp("predictor_type", CATEGORICAL, "The task.", required=True,
        values=("binary_classifier", "multiclass_classifier", "regressor")),
    _hp("num_classes", INTEGER, "Number of classes; required for multiclass_classifier.",
        low=3, high=1_000_000),
    _hp("feature_dim", INTEGER, "Number of features ('auto': from the data).", default="auto",
        low=1, special=AUTO),
    _hp("epochs", INTEGER, "Passes over the training data.", default="15", low=1),
    _hp("mini_batch_size", INTEGER, "Rows per mini-batch.", default="1000", low=1,
        tunable=True, recommended=Recommended("100", "5000", scaling="Linear")),
    _hp("learning_rate", CONTINUOUS, "Step size ('auto': per optimizer).", default="auto",
        low=0, low_open=True, special=AUTO, tunable=True,
        recommended=Recommended("1e-05", "1", scaling="Logarithmic")),
    _hp("wd", CONTINUOUS, "L2 regularization ('auto': 0).", default="auto", low=0,
        special=AUTO, tunable=True, recommended=Recommended("1e-07", "1", scaling="Logarithmic")),
    _hp("l1", CONTINUOUS, "L1 regularization ('auto': 0).", default="auto", low=0,
        special=AUTO, tunable=True, recommended=Recommended("1e-07", "1", scaling="Logarithmic")),
    _hp("use_bias", CATEGORICAL, "Learn a bias term.", default="true", values=BOOL,
        ignore_case=True, tunable=True, recommended=Recommended(values=("True", "False"))),
    _hp("positive_example_weight_mult", CONTINUOUS, "Weight of positive rows (binary): a "
        "number, 'auto' (1) or 'balanced'.", default="1.0", low=0, low_open=True,
        special=("auto", "balanced"), tunable=True,
        recommended=Recommended("1e-05", "100000", scaling="Logarithmic")),
    _hp("loss", CATEGORICAL, "The loss ('auto': logistic, softmax_loss or squared_loss).",
        default="auto", values=LOSSES),
    _hp("optimizer", CATEGORICAL, "The optimizer ('auto': adam).", default="auto",
        values=("auto", "sgd", "adam", "rmsprop")),
    _hp("momentum", CONTINUOUS, "SGD momentum ('auto': 0).", default="auto", low=0, high=1,
        high_open=True, special=AUTO),
    _hp("beta_1", CONTINUOUS, "Adam: first moment decay.", default="auto", low=0, high=1,
        high_open=True, special=AUTO),
    _hp("beta_2", CONTINUOUS, "Adam: second moment decay.", default="auto", low=0, high=1,
        high_open=True, special=AUTO),
    _hp("normalize_data", CATEGORICAL, "Standardize features.", default="true", values=BOOL,
        ignore_case=True),
    _hp("normalize_label", CATEGORICAL, "Standardize the label (regressor; 'auto': true).",
        default="auto", values=("auto", *BOOL), ignore_case=True),
    _hp("num_point_for_scaler", INTEGER, "Rows used to compute the scaler.", default="10000",
        low=1),
    _hp("early_stopping_patience", INTEGER, "Epochs without improvement before stopping.",
        default="3", low=1),
    _hp("early_stopping_tolerance", CONTINUOUS, "Relative improvement that counts.",
        default="0.001", low=0, low_open=True),
    _hp("binary_classifier_model_selection_criteria", CATEGORICAL, "How the decision "
        "threshold is chosen (binary).", default="accuracy",
        values=("accuracy", "f_beta", "precision_at_target_recall",
                "recall_at_target_precision", "loss_function")),
    _hp("f_beta", CONTINUOUS, "Beta of the F score.", default="1.0", low=0, low_open=True),
    _hp("target_precision", CONTINUOUS, "For recall_at_target_precision.", default="0.8",
        low=0, high=1, low_open=True),
    _hp("target_recall", CONTINUOUS, "For precision_at_target_recall.", default="0.8", low=0,
        high=1, low_open=True),
    _hp("accuracy_top_k", INTEGER, "k of multiclass_top_k_accuracy.", default="3", low=1),
    _hp("balance_multiclass_weights", CATEGORICAL, "Weigh classes equally (multiclass).",
        default="false", values=BOOL, ignore_case=True),
    _hp("margin", CONTINUOUS, "Margin of hinge_loss.", default="1.0", low=0),
    _hp("quantile", CONTINUOUS, "Quantile of quantile_loss.", default="0.5", low=0, high=1,
        low_open=True, high_open=True),
    _hp("loss_insensitivity", CONTINUOUS, "Epsilon of the eps_insensitive losses.",
        default="0.01", low=0, low_open=True),
    _hp("huber_delta", CONTINUOUS, "Delta of huber_loss.", default="1.0", low=0, low_open=True),
    _hp("init_method", CATEGORICAL, "Weight initialization.", default="uniform",
        values=("uniform", "normal")),
    _hp("init_scale", CONTINUOUS, "Half-width of the uniform initialization.", default="0.07",
        low=0, low_open=True),
    _hp("init_sigma", CONTINUOUS, "Deviation of the normal initialization.", default="0.01",
        low=0, low_open=True),
    _hp("init_bias", CONTINUOUS, "Initial bias.", default="0"),
    _hp("use_lr_scheduler", CATEGORICAL, "Decay the learning rate.", default="true",
        values=BOOL, ignore_case=True),
    _hp("lr_scheduler_step", INTEGER, "Updates between decays ('auto': one epoch).",
        default="auto", low=1, special=AUTO),
    _hp("lr_scheduler_factor", CONTINUOUS, "Decay factor ('auto': 0.99).", default="auto",
        low=0, high=1, low_open=True, high_open=True, special=AUTO),
    _hp("lr_scheduler_minimum_lr", CONTINUOUS, "Learning rate floor ('auto': 1e-5).",
        default="auto", low=0, low_open=True, special=AUTO),
    _hp("bias_lr_mult", CONTINUOUS, "Learning rate multiplier of the bias ('auto': 10).",
        default="auto", low=0, low_open=True, special=AUTO),
    _hp("bias_wd_mult", CONTINUOUS, "Regularization multiplier of the bias ('auto': 0).",
        default="auto", low=0, special=AUTO),
    _hp("num_models", INTEGER, "Models trained in parallel; tunelab trains one (as SageMaker "
        "does under automatic model tuning).", default="auto", low=1, high=1, special=AUTO),
    _hp("num_calibration_samples", INTEGER, "Rows used to choose the threshold.",
        default="10000000", low=1),
    _hp("unbias_data", CATEGORICAL, "Center the features.", default="auto",
        values=("auto", *BOOL), ignore_case=True),
    _hp("unbias_label", CATEGORICAL, "Center the label (regressor).", default="auto",
        values=("auto", *BOOL), ignore_case=True),
    _hp("seed", INTEGER, "Random seed (tunelab: fixes initialization and shuffling).",
        default="0", low=0),
)  # fmt: skip

CONTENT_TYPES = ("text/csv",)
SPEC = AlgorithmSpec(
    name="linear-learner",
    title="Linear Learner",
    description="Linear models for binary or multiclass classification and regression, "
    "trained with mini-batch SGD/Adam/RMSProp; validation:objective_loss every epoch.",
    module="tunelab.algorithms.linear_learner",
    hyperparameters=HYPERPARAMETERS,
    metrics=_metrics(),
    channels=(
        Channel("train", "Training rows (CSV, label first).", CONTENT_TYPES, True),
        Channel(
            "validation",
            "Early stopping, threshold choice and validation:* metrics.",
            CONTENT_TYPES,
        ),
        Channel("test", "Rows the test:* metrics are computed on.", CONTENT_TYPES),
    ),
    default_content_type="application/x-recordio-protobuf",
    unsupported_content_types=("application/x-recordio-protobuf",),
    requires=(("predictor_type", ("multiclass_classifier",), "num_classes"),),
)
