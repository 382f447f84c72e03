"""A loop that dies mid-job and a new loop that resumes it: nothing lost, nothing
run twice, the strategy continues exactly where it was."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.factories import make_document, make_multi_document
from tests.orchestrator.conftest import Harness
from tunelab.domain.enums import SecondaryStatus, TrainingJobStatus, TuningJobStatus
from tunelab.domain.errors import ConflictError
from tunelab.domain.trial import MetricPoint
from tunelab.execution.clock import FakeClock
from tunelab.store.base import Lease, TrainingJobQuery, iterate_training_jobs
from tunelab.store.sql.store import SqlStore


def jobs_of(harness: Harness, name: str):
    return list(
        iterate_training_jobs(harness.store, TrainingJobQuery(name, sort_by="CreationTime"))
    )


def run_uninterrupted(tmp_path: Path, document: dict) -> dict[int, dict[str, str]]:
    store = SqlStore(f"sqlite:///{tmp_path / 'reference.db'}")
    harness = Harness(store, FakeClock(), tmp_path / "reference")
    harness.create(document)
    harness.loop(document["HyperParameterTuningJobName"], harness.executor()).run()
    result = {
        j.sequence: dict(j.tuned_hyperparameters)
        for j in jobs_of(harness, document["HyperParameterTuningJobName"])
    }
    store.close()
    return result


def crash_after(harness: Harness, name: str, ticks: int) -> None:
    """Run ``ticks`` ticks, then abandon the loop as a killed process would: no
    lease release, no cleanup."""
    loop = harness.loop(name, harness.executor())
    loop.start()
    for _ in range(ticks):
        loop.tick()
        loop.executor.wait(5.0)


@pytest.mark.parametrize(
    "document",
    [make_document(max_jobs=9, parallel=3), make_multi_document(max_jobs=9, parallel=3)],
)
def test_resume_keeps_finished_jobs_restarts_running_ones_and_continues_the_strategy(
    harness: Harness, tmp_path: Path, document: dict
) -> None:
    document = dict(
        document,
        HyperParameterTuningJobConfig=dict(
            document["HyperParameterTuningJobConfig"], RandomSeed=11
        ),
    )
    name = document["HyperParameterTuningJobName"]
    reference = run_uninterrupted(tmp_path, document)
    harness.create(document)
    crash_after(harness, name, ticks=12)
    before = {j.name: j for j in jobs_of(harness, name)}
    finished_before = {n for n, j in before.items() if j.status.is_terminal}
    running_before = {n for n, j in before.items() if not j.status.is_terminal}
    assert finished_before and running_before  # the crash hit a job in the middle

    executor = harness.executor()
    final = harness.loop(name, executor).run()
    assert final.status is TuningJobStatus.COMPLETED
    after = {j.name: j for j in jobs_of(harness, name)}
    # the budget is spent exactly once: no job lost, none added
    assert sorted(j.sequence for j in after.values()) == list(range(1, 10))
    # finished jobs are kept untouched and never run again
    for n in finished_before:
        assert after[n] == before[n]
    relaunched = {r.training_job_name for r in executor.launches}
    assert not relaunched & finished_before
    # jobs that were running are run again under their name, as attempt 2
    assert running_before <= relaunched
    for n in running_before:
        job = after[n]
        assert job.status is TrainingJobStatus.COMPLETED
        assert job.attempt == 2
        statuses = [t.status for t in job.transitions]
        assert statuses.index(SecondaryStatus.INTERRUPTED) < statuses.index(
            SecondaryStatus.RESTARTING
        )
        points = harness.store.metric_points(n)
        assert [p.step for p in points] == [0, 1, 2]  # the first attempt's points are gone
    # the strategy continued: the same configurations as an uninterrupted run
    assert {j.sequence: dict(j.tuned_hyperparameters) for j in after.values()} == reference


def test_jobs_committed_but_never_started_are_launched_once(harness: Harness) -> None:
    harness.create(make_document(max_jobs=4, parallel=2))
    loop = harness.loop("job-1", harness.executor())
    loop.start()
    loop.tick()  # commits two jobs and submits them; the process dies before any poll
    assert all(j.pid is None for j in jobs_of(harness, "job-1"))
    executor = harness.executor()
    harness.loop("job-1", executor).run()
    jobs = jobs_of(harness, "job-1")
    assert len(jobs) == 4
    assert all(j.attempt == 1 and j.status is TrainingJobStatus.COMPLETED for j in jobs)
    assert len(executor.launches) == 4


def test_a_job_stopped_while_its_process_was_dead_ends_stopped(harness: Harness) -> None:
    harness.create(make_document(max_jobs=6, parallel=2))
    crash_after(harness, "job-1", ticks=3)
    stored = harness.store.get_tuning_job("job-1")
    with harness.store.batch() as batch:
        batch.put_tuning_job(stored.evolve(status=TuningJobStatus.STOPPING))
    executor = harness.executor()
    final = harness.loop("job-1", executor).run()
    assert final.status is TuningJobStatus.STOPPED
    assert executor.launches == []
    jobs = jobs_of(harness, "job-1")
    assert all(j.status.is_terminal for j in jobs)
    for job in jobs:
        if job.status is TrainingJobStatus.STOPPED:
            points = [p.value for p in harness.store.metric_points(job.name)]
            assert job.final_objective_value == (points[-1] if points else None)


def test_a_live_lease_of_another_process_is_respected(harness: Harness) -> None:
    harness.create(make_document())
    harness.store.swap_lease("job-1", None, Lease("otherhost:123:456", harness.clock.now() + 30))
    with pytest.raises(ConflictError, match="is being run by another process"):
        harness.loop("job-1", harness.executor()).run()


def test_an_expired_lease_is_taken_over(harness: Harness) -> None:
    harness.create(make_document(max_jobs=2))
    harness.store.swap_lease("job-1", None, Lease("otherhost:123:456", harness.clock.now() - 1))
    assert harness.loop("job-1", harness.executor()).run().status is TuningJobStatus.COMPLETED
    assert harness.store.get_lease("job-1") is None


def test_the_lease_of_a_dead_local_process_is_taken_over_at_once(harness: Harness) -> None:
    harness.create(make_document(max_jobs=2))
    dead = f"{socket.gethostname()}:999999999:1"
    harness.store.swap_lease("job-1", None, Lease(dead, harness.clock.now() + 3600))
    assert harness.loop("job-1", harness.executor()).run().status is TuningJobStatus.COMPLETED


def test_a_hyperband_job_stopped_while_its_process_was_dead_counts_up_to_max_resource(
    harness: Harness,
) -> None:
    document = make_document(strategy="Hyperband", max_jobs=4, parallel=2)
    config = document["HyperParameterTuningJobConfig"]
    config["StrategyConfig"] = {"HyperbandStrategyConfig": {"MaxResource": 3}}
    harness.create(document)
    crash_after(harness, "job-1", ticks=1)
    unfinished = [j for j in jobs_of(harness, "job-1") if not j.status.is_terminal]
    assert unfinished
    objective = "validation:accuracy"
    stored = harness.store.get_tuning_job("job-1")
    with harness.store.batch() as batch:
        for job in unfinished:  # reports past MaxResource (3), before the stop landed
            points = [MetricPoint(objective, 0.1 * (k + 1), 1.0 + k, k) for k in range(5)]
            batch.add_metric_points(job.name, points)
        batch.put_tuning_job(stored.evolve(status=TuningJobStatus.STOPPING))
    harness.loop("job-1", harness.executor()).run()
    for job in jobs_of(harness, "job-1"):
        if job.name in {u.name for u in unfinished}:
            assert job.status is TrainingJobStatus.STOPPED
            assert job.final_objective_value == pytest.approx(0.3)  # the 3rd report's
