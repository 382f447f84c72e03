"""The tuning loop on the simulated executor and a fake clock: parallelism,
budget, metrics, counters, best job, completion criteria, stop, failures."""

from __future__ import annotations

from tests.factories import make_document, make_multi_document
from tests.orchestrator.conftest import Harness, accuracy_of, epochs_program
from tunelab.domain.enums import (
    ObjectiveStatus,
    SecondaryStatus,
    TrainingJobStatus,
    TuningJobStatus,
)
from tunelab.execution.base import LaunchRequest
from tunelab.execution.simulated import SimulatedRun
from tunelab.orchestrator.loop import TuningLoop
from tunelab.store.base import TrainingJobQuery, iterate_training_jobs

CONFIG = "HyperParameterTuningJobConfig"


def jobs_of(harness: Harness, name: str):
    return list(
        iterate_training_jobs(harness.store, TrainingJobQuery(name, sort_by="CreationTime"))
    )


def test_runs_the_budget_with_at_most_max_parallel_jobs(harness: Harness) -> None:
    harness.create(make_document(max_jobs=7, parallel=3))
    executor = harness.executor()
    final = harness.loop("job-1", executor).run()
    assert final.status is TuningJobStatus.COMPLETED
    jobs = jobs_of(harness, "job-1")
    assert len(jobs) == 7 == len(executor.launches)
    assert max(p.running for p in harness.progress) == 3
    assert [j.sequence for j in jobs] == list(range(1, 8))
    assert all(
        j.name.startswith(f"job-1-{j.sequence:03d}-") and len(j.name) == len("job-1-001-") + 8
        for j in jobs
    )
    counters = harness.store.counters("job-1")
    assert (counters.completed, counters.objective_succeeded, counters.in_progress) == (7, 7, 0)


def test_final_objective_is_the_latest_value_and_best_job_is_the_max(harness: Harness) -> None:
    harness.create(make_document(max_jobs=5))
    harness.loop("job-1", harness.executor(epochs_program(epochs=4))).run()
    jobs = jobs_of(harness, "job-1")
    for job in jobs:
        expected = accuracy_of(dict(job.tuned_hyperparameters))
        assert job.final_objective_value == expected  # the last epoch's line, not the best
        points = harness.store.metric_points(job.name)
        assert [p.step for p in points] == [0, 1, 2, 3]
        assert points[-1].value == expected
        assert job.objective_status is ObjectiveStatus.SUCCEEDED
        assert [t.status for t in job.transitions] == [
            SecondaryStatus.STARTING,
            SecondaryStatus.TRAINING,
            SecondaryStatus.COMPLETED,
        ]
    best = harness.store.best_training_job(
        "job-1", harness.store.get_tuning_job("job-1").spec.objective_type
    )
    assert best is not None
    assert best.final_objective_value == max(j.final_objective_value for j in jobs)


def test_training_jobs_receive_static_tuned_and_objective_hyperparameters(
    harness: Harness,
) -> None:
    document = make_document(max_jobs=3, StaticHyperParameters={"epochs": "3"})
    harness.create(document)
    executor = harness.executor()
    harness.loop("job-1", executor).run()
    for request, job in zip(executor.launches, jobs_of(harness, "job-1"), strict=True):
        assert request.hyperparameters == {
            **job.tuned_hyperparameters,
            "epochs": "3",
            "_tuning_objective_metric": "validation:accuracy",
        }
        assert request.job_dir.endswith(f"/jobs/job-1/{job.name}")
        assert (
            request.training_job_arn
            == f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{job.name}"
        )


def test_several_definitions_each_job_records_its_definition(harness: Harness) -> None:
    harness.create(make_multi_document(max_jobs=12, parallel=4))
    executor = harness.executor()
    harness.loop("multi-1", executor).run()
    jobs = jobs_of(harness, "multi-1")
    assert {j.definition_name for j in jobs} == {"alpha", "beta"}
    for job, request in zip(jobs, executor.launches, strict=True):
        assert request.definition.name == job.definition_name
        expected = {"alpha": {"lr", "depth", "kernel"}, "beta": {"C"}}[job.definition_name]
        assert set(job.tuned_hyperparameters) == expected


