"""BestObjectiveNotImproving in the tuning loop: which training jobs count as "not
improving" (those that ran their full course) and what improving means (1% over a
reference that keeps small gains), and what a job the tuning job stopped shows."""

from __future__ import annotations

import math
from typing import Any

from tests.factories import make_document
from tests.orchestrator.conftest import Harness
from tunelab.domain.enums import ObjectiveStatus, TrainingJobStatus, TuningJobStatus
from tunelab.execution.base import LaunchRequest
from tunelab.execution.simulated import SimulatedRun
from tunelab.orchestrator.recovery import recover
from tunelab.orchestrator.stopping_jobs import ran_full_course
from tunelab.store.base import TrainingJobQuery, iterate_training_jobs

CONFIG = "HyperParameterTuningJobConfig"


def jobs_by_end(harness: Harness) -> list:
    jobs = iterate_training_jobs(harness.store, TrainingJobQuery("job-1"))
    return sorted(jobs, key=lambda j: (j.end_time, j.sequence))


def not_improving(document: dict[str, Any], jobs: int) -> dict[str, Any]:
    document[CONFIG]["TuningJobCompletionCriteria"] = {
        "BestObjectiveNotImproving": {"MaxNumberOfTrainingJobsNotImproving": jobs}
    }
    return document


def plateau(request: LaunchRequest) -> SimulatedRun:
    """Every configuration ends at 0.8 after 9 epochs; the larger its lr, the lower it
    starts (so that Hyperband's rungs stop some)."""
    start = 0.7 - 0.4 * (math.log10(float(request.hyperparameters["lr"])) + 3) / 2
    lines = tuple(
        (5.0 * (e + 1), f"validation:accuracy={0.8 - (0.8 - start) * (8 - e) / 8:.6f}")
        for e in range(9)
    )
    return SimulatedRun(lines=lines, duration=46.0)


def test_jobs_hyperband_stops_at_a_rung_do_not_count_as_not_improving(harness: Harness) -> None:
    document = make_document(
        strategy="Hyperband", max_jobs=60, parallel=3, StaticHyperParameters={"epochs": "9"}
    )
    document[CONFIG]["RandomSeed"] = 4
    harness.create(not_improving(document, 3))
    final = harness.loop("job-1", harness.executor(plateau)).run()
    assert final.status is TuningJobStatus.COMPLETED
    jobs = jobs_by_end(harness)
    full = [j for j in jobs if ran_full_course(j)]
    assert len(full) < len(jobs)  # rungs stopped some: they are not judged
    # the first full-length job sets the best; then 3 full-length jobs do not improve on
    # it (one more may end in the same tick: it ended after the tuning job completed)
    assert [j.final_objective_value for j in full] == [0.8] * len(full)
    assert len(full) >= 4
    assert final.jobs_not_improving == 3


def test_a_best_that_keeps_improving_in_small_steps_goes_on(harness: Harness) -> None:
    values = [f"{0.8 * 1.005**k:.6f}" for k in range(8)]  # each 0.5% over the previous
    document = make_document(strategy="Grid", max_jobs=None, parallel=1)
    document[CONFIG]["ParameterRanges"] = {
        "CategoricalParameterRanges": [{"Name": "accuracy", "Values": values}]
    }
    harness.create(not_improving(document, 3))

    def constant(request: LaunchRequest) -> SimulatedRun:
        line = f"validation:accuracy={request.hyperparameters['accuracy']}"
        return SimulatedRun(lines=((1.0, line),), duration=2.0)

    final = harness.loop("job-1", harness.executor(constant)).run()
    assert final.status is TuningJobStatus.COMPLETED
    ran = [j.tuned_hyperparameters["accuracy"] for j in jobs_by_end(harness)]
    assert ran == values  # all of the grid: 1% better every second job
    assert final.jobs_not_improving == 1


def test_a_job_stopped_by_the_completion_before_reporting_is_not_blamed(
    harness: Harness,
) -> None:
    document = make_document(max_jobs=10, parallel=2)
    document[CONFIG]["TuningJobCompletionCriteria"] = {"TargetObjectiveMetricValue": 0.5}
    harness.create(document)

    def fast_then_slow(request: LaunchRequest) -> SimulatedRun:
        if request.training_job_name.split("-")[2] == "001":
            return SimulatedRun(lines=((1.0, "validation:accuracy=0.6"),), duration=2.0)
        return SimulatedRun(lines=((50.0, "validation:accuracy=0.7"),), duration=60.0)

    final = harness.loop("job-1", harness.executor(fast_then_slow)).run()
    assert final.status is TuningJobStatus.COMPLETED
    first, second = jobs_by_end(harness)
    assert first.status is TrainingJobStatus.COMPLETED
    assert second.status is TrainingJobStatus.STOPPED
    assert second.final_objective_value is None
    assert second.objective_status is ObjectiveStatus.FAILED  # not evaluated
    assert second.failure_reason is None  # the program did nothing wrong
    assert not ran_full_course(second)
    assert final.jobs_not_improving == 0


