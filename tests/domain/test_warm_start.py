"""A parent's training jobs as observations in the child's space."""

from __future__ import annotations

from tests.factories import make_document
from tunelab.domain.enums import ObjectiveStatus, TrainingJobStatus
from tunelab.domain.request import parse_tuning_job
from tunelab.domain.search_space import (
    CategoricalRange,
    ContinuousRange,
    IntegerRange,
    SearchSpace,
)
from tunelab.domain.trial import TrainingJob
from tunelab.domain.warm_start import parent_events


def job(
    name: str,
    tuned: dict[str, str],
    value: float | None,
    status: TrainingJobStatus = TrainingJobStatus.COMPLETED,
) -> TrainingJob:
    return TrainingJob(
        name,
        "parent",
        1,
        None,
        tuned,
        0.0,
        status=status,
        objective_status=ObjectiveStatus.SUCCEEDED
        if value is not None
        else ObjectiveStatus.FAILED,
        final_objective_value=value,
    )


def test_values_are_read_in_the_child_space_clipped_or_left_out() -> None:
    parent = parse_tuning_job(make_document(StaticHyperParameters={"depth": "4"})).definitions[0]
    parent = parent.__class__(
        **{
            **parent.__dict__,
            "search_space": SearchSpace(
                (
                    ContinuousRange("lr", 0.0001, 1.0),
                    CategoricalRange("kernel", ("rbf", "linear", "poly")),
                )
            ),
            "static_hyperparameters": {"depth": "4"},
        }
    )
    child = SearchSpace(
        (
            ContinuousRange("lr", 0.001, 0.1),  # narrower: values are clipped
            CategoricalRange("kernel", ("rbf", "linear")),  # 'poly' is gone
            IntegerRange("depth", 1, 8),  # static in the parent, tuned here
        )
    )
    jobs = [
        job("a", {"lr": "0.5", "kernel": "rbf"}, 0.9),
        job("b", {"lr": "0.01", "kernel": "poly"}, 0.8),
        job("c", {"lr": "0.0001", "kernel": "linear"}, None, TrainingJobStatus.FAILED),
        job("d", {"lr": "0.01", "kernel": "rbf"}, None, TrainingJobStatus.IN_PROGRESS),
    ]
    events = parent_events(child, parent, jobs)
    assert [(e.trial_id, dict(e.params), e.value, e.status) for e in events] == [
        ("a", {"lr": 0.1, "kernel": "rbf", "depth": 4}, 0.9, TrainingJobStatus.COMPLETED),
        ("c", {"lr": 0.001, "kernel": "linear", "depth": 4}, None, TrainingJobStatus.FAILED),
    ]
    assert all(e.is_final for e in events)


def test_a_discrete_value_the_child_no_longer_offers_is_left_out_not_clipped() -> None:
    """An integer outside the child's narrower range is no configuration the child could
    run: clipping it to the bound would mark the bound as evaluated (never run then)."""
    parent = parse_tuning_job(make_document()).definitions[0]
    child = SearchSpace((IntegerRange("depth", 1, 4), CategoricalRange("kernel", ("rbf",))))
    jobs = [
        job("wide", {"depth": "7", "kernel": "rbf", "lr": "0.01"}, 0.5),
        job("inside", {"depth": "4", "kernel": "rbf", "lr": "0.01"}, 0.6),
    ]
    events = parent_events(child, parent, jobs)
    assert [(e.trial_id, dict(e.params)) for e in events] == [
        ("inside", {"depth": 4, "kernel": "rbf"})
    ]