def test_a_job_that_never_reports_the_objective_fails_its_objective_loudly(
    harness: Harness,
) -> None:
    harness.create(make_document(max_jobs=6, parallel=1))

    def silent(request: LaunchRequest) -> SimulatedRun:
        return SimulatedRun(lines=((1.0, "val_acc=0.9"),), duration=2.0)

    final = harness.loop("job-1", harness.executor(silent)).run()
    jobs = jobs_of(harness, "job-1")
    # three jobs in a row without objective: the tuning job fails fast
    assert len(jobs) == 3
    assert final.status is TuningJobStatus.FAILED
    job = jobs[0]
    assert job.status is TrainingJobStatus.COMPLETED
    assert job.objective_status is ObjectiveStatus.FAILED
    assert job.failure_reason == (
        "ObjectiveMetricMissing: the training job never emitted the objective metric "
        "'validation:accuracy': no line of its log matched the regex "
        "'validation:accuracy=([0-9.]+)'"
    )
    assert final.failure_reason.startswith("the first 3 training jobs failed; e.g. job-1-001-")
    assert "ObjectiveMetricMissing" in final.failure_reason


def test_failed_training_jobs_count_as_non_retryable_errors(harness: Harness) -> None:
    harness.create(make_document(max_jobs=4, parallel=2))

    def flaky(request: LaunchRequest) -> SimulatedRun:
        if request.training_job_name.split("-")[2] in ("002", "003"):
            return SimulatedRun(duration=1.0, exit_code=2, failure="ValueError: bad depth")
        return epochs_program()(request)

    final = harness.loop("job-1", harness.executor(flaky)).run()
    assert final.status is TuningJobStatus.COMPLETED
    counters = harness.store.counters("job-1")
    assert (counters.completed, counters.non_retryable_error) == (2, 2)
    failed = [j for j in jobs_of(harness, "job-1") if j.status is TrainingJobStatus.FAILED]
    assert [j.failure_reason for j in failed] == ["ValueError: bad depth"] * 2
    assert all(j.objective_status is ObjectiveStatus.FAILED for j in failed)
    assert all(j.final_objective_value is None for j in failed)


def test_target_objective_value_completes_early_and_stops_running_jobs(harness: Harness) -> None:
    document = make_document(max_jobs=50, parallel=2)
    document[CONFIG]["TuningJobCompletionCriteria"] = {"TargetObjectiveMetricValue": 0.5}
    harness.create(document)

    def staggered(request: LaunchRequest) -> SimulatedRun:
        slow = int(request.training_job_name.split("-")[2]) % 2 == 0
        line = (1.0, "validation:accuracy=0.6")
        return SimulatedRun(lines=(line,), duration=100.0 if slow else 2.0)

    final = harness.loop("job-1", harness.executor(staggered)).run()
    assert final.status is TuningJobStatus.COMPLETED
    jobs = jobs_of(harness, "job-1")
    assert len(jobs) == 2
    stopped = [j for j in jobs if j.status is TrainingJobStatus.STOPPED]
    assert len(stopped) == 1
    # a stopped job keeps the latest value it reported as its objective
    assert stopped[0].final_objective_value == 0.6
    assert stopped[0].objective_status is ObjectiveStatus.SUCCEEDED
    assert SecondaryStatus.STOPPING in [t.status for t in stopped[0].transitions]


def test_best_objective_not_improving_completes_the_job(harness: Harness) -> None:
    document = make_document(max_jobs=50, parallel=1)
    document[CONFIG]["TuningJobCompletionCriteria"] = {
        "BestObjectiveNotImproving": {"MaxNumberOfTrainingJobsNotImproving": 3}
    }
    harness.create(document)

    def flat(request: LaunchRequest) -> SimulatedRun:
        return SimulatedRun(lines=((1.0, "validation:accuracy=0.8"),), duration=2.0)

    final = harness.loop("job-1", harness.executor(flat)).run()
    assert final.status is TuningJobStatus.COMPLETED
    assert len(jobs_of(harness, "job-1")) == 4  # the first sets the best, 3 do not improve it
    assert final.jobs_not_improving == 3


