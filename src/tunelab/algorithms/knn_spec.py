"""SageMaker's k-nearest neighbors (images ``knn:1``): samples the training rows,
optionally reduces their dimension (random sign projection or a fast
Johnson-Lindenstrauss transform) and indexes them; the ``test`` channel is scored
(``test:accuracy`` for a classifier, ``test:mse`` for a regressor) once, at the end."""

from __future__ import annotations

from tunelab.algorithms.spec import (
    CATEGORICAL,
    INTEGER,
    MAXIMIZE,
    MINIMIZE,
    AlgorithmSpec,
    Channel,
    Hyperparameter,
    Metric,
    Recommended,
)


def _hp(name: str, type_: str, description: str, **kw: object) -> Hyperparameter:
    return Hyperparameter(name, type_, description, **kw)  # type: ignore[arg-type]


HYPERPARAMETERS = (
    _hp("feature_dim", INTEGER, "Number of features in the input data.", low=1, required=True),
    _hp("k", INTEGER, "Number of nearest neighbors.", low=1, required=True, tunable=True,
        recommended=Recommended("1", "1024", scaling="Linear")),
    _hp("predictor_type", CATEGORICAL, "classifier (majority label) or regressor (mean "
        "label).", values=("classifier", "regressor"), required=True),
    _hp("sample_size", INTEGER, "Training rows sampled into the index.", low=1, required=True,
        tunable=True, recommended=Recommended("256", "20000000", scaling="Linear")),
    _hp("dimension_reduction_type", CATEGORICAL, "sign (random projection) or fjlt (fast "
        "Johnson-Lindenstrauss transform); none by default.", values=("sign", "fjlt")),
    _hp("dimension_reduction_target", INTEGER, "Target dimension; required with "
        "dimension_reduction_type.", low=1),
    _hp("index_type", CATEGORICAL, "The index.", default="faiss.Flat",
        values=("faiss.Flat", "faiss.IVFFlat", "faiss.IVFPQ"),
        unavailable=("faiss.IVFFlat", "faiss.IVFPQ")),
    _hp("index_metric", CATEGORICAL, "Distance: L2, INNER_PRODUCT or COSINE.", default="L2",
        values=("L2", "INNER_PRODUCT", "COSINE")),
    _hp("mini_batch_size", INTEGER, "Rows per mini-batch when reading and scoring.",
        default="5000", low=1),
    _hp("faiss_index_ivf_nlists", INTEGER, "Centroids of an IVF index ('auto').",
        default="auto", low=1, special=("auto",)),
    _hp("faiss_index_pq_m", INTEGER, "Sub-vectors of an IVFPQ index.", low=1),
    _hp("seed", INTEGER, "tunelab: seed of sampling and projection.", default="0", low=0),
)  # fmt: skip

HOST = r"#quality_metric: host=\S+, "
CONTENT_TYPES = ("text/csv",)
SPEC = AlgorithmSpec(
    name="knn",
    title="k-Nearest Neighbors",
    description="k-NN classification or regression on a sample of the training rows; "
    "scores the test channel.",
    module="tunelab.algorithms.knn",
    hyperparameters=HYPERPARAMETERS,
    metrics=(
        Metric("test:accuracy", HOST + r"test accuracy <score>=(\S+)", MAXIMIZE, ("classifier",)),
        Metric("test:mse", HOST + r"test mse <score>=(\S+)", MINIMIZE, ("regressor",)),
    ),
    channels=(
        Channel("train", "Rows sampled into the index (CSV, label first).", CONTENT_TYPES, True),
        Channel("test", "Rows scored at the end (test:accuracy or test:mse).", CONTENT_TYPES),
    ),
    default_content_type="application/x-recordio-protobuf",
    unsupported_content_types=("application/x-recordio-protobuf",),
    requires=(("dimension_reduction_type", ("sign", "fjlt"), "dimension_reduction_target"),),
)
