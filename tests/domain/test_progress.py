"""ImprovementTracker: the best objective and SageMaker's "training jobs not improving"
count (BestObjectiveNotImproving)."""

from __future__ import annotations

from tunelab.domain.enums import ObjectiveType
from tunelab.domain.progress import ImprovementTracker


def streaks(tracker: ImprovementTracker, values: list[float | None]) -> list[int]:
    result = []
    for value in values:
        tracker.add(value)
        result.append(tracker.streak)
    return result


def test_values_that_do_not_beat_the_best_count_as_not_improving() -> None:
    tracker = ImprovementTracker(ObjectiveType.MAXIMIZE)
    assert streaks(tracker, [0.8, 0.8, 0.7, None]) == [0, 1, 2, 3]
    assert (tracker.best, tracker.succeeded, tracker.failed) == (0.8, 3, 1)


def test_small_gains_add_up_to_an_improvement() -> None:
    # each job is a new best by 0.5%: every second one is 1% better than the reference
    tracker = ImprovementTracker(ObjectiveType.MINIMIZE)
    values = [1.0, 0.995, 0.99, 0.985, 0.98, 0.975, 0.97, 0.965]
    assert streaks(tracker, list(values)) == [0, 1, 0, 1, 0, 1, 0, 1]
    assert tracker.best == 0.965
    assert tracker.reference == 0.97


def test_a_new_best_under_one_percent_does_not_move_the_reference() -> None:
    tracker = ImprovementTracker(ObjectiveType.MAXIMIZE)
    assert streaks(tracker, [100.0, 100.6, 100.9, 101.0]) == [0, 1, 2, 0]
    assert tracker.reference == 101.0


def test_one_percent_exactly_is_an_improvement_despite_binary_rounding() -> None:
    tracker = ImprovementTracker(ObjectiveType.MINIMIZE)
    assert streaks(tracker, [0.01, 0.0099, 0.009801]) == [0, 0, 0]


def test_a_reference_of_zero_takes_any_better_value() -> None:
    tracker = ImprovementTracker(ObjectiveType.MINIMIZE)
    assert streaks(tracker, [0.0, 0.0, -1e-9]) == [0, 1, 0]


def test_jobs_not_judged_neither_improve_nor_fail_to() -> None:
    tracker = ImprovementTracker(ObjectiveType.MINIMIZE)
    tracker.add(0.5)
    for partial in (0.9, None, 0.2):  # stopped early by the tuning job
        tracker.add(partial, judged=False)
    assert tracker.streak == 0
    assert tracker.best == 0.2  # still the best value (TargetObjectiveMetricValue)
    assert tracker.reference == 0.5
    assert (tracker.succeeded, tracker.failed) == (3, 1)
    assert tracker.add(0.497) is False  # not a new best: the partial 0.2 is
    assert tracker.streak == 1  # and not 1% better than 0.5
    tracker.add(0.3)
    assert tracker.streak == 0


def test_reached_compares_the_best_in_the_objectives_direction() -> None:
    tracker = ImprovementTracker(ObjectiveType.MAXIMIZE)
    assert not tracker.reached(0.5)
    tracker.add(0.6)
    assert tracker.reached(0.5) and tracker.reached(0.6) and not tracker.reached(0.7)
    assert not tracker.reached(None)
