"""A tuning job whose strategy cannot be built (a request an older version accepted, a
stored state this version cannot read) ends at once: Failed with the reason, or Stopped
when it was being stopped; its unfinished training jobs are stopped. It is never
retried for ever."""

from __future__ import annotations

from tests.factories import make_document
from tests.orchestrator.conftest import Harness
from tunelab.domain.enums import TrainingJobStatus, TuningJobStatus
from tunelab.store.base import TrainingJobQuery, iterate_training_jobs


def zero_epochs(harness: Harness) -> str:
    """A Hyperband job whose MaxResource is inferred as 0 (stored without validation)."""
    document = make_document(strategy="Hyperband", StaticHyperParameters={"epochs": "0"})
    return harness.create(document).name


def test_a_job_whose_strategy_cannot_be_built_fails_with_the_reason(harness: Harness) -> None:
    name = zero_epochs(harness)
    executor = harness.executor()
    final = harness.loop(name, executor).run()
    assert final.status is TuningJobStatus.FAILED
    assert final.failure_reason is not None
    assert final.failure_reason.startswith(
        "the Hyperband strategy could not be set up: invalid Hyperband resources"
    )
    assert final.end_time is not None and executor.launches == []
    assert harness.store.get_lease(name) is None
    assert harness.progress[-1].status is TuningJobStatus.FAILED


def test_such_a_job_being_stopped_ends_stopped(harness: Harness) -> None:
    name = zero_epochs(harness)
    job = harness.store.get_tuning_job(name)
    with harness.store.batch() as batch:
        batch.put_tuning_job(job.evolve(status=TuningJobStatus.STOPPING))
    loop = harness.loop(name, harness.executor())
    loop.start()  # what the server's scheduler does, then it ticks
    assert loop.tick()
    final = harness.store.get_tuning_job(name)
    assert final.status is TuningJobStatus.STOPPED and final.failure_reason is None


def test_a_state_that_cannot_be_read_fails_the_job_and_stops_its_training_jobs(
    harness: Harness,
) -> None:
    name = harness.create(make_document(max_jobs=4, parallel=2)).name
    first = harness.loop(name, harness.executor())
    first.start()
    first.tick()  # two training jobs launched, the strategy's state stored
    first.lease.release()  # as after a crash
    with harness.store.batch() as batch:
        batch.save_strategy_state(name, {"version": 999})
    final = harness.loop(name, harness.executor()).run()
    assert final.status is TuningJobStatus.FAILED
    assert final.failure_reason is not None and "unknown RandomStrategy state version 999" in (
        final.failure_reason
    )
    jobs = list(iterate_training_jobs(harness.store, TrainingJobQuery(name)))
    assert len(jobs) == 2
    assert all(j.status is TrainingJobStatus.STOPPED for j in jobs)
