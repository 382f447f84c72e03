"""Training jobs written straight into the store (no process runs), for pages and
charts of jobs of any size."""

from __future__ import annotations

import random
from pathlib import Path

from tunelab.domain.enums import (
    ObjectiveStatus,
    SecondaryStatus,
    TrainingJobStatus,
    TuningJobStatus,
)
from tunelab.domain.trial import MetricPoint, StatusTransition, TrainingJob
from tunelab.execution.contract import training_job_dir
from tunelab.orchestrator.stoppers import DECIDED
from tunelab.service.tuning import TuningService
from tunelab.store.sql.store import SqlStore


def add_training_jobs(
    store: SqlStore,
    tuning_job: str,
    count: int,
    epochs: int = 3,
    definitions: tuple[str | None, ...] = (None,),
    early_every: int = 0,
    seed: int = 1,
) -> list[TrainingJob]:
    """``count`` finished jobs whose final ``loss`` is ``(x - 0.3)**2`` plus a little
    noise (``noise`` does not matter); every ``early_every``-th one stopped early."""
    rng = random.Random(seed)
    found = []
    with store.batch() as batch:
        for i in range(count):
            x, noise = rng.random(), rng.random()
            loss = (x - 0.3) ** 2 + 0.001 * rng.random()
            early = bool(early_every) and i % early_every == early_every - 1
            shown = max(1, epochs // 2) if early else epochs
            start = 1000.0 + i
            transitions = (
                StatusTransition(SecondaryStatus.STARTING, start, "Launching the training job"),
                StatusTransition(SecondaryStatus.TRAINING, start, "Training in progress."),
            )
            if early:
                transitions += (
                    StatusTransition(SecondaryStatus.STOPPING, start + 1, DECIDED + "median rule"),
                )
            job = TrainingJob(
                name=f"{tuning_job}-{i + 1:05d}",
                tuning_job_name=tuning_job,
                sequence=i + 1,
                definition_name=definitions[i % len(definitions)],
                tuned_hyperparameters={"x": f"{x:.6f}", "noise": f"{noise:.6f}"},
                creation_time=start,
                status=TrainingJobStatus.STOPPED if early else TrainingJobStatus.COMPLETED,
                secondary_status=SecondaryStatus.STOPPED if early else SecondaryStatus.COMPLETED,
                objective_status=ObjectiveStatus.SUCCEEDED,
                final_objective_value=loss + 1.0 / shown,
                start_time=start,
                end_time=start + 2,
                last_modified_time=start + 2,
                transitions=transitions,
            )
            batch.add_training_job(job)
            points = [
                MetricPoint("loss", loss + 1.0 / (e + 1), start + e * 0.1, e) for e in range(shown)
            ]
            batch.add_metric_points(job.name, points)
            found.append(job)
    return found


def write_log(jobs_root: Path, job: TrainingJob, text: str) -> Path:
    path = Path(training_job_dir(str(jobs_root), job.tuning_job_name, job.name)) / "logs"
    path.mkdir(parents=True, exist_ok=True)
    log = path / f"attempt-{job.attempt}.log"
    log.write_text(text)
    return log


def add_dense_reports(
    store: SqlStore,
    job: TrainingJob,
    count: int,
    seconds: float,
    first_step: int = 0,
    from_second: float = 0.0,
) -> list[MetricPoint]:
    """``count`` reports of ``loss`` (steps ``first_step`` on) spread evenly over
    ``seconds`` from ``from_second`` after the job's start, as a program printing in
    a tight loop writes them; the k-th step's loss is 1/(k + 1)."""
    start = (job.start_time or job.creation_time) + from_second
    steps = range(first_step, first_step + count)
    points = [
        MetricPoint("loss", 1.0 / (step + 1), start + i * seconds / count, step)
        for i, step in enumerate(steps)
    ]
    with store.batch() as batch:
        batch.add_metric_points(job.name, points)
    return points


GRID = ("0.1", "0.2", "0.3")


def finished_grid_job(service: TuningService, runs_log: Path, name: str) -> None:
    """A Completed Grid tuning job over ``x`` in :data:`GRID` whose training jobs
    (written straight into the store) evaluated every grid point."""
    from tests.console.server import request

    document = request(runs_log, name)
    config = document["HyperParameterTuningJobConfig"]
    config["Strategy"] = "Grid"
    del config["RandomSeed"], config["ResourceLimits"]["MaxNumberOfTrainingJobs"]
    config["ParameterRanges"] = {"CategoricalParameterRanges": [{"Name": "x", "Values": GRID}]}
    job = service.create(document)
    with service.store.batch() as batch:
        for i, x in enumerate(GRID, start=1):
            batch.add_training_job(
                TrainingJob(
                    name=f"{name}-{i:03d}",
                    tuning_job_name=name,
                    sequence=i,
                    definition_name=None,
                    tuned_hyperparameters={"x": x},
                    creation_time=1000.0 + i,
                    status=TrainingJobStatus.COMPLETED,
                    secondary_status=SecondaryStatus.COMPLETED,
                    objective_status=ObjectiveStatus.SUCCEEDED,
                    final_objective_value=(float(x) - 0.3) ** 2,
                    end_time=1001.0 + i,
                )
            )
        batch.put_tuning_job(job.evolve(status=TuningJobStatus.COMPLETED, end_time=2000.0))