def test_tuning_max_runtime_completes_the_job(harness: Harness) -> None:
    document = make_document(max_jobs=50, parallel=2)
    document[CONFIG]["ResourceLimits"]["MaxRuntimeInSeconds"] = 120
    harness.create(document)
    start = harness.clock.now()
    # each job takes 46 s: two rounds complete, the third is stopped at 120 s
    final = harness.loop("job-1", harness.executor(epochs_program(seconds_per_epoch=15))).run()
    assert final.status is TuningJobStatus.COMPLETED
    assert 120 <= final.end_time - start < 125
    statuses = [j.status for j in jobs_of(harness, "job-1")]
    assert statuses.count(TrainingJobStatus.COMPLETED) == 4
    assert statuses.count(TrainingJobStatus.STOPPED) == 2
    assert len(statuses) == 6


def test_training_max_runtime_is_enforced(harness: Harness) -> None:
    document = make_document(max_jobs=1, parallel=1)
    document["TrainingJobDefinition"]["StoppingCondition"]["MaxRuntimeInSeconds"] = 15
    harness.create(document)
    harness.loop("job-1", harness.executor(epochs_program(seconds_per_epoch=10))).run()
    [job] = jobs_of(harness, "job-1")
    assert job.status is TrainingJobStatus.STOPPED
    assert job.secondary_status is SecondaryStatus.MAX_RUNTIME_EXCEEDED
    assert job.failure_reason.startswith("MaxRuntimeExceeded")
    assert job.final_objective_value is not None  # epoch 1 was reported before the limit


def stopped_elsewhere(harness: Harness, ticks: int) -> TuningLoop:
    """A loop of job-1 (two jobs at a time) after ``ticks`` ticks, its tuning job then
    stored ``Stopping`` as another process (`tunelab stop`) stores it."""
    harness.create(make_document(max_jobs=20, parallel=2))
    loop = harness.loop("job-1", harness.executor())
    loop.start()
    for _ in range(ticks):
        loop.tick()
        loop.executor.wait(5.0)
    stored = harness.store.get_tuning_job("job-1")
    with harness.store.batch() as batch:
        batch.put_tuning_job(stored.evolve(status=TuningJobStatus.STOPPING))
    return loop


def test_a_stop_request_from_another_process_stops_everything(harness: Harness) -> None:
    loop = stopped_elsewhere(harness, ticks=3)
    while not loop.tick():
        loop.executor.wait(5.0)
    assert loop.job.status is TuningJobStatus.STOPPED
    jobs = jobs_of(harness, "job-1")
    assert len(jobs) == 2
    assert all(j.status is TrainingJobStatus.STOPPED for j in jobs)


def test_request_stop_in_process(harness: Harness) -> None:
    harness.create(make_document(max_jobs=20, parallel=2))
    loop = harness.loop("job-1", harness.executor())
    loop.start()
    loop.tick()
    loop.request_stop()
    while not loop.tick():
        loop.executor.wait(5.0)
    assert harness.store.get_tuning_job("job-1").status is TuningJobStatus.STOPPED


def test_grid_runs_every_combination_once(harness: Harness) -> None:
    document = make_document(strategy="Grid", max_jobs=None, parallel=3)
    document[CONFIG]["ParameterRanges"] = {
        "CategoricalParameterRanges": [
            {"Name": "kernel", "Values": ["rbf", "linear"]},
            {"Name": "depth", "Values": ["2", "4", "6"]},
        ]
    }
    harness.create(document)
    final = harness.loop("job-1", harness.executor()).run()
    assert final.status is TuningJobStatus.COMPLETED
    combos = sorted(
        (j.tuned_hyperparameters["kernel"], j.tuned_hyperparameters["depth"])
        for j in jobs_of(harness, "job-1")
    )
    assert combos == sorted((k, d) for k in ("rbf", "linear") for d in ("2", "4", "6"))


def test_a_diverged_or_unreadable_objective_fails_and_never_wins(harness: Harness) -> None:
    harness.create(make_document(max_jobs=3, parallel=1, regex=r"validation:accuracy=(.*?);"))
    endings = iter(["inf", "nan", "0.7"])

    def program(request: LaunchRequest) -> SimulatedRun:
        first, last = "validation:accuracy=0.5;", f"validation:accuracy={next(endings)};"
        return SimulatedRun(lines=((1.0, first), (2.0, last)), duration=3.0)

    final = harness.loop("job-1", harness.executor(program)).run()
    diverged, unreadable, fine = jobs_of(harness, "job-1")
    assert final.status is TuningJobStatus.COMPLETED
    assert diverged.objective_status is ObjectiveStatus.FAILED
    assert diverged.final_objective_value is None
    assert diverged.failure_reason == (
        "ObjectiveMetricNotFinite: the latest value the training job reported for the "
        "objective metric 'validation:accuracy' is inf"
    )
    assert unreadable.objective_status is ObjectiveStatus.SUCCEEDED  # NaN is no report
    assert unreadable.final_objective_value == 0.5
    assert fine.final_objective_value == 0.7
    best = harness.store.best_training_job("job-1", final.spec.objective_type)
    assert best is not None and best.name == fine.name


