"""Training jobs' logs as the log streams of SageMaker's CloudWatch Logs group.

SageMaker writes a training job's output to the log group ``/aws/sagemaker/TrainingJobs``,
one stream per instance and attempt, named ``<TrainingJobName>/algo-<k>-<epoch seconds>``.
tunelab's logs are files of the job's directory (``<jobs root>/<tuning job or
_standalone>/<training job>/logs/``): ``attempt-<n>.log`` for the last host,
``attempt-<n>-algo-<k>.log`` for the others (``tunelab.execution.hosts``). Jobs, their
definitions and the jobs root come from the service layer.

Times: a log line carries no time and tunelab records none per line, so every event of a
stream is stamped with its attempt's launch (the time the attempt's process started, its
first ``Training`` status transition; the time the attempt began when it ended without
reaching it): no line was written before it, and events keep their file order within a
stream. A running attempt's stream appears once its launch is recorded (its log file is
created a moment before), so that a stream's name never changes.
The stream's name carries the same second (made one later than its previous attempt's
when two attempts of a host launched within one second, so that names stay unique), and
its ``lastIngestionTime`` is the file's modification time, when its last line was written.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from tunelab.domain.enums import SecondaryStatus
from tunelab.domain.errors import ResourceNotFound
from tunelab.domain.trial import StatusTransition, TrainingJob
from tunelab.execution.contract import training_job_dir
from tunelab.execution.hosts import host_log_path, host_names
from tunelab.orchestrator.attempts import RESUMING, RETRYING
from tunelab.service.training import TrainingService
from tunelab.service.tuning import TuningService
from tunelab.store.base import TrainingJobQuery

LOG_GROUP = "/aws/sagemaker/TrainingJobs"


@dataclass(frozen=True)
class LogStream:
    name: str
    path: str
    launched_ms: int
    """The attempt's launch, epoch milliseconds: every event's timestamp."""
    ended: bool
    """The attempt's processes ended: the file is complete."""
    size: int
    modified_ms: int


class TrainingLogs:
    """The training jobs and their log streams (the use case behind the CloudWatch Logs
    operations of ``tunelab.api.logs_handlers``)."""

    def __init__(self, tuning: TuningService, training: TrainingService) -> None:
        self.training = training
        self.jobs_root = str(tuning.settings.jobs_root)
        self._instance_counts: dict[tuple[str, str | None], int] = {}

    def job(self, name: str) -> TrainingJob | None:
        try:
            return self.training.get(name)
        except ResourceNotFound:
            return None

    def first_created(self) -> float | None:
        """When the first training job was created (the log group's creation: SageMaker
        creates it with the first job's log); None when there is no training job."""
        page = self.training.list(TrainingJobQuery(None, sort_by="CreationTime", limit=1))
        return page.items[0].creation_time if page.items else None

    def instance_count(self, job: TrainingJob) -> int:
        """How many hosts the job runs on. Remembered per tuning job and definition for
        the jobs of a tuning job that exists (the others keep a request of their own)."""
        if job.tuning_job_name is None or self.training.store.training_job_request(job.name):
            return self.training.definition_of(job).resources.instance_count
        remembered = (job.tuning_job_name, job.definition_name)
        if remembered not in self._instance_counts:
            count = self.training.definition_of(job).resources.instance_count
            self._instance_counts[remembered] = count
        return self._instance_counts[remembered]

    def streams(self, job: TrainingJob) -> list[LogStream]:
        """The job's streams whose log file exists, in attempt then host order."""
        hosts = host_names(self.instance_count(job))
        folder = training_job_dir(self.jobs_root, job.tuning_job_name, job.name)
        found: list[LogStream] = []
        seconds: dict[str, int] = {}
        for attempt, (launched, recorded) in enumerate(attempt_launches(job), start=1):
            ended = attempt < job.attempt or job.status.is_terminal
            if not (recorded or ended):
                continue
            for host in hosts:
                path = host_log_path(folder, attempt, host, hosts)
                try:
                    found_file = os.stat(path)
                except FileNotFoundError:
                    continue
                size, modified = found_file.st_size, int(found_file.st_mtime * 1000)
                second = max(int(launched), seconds.get(host, -1) + 1)
                seconds[host] = second
                name = f"{job.name}/{host}-{second}"
                found.append(LogStream(name, path, int(launched * 1000), ended, size, modified))
        return found

    def stream(self, name: str) -> LogStream | None:
        """The stream named ``name`` exactly, if it exists."""
        found = self.job_and_stream(name)
        return None if found is None else found[1]

    def job_and_stream(self, name: str) -> tuple[TrainingJob, LogStream] | None:
        """The stream named ``name`` exactly and its training job, if it exists."""
        job = self.job(name.split("/", 1)[0]) if "/" in name else None
        stream = next((s for s in self.streams(job) if s.name == name), None) if job else None
        return None if job is None or stream is None else (job, stream)


def begins_attempt(transition: StatusTransition) -> bool:
    """Whether ``transition`` starts a new attempt of its job: a restart after tunelab
    stopped, a RetryStrategy retry or a managed spot resumption
    (``tunelab.orchestrator.attempts``, ``.recovery``)."""
    if transition.status is SecondaryStatus.RESTARTING:
        return True
    return transition.status is SecondaryStatus.STARTING and transition.message.startswith(
        (RETRYING, RESUMING)
    )


def attempt_launches(job: TrainingJob) -> list[tuple[float, bool]]:
    """(launch time in epoch seconds, whether recorded) of each of the job's attempts
    (index 0 is attempt 1): the attempt's first ``Training`` transition (recorded), else
    its first transition (not recorded: the attempt has not launched, or never did)."""
    segments: list[list[StatusTransition]] = [[]]
    for transition in job.transitions:
        if begins_attempt(transition):
            segments.append([])
        segments[-1].append(transition)
    launches = []
    for attempt in range(job.attempt):
        segment = segments[attempt] if attempt < len(segments) else []
        training = [t.start_time for t in segment if t.status is SecondaryStatus.TRAINING]
        begun = segment[0].start_time if segment else job.start_time or job.creation_time
        launches.append((training[0], True) if training else (begun, False))
    return launches
