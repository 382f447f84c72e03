"""The built-ins' metadata is consistent: it is a valid CreateAlgorithm
TrainingSpecification, defaults and recommended ranges are valid values, metric names
are unique, and the values a hyperparameter takes are parsed as the programs read them."""

from __future__ import annotations

import re

import pytest

from tunelab.algorithms import catalog
from tunelab.algorithms.spec import (
    CATEGORICAL,
    CONTINUOUS,
    INTEGER,
    in_bounds,
    parse_value,
    recommended_ranges,
    training_specification,
)
from tunelab.domain.shape_check import check_input

SPECS = list(catalog.BUILTINS.values())


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_the_specification_is_a_valid_create_algorithm_request(spec) -> None:
    request = {
        "AlgorithmName": f"copy-of-{spec.name}",
        "TrainingSpecification": training_specification(spec, f"tunelab/{spec.name}"),
    }
    assert check_input("CreateAlgorithm", request) == []
    assert len(spec.metrics) <= 40  # SageMaker's limit of a TrainingSpecification


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_defaults_recommended_ranges_and_metrics_are_consistent(spec) -> None:
    names = [h.name for h in spec.hyperparameters]
    assert len(names) == len(set(names))
    assert len({m.name for m in spec.metrics}) == len(spec.metrics)
    for metric in spec.metrics:
        assert re.compile(metric.regex).groups >= 1, metric
    for hp in spec.hyperparameters:
        if hp.default is not None:
            parse_value(hp, hp.default)  # raises when the default is not a valid value
        rec = hp.recommended
        if rec is None:
            continue
        assert hp.tunable, hp.name
        if rec.values:
            for value in rec.values:
                parse_value(hp, value)
        else:
            assert hp.type in (INTEGER, CONTINUOUS)
            assert in_bounds(hp, float(rec.low)) and in_bounds(hp, float(rec.high)), hp.name
            assert float(rec.low) < float(rec.high)
    ranges = recommended_ranges(spec)
    listed = [r["Name"] for kind in ranges.values() for r in kind]
    assert sorted(listed) == sorted(h.name for h in spec.hyperparameters if h.recommended)
    for name, values, needed in spec.requires:
        assert spec.hyperparameter(name) is not None and spec.hyperparameter(needed) is not None
        assert all(parse_value(spec.hyperparameter(name), v) == v for v in values)  # type: ignore[arg-type]


def test_sagemakers_recommended_ranges() -> None:
    xgboost = recommended_ranges(catalog.BUILTINS["xgboost"])
    continuous = {
        r["Name"]: (r["MinValue"], r["MaxValue"]) for r in xgboost["ContinuousParameterRanges"]
    }
    integer = {
        r["Name"]: (r["MinValue"], r["MaxValue"]) for r in xgboost["IntegerParameterRanges"]
    }
    assert continuous["eta"] == ("0.1", "0.5") and continuous["alpha"] == ("0", "1000")
    assert continuous["subsample"] == ("0.5", "1") and continuous["min_child_weight"] == (
        "0",
        "120",
    )
    assert integer == {"max_depth": ("0", "10"), "num_round": ("1", "4000")}
    linear = recommended_ranges(catalog.BUILTINS["linear-learner"])
    assert {r["Name"]: r["ScalingType"] for r in linear["ContinuousParameterRanges"]} == {
        "learning_rate": "Logarithmic",
        "wd": "Logarithmic",
        "l1": "Logarithmic",
        "positive_example_weight_mult": "Logarithmic",
    }
    assert linear["CategoricalParameterRanges"] == [
        {"Name": "use_bias", "Values": ["True", "False"]}
    ]
    knn = recommended_ranges(catalog.BUILTINS["knn"])["IntegerParameterRanges"]
    assert {r["Name"]: (r["MinValue"], r["MaxValue"]) for r in knn} == {
        "k": ("1", "1024"),
        "sample_size": ("256", "20000000"),
    }


def test_values_are_read_as_the_programs_read_them() -> None:
    xgb = catalog.BUILTINS["xgboost"]
    assert parse_value(xgb.hyperparameter("num_round"), "10.0") == 10  # type: ignore[arg-type]
    assert parse_value(xgb.hyperparameter("eval_metric"), "auc, error@0.7") == ["auc", "error@0.7"]  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"'ndcg@x' is not one"):
        parse_value(xgb.hyperparameter("eval_metric"), "auc,ndcg@x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^a number in \(0, 1\]$"):
        parse_value(xgb.hyperparameter("subsample"), "0")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'gpu_hist' is not available in this version of tunelab"):
        parse_value(xgb.hyperparameter("tree_method"), "gpu_hist")  # type: ignore[arg-type]
    linear = catalog.BUILTINS["linear-learner"]
    assert parse_value(linear.hyperparameter("learning_rate"), "AUTO") == "auto"  # type: ignore[arg-type]
    assert parse_value(linear.hyperparameter("use_bias"), "False") == "false"  # type: ignore[arg-type]
    assert linear.hyperparameter("use_bias").type == CATEGORICAL  # type: ignore[union-attr]
