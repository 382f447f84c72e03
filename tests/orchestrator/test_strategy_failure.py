"""A strategy that raises while the job runs (a defect, or a request it cannot handle):
retrying would raise again, since the strategy restored from the store is the same. The
job winds down at once: its running training jobs are stopped, none starts, and it ends
``Failed`` with the error as its reason, instead of a loop that fails, is adopted again
(by ``tunelab serve``) and restarts its training jobs forever."""

from __future__ import annotations

import pytest

from tests.factories import make_document
from tests.orchestrator.conftest import Harness, epochs_program
from tunelab.domain.enums import TrainingJobStatus, TuningJobStatus
from tunelab.store.base import TrainingJobQuery, iterate_training_jobs
from tunelab.strategies.random import RandomStrategy


@pytest.fixture
def failing_second_suggest(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Random strategy proposes its first batch, then raises."""
    real = RandomStrategy.suggest
    calls = []

    def suggest(self: RandomStrategy, count: int):  # type: ignore[no-untyped-def]
        calls.append(count)
        if len(calls) > 1:
            raise ValueError("min() arg is an empty sequence")
        return real(self, count)

    monkeypatch.setattr(RandomStrategy, "suggest", suggest)


def test_a_strategy_that_raises_fails_the_job_and_stops_its_training_jobs(
    harness: Harness, failing_second_suggest: None
) -> None:
    harness.create(make_document(max_jobs=6, parallel=2))
    # job 1 ends after 1 epoch, job 2 runs for 3: the suggest for job 1's slot raises
    lengths = iter([1, 3])

    def program(request):  # type: ignore[no-untyped-def]
        return epochs_program(epochs=next(lengths))(request)

    final = harness.loop("job-1", harness.executor(program)).run()
    assert final.status is TuningJobStatus.FAILED
    assert final.failure_reason == (
        "the Random strategy failed: ValueError: min() arg is an empty sequence"
    )
    jobs = list(iterate_training_jobs(harness.store, TrainingJobQuery("job-1")))
    statuses = sorted((j.sequence, j.status) for j in jobs)
    assert statuses == [(1, TrainingJobStatus.COMPLETED), (2, TrainingJobStatus.STOPPED)]
    stopped = next(j for j in jobs if j.sequence == 2)
    assert [t.message for t in stopped.transitions if "strategy" in t.message] == [
        "Stopped: the Random strategy failed: ValueError: min() arg is an empty sequence"
    ]


def test_a_stored_definition_whose_metric_regex_this_version_refuses_fails_the_job(
    harness: Harness,
) -> None:
    """A job stored by an older version with a regex that is refused now (its repeats
    would take the server's memory) cannot build its training jobs: it fails saying so,
    instead of a loop that raises at every adoption."""
    document = make_document(max_jobs=2, parallel=1)
    definition = document["TrainingJobDefinition"]["AlgorithmSpecification"]
    definition["MetricDefinitions"].append({"Name": "huge", "Regex": "(?:ab){4000000000}"})
    harness.create(document)
    final = harness.loop("job-1", harness.executor(epochs_program(epochs=1))).run()
    assert final.status is TuningJobStatus.FAILED
    assert final.failure_reason is not None
    assert final.failure_reason.startswith("its training jobs cannot be run: ")
    assert "huge" in final.failure_reason
    assert list(iterate_training_jobs(harness.store, TrainingJobQuery("job-1"))) == []
