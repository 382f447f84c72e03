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
