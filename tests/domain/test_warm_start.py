"""A parent's training jobs as observations in the child's space, and which of the
child's combinations they leave to run."""

from __future__ import annotations

import pytest

from tests.factories import make_document
from tunelab.domain.enums import ObjectiveStatus, TrainingJobStatus, TuningJobStatus, WarmStartType
from tunelab.domain.request import parse_tuning_job
from tunelab.domain.search_space import (
    CategoricalRange,
    ContinuousRange,
    IntegerRange,
    SearchSpace,
)
from tunelab.domain.trial import TrainingJob
from tunelab.domain.tuning_job import TuningJob, TuningJobSpec
from tunelab.domain.warm_start import Parent, check_parents, parent_events
from tunelab.domain.warm_start_events import ParentEvent, already_evaluated


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


FOUR = {"CategoricalParameterRanges": [{"Name": "x", "Values": ["a", "b", "c", "d"]}]}


def four(
    name: str, strategy: str, max_jobs: int | None, kind: str | None = None, steps: str = "1"
) -> TuningJobSpec:
    """A request over x in a..d (static ``steps``), a warm-start child of 'parent' when
    ``kind`` is given."""
    document = make_document(name, strategy, max_jobs, StaticHyperParameters={"steps": steps})
    document["HyperParameterTuningJobConfig"]["ParameterRanges"] = FOUR
    if kind is not None:
        document["WarmStartConfig"] = {
            "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": "parent"}],
            "WarmStartType": kind,
        }
    return parse_tuning_job(document)


def parent_that_ran(*values: str, steps: str = "1") -> Parent:
    spec = four("parent", "Random", len(values), steps=steps)
    jobs = tuple(job(f"p{i}", {"x": v}, 0.5) for i, v in enumerate(values))
    return Parent(TuningJob(spec, TuningJobStatus.COMPLETED, 0.0, 0.0), len(jobs), jobs)


def test_a_parents_job_counts_as_evaluated_only_under_the_childs_conditions() -> None:
    """IdenticalDataAndAlgorithm and the same static values: the child never runs the
    configuration again; TransferLearning (new data, another algorithm) or another
    static value: the result informs but excludes nothing."""
    parent = parent_that_ran("a", "b")
    definition, jobs = parent.job.spec.definitions[0], parent.jobs
    space = definition.search_space

    def flags(kind: WarmStartType, static: dict[str, str]) -> list[bool]:
        events = parent_events(space, definition, jobs, kind, static)
        return [isinstance(e, ParentEvent) and already_evaluated(e) for e in events]

    identical = WarmStartType.IDENTICAL_DATA_AND_ALGORITHM
    assert flags(identical, {"steps": "1"}) == [True, True]
    assert flags(identical, {"steps": "2"}) == [False, False]
    assert flags(WarmStartType.TRANSFER_LEARNING, {"steps": "1"}) == [False, False]
    events = parent_events(space, definition, jobs, WarmStartType.TRANSFER_LEARNING, {})
    assert [e.value for e in events] == [0.5, 0.5]  # still observations of the child


@pytest.mark.parametrize("strategy", ["Random", "Grid"])
def test_transfer_learning_or_new_statics_leave_every_combination_to_run(strategy: str) -> None:
    """Parents that ran all 4 points refuse an IdenticalDataAndAlgorithm child (nothing
    left), not a TransferLearning child nor one with another static value."""
    parent = parent_that_ran("a", "b", "c", "d")
    for kind, steps, refused in [
        ("IdenticalDataAndAlgorithm", "1", True),
        ("IdenticalDataAndAlgorithm", "2", False),
        ("TransferLearning", "1", False),
    ]:
        child = four("child", strategy, 4, kind, steps)
        assert bool(check_parents(child, [parent], 500)) is refused, (kind, steps)


def test_a_grid_childs_max_jobs_is_the_number_of_grid_points_left() -> None:
    """With IdenticalDataAndAlgorithm only the untried points run, so
    MaxNumberOfTrainingJobs, when given, is their number (here 2 of 4)."""
    parent = parent_that_ran("a", "c")
    kind = "IdenticalDataAndAlgorithm"
    assert check_parents(four("child", "Grid", 2, kind), [parent], 500) == []
    assert check_parents(four("child", "Grid", None, kind), [parent], 500) == []
    assert [str(v) for v in check_parents(four("child", "Grid", 4, kind), [parent], 500)] == [
        "HyperParameterTuningJobConfig.ResourceLimits.MaxNumberOfTrainingJobs: the parent jobs "
        "already evaluated 2 of the 4 combinations of the hyperparameter ranges, and the Grid "
        "strategy never runs one twice: must equal the number of grid points left to run (2) "
        "with the Grid strategy, or be left out; got 4"
    ]
    transfer = four("child", "Grid", 4, "TransferLearning")  # every point runs again
    assert check_parents(transfer, [parent], 500) == []