def test_a_regex_that_matches_but_reads_no_number_says_so(harness: Harness) -> None:
    harness.create(make_document(max_jobs=3, parallel=1, regex=r"validation:accuracy=[0-9.]+"))

    def program(request: LaunchRequest) -> SimulatedRun:
        return SimulatedRun(lines=((1.0, "validation:accuracy=0.5;"),), duration=2.0)

    harness.loop("job-1", harness.executor(program)).run()
    job = jobs_of(harness, "job-1")[0]
    assert job.failure_reason == (
        "ObjectiveMetricMissing: the training job never emitted a number for the objective "
        "metric 'validation:accuracy': its regex 'validation:accuracy=[0-9.]+' matched, but "
        "the latest match read 'validation:accuracy=0.5' (the regex has no group, so the "
        "whole match is read: put the value in a group)"
    )


def test_an_objective_regex_over_its_time_budget_fails_the_objective_saying_why(
    harness: Harness,
) -> None:
    """A regex that backtracks without end on one line is turned off for its job (the
    server goes on); the job's later reports go unread, so its objective fails with the
    reason instead of keeping the value read before."""
    regex = r"validation:accuracy=([0-9.]+)(?:a|aa)*$"
    harness.create(make_document(max_jobs=1, parallel=1, regex=regex))
    runaway = "validation:accuracy=0.9" + "a" * 60 + "b"

    def program(request: LaunchRequest) -> SimulatedRun:
        lines = (
            (1.0, "validation:accuracy=0.5"),
            (2.0, runaway),
            (3.0, "validation:accuracy=0.7"),
        )
        return SimulatedRun(lines=lines, duration=4.0)

    harness.loop("job-1", harness.executor(program)).run()
    job = jobs_of(harness, "job-1")[0]
    assert job.objective_status is ObjectiveStatus.FAILED
    assert job.final_objective_value is None
    assert job.failure_reason.startswith("MetricRegexTooSlow: metric 'validation:accuracy'")


def test_a_lone_failed_job_gives_its_reason_to_the_tuning_job(harness: Harness) -> None:
    harness.create(make_document(max_jobs=1, parallel=1))

    def failing(request: LaunchRequest) -> SimulatedRun:
        return SimulatedRun(duration=1.0, exit_code=2, failure="ClientError: feature_dim is 5")

    final = harness.loop("job-1", harness.executor(failing)).run()
    [job] = jobs_of(harness, "job-1")
    assert final.status is TuningJobStatus.FAILED
    assert final.failure_reason == (
        f"the first 1 training jobs failed; e.g. {job.name}: ClientError: feature_dim is 5"
    )


def test_a_stop_of_the_tuning_job_is_stored_with_the_tick_that_sees_it(harness: Harness) -> None:
    loop = stopped_elsewhere(harness, ticks=3)
    loop.tick()  # a job still staging its data reports nothing meanwhile: Describe must
    jobs = jobs_of(harness, "job-1")  # show Stopping at once, not at its next report
    assert [j.secondary_status for j in jobs] == [SecondaryStatus.STOPPING] * 2


def test_a_stop_a_tick_commit_ran_into_still_stops_the_running_jobs(harness: Harness) -> None:
    loop = stopped_elsewhere(harness, ticks=1)
    # a tick's commit that meets the stored Stopping retries on it and keeps it, as here
    loop.job = harness.store.get_tuning_job("job-1")
    while not loop.tick():
        loop.executor.wait(5.0)
    assert loop.job.status is TuningJobStatus.STOPPED
    jobs = jobs_of(harness, "job-1")
    assert [j.status for j in jobs] == [TrainingJobStatus.STOPPED] * 2