def test_recovery_counts_the_same_jobs(harness: Harness) -> None:
    document = make_document(max_jobs=10, parallel=2)
    document[CONFIG]["TuningJobCompletionCriteria"] = {"TargetObjectiveMetricValue": 0.5}
    harness.create(document)

    def fast_then_slow(request: LaunchRequest) -> SimulatedRun:
        if request.training_job_name.split("-")[2] == "001":
            return SimulatedRun(lines=((1.0, "validation:accuracy=0.6"),), duration=2.0)
        return SimulatedRun(lines=((1.5, "validation:accuracy=0.4"),), duration=60.0)

    executor = harness.executor(fast_then_slow)
    final = harness.loop("job-1", executor).run()
    assert [j.final_objective_value for j in jobs_by_end(harness)] == [0.6, 0.4]
    state = recover(harness.store, executor, final, harness.clock)
    assert state.tracker.streak == final.jobs_not_improving == 0  # 0.4: stopped, not judged
    assert (state.tracker.succeeded, state.tracker.best) == (2, 0.6)


def test_a_job_that_completes_without_the_objective_is_still_told_why(
    harness: Harness,
) -> None:
    harness.create(make_document(max_jobs=4, parallel=1))

    def silent(request: LaunchRequest) -> SimulatedRun:
        ok = request.training_job_name.split("-")[2] == "001"
        line = "validation:accuracy=0.6" if ok else "val_acc=0.9"
        return SimulatedRun(lines=((1.0, line),), duration=2.0)

    final = harness.loop("job-1", harness.executor(silent)).run()
    assert final.status is TuningJobStatus.COMPLETED
    silent_jobs = jobs_by_end(harness)[1:]
    assert all(j.failure_reason.startswith("ObjectiveMetricMissing: ") for j in silent_jobs)
    assert final.jobs_not_improving == 3  # they ran their course without improving


def test_the_count_is_stored_as_it_changes_for_describe(harness: Harness) -> None:
    harness.create(not_improving(make_document(max_jobs=20, parallel=1), 5))

    def flat(request: LaunchRequest) -> SimulatedRun:
        return SimulatedRun(lines=((1.0, "validation:accuracy=0.8"),), duration=2.0)

    loop = harness.loop("job-1", harness.executor(flat))
    loop.start()
    seen = []
    while not loop.tick():
        stored = harness.store.get_tuning_job("job-1")
        assert stored.jobs_not_improving == loop.tracker.streak
        seen.append(stored.jobs_not_improving)
        loop.executor.wait(5.0)
    assert sorted(set(seen)) == [0, 1, 2, 3, 4]
    assert harness.store.get_tuning_job("job-1").jobs_not_improving == 5


def constant_pairs(request: LaunchRequest) -> SimulatedRun:
    """Every job ends at 0.8 after 3 s: two jobs in parallel end in the same tick."""
    return SimulatedRun(lines=((1.0, "validation:accuracy=0.8"),), duration=3.0)


def test_jobs_ending_in_the_same_tick_do_not_count_past_the_limit(harness: Harness) -> None:
    """Pairs of jobs end together: 1 (the first sets the best), 3, then 5 not improving.
    The job completes when the count reaches 4, so the pair's second job ended after
    the tuning job completed: it counts neither way, and the count stays at 4."""
    harness.create(not_improving(make_document(max_jobs=20, parallel=2), 4))
    final = harness.loop("job-1", harness.executor(constant_pairs)).run()
    assert final.status is TuningJobStatus.COMPLETED
    assert len(jobs_by_end(harness)) == 6
    assert final.jobs_not_improving == 4
    finishing = [p.finishing for p in harness.progress if p.finishing]
    assert finishing[0] == (
        "the best objective did not improve in 4 training jobs (BestObjectiveNotImproving)"
    )
    state = recover(harness.store, harness.executor(constant_pairs), final, harness.clock)
    assert state.tracker.streak == 5  # recovery replays both: the stored count stays at 4


def test_an_improvement_in_the_same_tick_does_not_undo_the_limit(harness: Harness) -> None:
    """The 5th job ends as the 4th not improving; the 6th, ending in the same tick, is
    the new best: the tuning job completes all the same (the limit was reached first)."""
    harness.create(not_improving(make_document(max_jobs=20, parallel=2), 4))

    def best_last(request: LaunchRequest) -> SimulatedRun:
        value = "0.9" if request.training_job_name.split("-")[2] == "006" else "0.8"
        return SimulatedRun(lines=((1.0, f"validation:accuracy={value}"),), duration=3.0)

    final = harness.loop("job-1", harness.executor(best_last)).run()
    assert final.status is TuningJobStatus.COMPLETED
    assert [j.final_objective_value for j in jobs_by_end(harness)] == [0.8] * 5 + [0.9]
    assert final.jobs_not_improving == 4
