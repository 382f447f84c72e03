"""LiveTrial and with_status: what the executor's events make of a training job."""

from __future__ import annotations

from tunelab.domain.enums import SecondaryStatus
from tunelab.domain.trial import TrainingJob
from tunelab.execution.base import StatusChanged
from tunelab.orchestrator.trials import with_status

DOWNLOADING = SecondaryStatus.DOWNLOADING, "Downloading input data"
TRAINING = SecondaryStatus.TRAINING, "Training image download completed. Training in progress."


def new_job() -> TrainingJob:
    job = TrainingJob(
        name="job-1-001-aaaa",
        tuning_job_name="job-1",
        sequence=1,
        definition_name=None,
        tuned_hyperparameters={},
        creation_time=100.0,
        last_modified_time=100.0,
    )
    return job.transition(SecondaryStatus.STARTING, 100.0, "Launching the training job")


def test_the_training_start_time_is_the_start_of_the_download() -> None:
    job = with_status(new_job(), StatusChanged("job-1-001-aaaa", 101.0, *DOWNLOADING))
    assert job.start_time == 101.0 and job.pid is None
    job = with_status(job, StatusChanged("job-1-001-aaaa", 160.0, *TRAINING, 42, 7))
    assert (job.start_time, job.pid, job.pid_start_time) == (101.0, 42, 7)
    assert [t.status for t in job.transitions][-2:] == [
        SecondaryStatus.DOWNLOADING,
        SecondaryStatus.TRAINING,
    ]


def test_without_data_the_training_start_time_is_the_start_of_training() -> None:
    job = with_status(new_job(), StatusChanged("job-1-001-aaaa", 103.0, *TRAINING, 42, 7))
    assert job.start_time == 103.0
