"""A standalone training job whose stored request cannot run (stored by an older
version, which did not check its metric regexes) ends Failed with the reason; it
neither blocks the other jobs nor is tried again at every scan."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.factories import make_definition
from tests.orchestrator.test_training_leases import NAME, Shared, run_to_end
from tunelab.domain.enums import SecondaryStatus, TrainingJobStatus
from tunelab.domain.trial import TrainingJob

BAD = "bad-regex"


@pytest.fixture
def shared(tmp_path: Path) -> Iterator[Shared]:
    made = Shared(tmp_path)  # creates the good job NAME
    clock = made.clock
    definition = make_definition()
    definition["AlgorithmSpecification"]["MetricDefinitions"].append({"Name": "z", "Regex": "(x"})
    job = TrainingJob(
        name=BAD,
        tuning_job_name=None,
        sequence=0,
        definition_name=None,
        tuned_hyperparameters={},
        creation_time=clock.now(),
        last_modified_time=clock.now(),
    ).transition(SecondaryStatus.STARTING, clock.now(), "Launching the training job")
    made.store.create_training_job(job, {"TrainingJobName": BAD} | definition, None)
    yield made
    made.store.close()


def test_a_stored_job_that_cannot_run_fails_and_the_others_run(shared: Shared) -> None:
    runner, executor = shared.runner()
    runner.adopt()
    bad = shared.store.get_training_job(BAD)
    assert bad.status is TrainingJobStatus.FAILED
    assert bad.secondary_status is SecondaryStatus.FAILED and bad.end_time is not None
    assert bad.failure_reason == (
        "tunelab could not run the training job: metric 'z': regex '(x' is not a valid "
        "regular expression: missing ), unterminated subpattern at position 0"
    )
    assert shared.store.get_training_job_lease(BAD) is None
    assert [r.training_job_name for r in executor.launches] == [NAME]
    runner.adopt()  # not tried again
    assert len(executor.launches) == 1
    run_to_end(runner, executor)
    assert shared.job().status is TrainingJobStatus.COMPLETED
