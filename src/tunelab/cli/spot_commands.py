"""``tunelab spot``: managed spot training on this machine.

``tunelab spot interrupt JOB`` is a drill: it reclaims the spot capacity of a running
training job, as AWS reclaims a spot instance. The request goes through the machine's
ledger (``$TUNELAB_HOME/machine.json``), which every tunelab process running jobs here
reads, so it reaches the process that runs the job (``tunelab run`` or ``tunelab
serve``): the job gets SIGTERM (SIGKILL after the grace period), is ``Interrupted``,
waits ``--for`` seconds for its capacity to come back, and resumes from its
checkpoints as its next attempt. ``tunelab spot status JOB`` shows the job's training
and billable time and the savings (:mod:`tunelab.domain.billing`).
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from tunelab.cli.app import ERROR, app, err, errors_as_exit_codes, out

spot_app = typer.Typer(help="Managed spot training: interruption drills, savings.")
app.add_typer(spot_app, name="spot")

TrainingJobName = Annotated[str, typer.Argument(help="The training job's name.")]


def _open():  # (settings, store, training service)
    from tunelab.execution.clock import SystemClock
    from tunelab.service.settings import Settings
    from tunelab.service.training import TrainingService
    from tunelab.store.sql.store import SqlStore

    settings = Settings.from_env()
    settings.home.mkdir(parents=True, exist_ok=True)
    store = SqlStore(settings.database_url)
    return settings, store, TrainingService(store, SystemClock(), settings.s3_root, settings)


@spot_app.command("interrupt")
def interrupt(
    name: TrainingJobName,
    hold: Annotated[
        float,
        typer.Option(
            "--for",
            min=0,
            help="Seconds the capacity stays away before the job may resume.",
        ),
    ] = 5.0,
) -> None:
    """Reclaim a running spot training job's capacity (a drill): it is interrupted and
    resumes from its checkpoints once the capacity is back."""
    import time

    from tunelab.domain.enums import TrainingJobStatus
    from tunelab.service.executors import machine_ledgers

    with errors_as_exit_codes():
        settings, store, training = _open()
        try:
            job = training.get(name)
            definition = training.definition_of(job)
        finally:
            store.close()
        if not definition.enable_managed_spot:
            err.print(ERROR, f": {job.name} is not a managed spot training job", sep="")
            raise typer.Exit(2)
        if job.status is not TrainingJobStatus.IN_PROGRESS:
            err.print(ERROR, f": {job.name} is {job.status}; it holds no capacity", sep="")
            raise typer.Exit(3)
        reason = f"spot capacity was reclaimed (tunelab spot interrupt); it is back in {hold:g} s"
        until = time.time() + hold
        ledgers = machine_ledgers(settings)  # this machine's, then the Ray nodes'
        if not any(ledger.request_interrupt(job.name, reason, until) for ledger in ledgers):
            err.print(
                ERROR,
                f": {job.name} is not running on this machine's spot "
                "capacity now (it may be waiting for capacity, or run from another "
                "TUNELAB_HOME)",
                sep="",
            )
            raise typer.Exit(3)
    out.print(f"{job.name}: spot capacity reclaimed; the job resumes in {hold:g} s or later")


@spot_app.command("status")
def status(
    name: TrainingJobName,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """Training time, billable time and savings of a training job (managed spot or not)."""
    from tunelab.domain.billing import billable_seconds, spot_savings, training_seconds
    from tunelab.orchestrator.attempts import interruptions

    with errors_as_exit_codes():
        _, store, training = _open()
        try:
            job = training.get(name)
            spot = training.definition_of(job).enable_managed_spot
        finally:
            store.close()
    savings = spot_savings(job, spot)
    figures = {
        "TrainingJobName": job.name,
        "TrainingJobStatus": str(job.status),
        "SecondaryStatus": str(job.secondary_status),
        "EnableManagedSpotTraining": spot,
        "Attempts": job.attempt,
        "Interruptions": interruptions(job),
        "TrainingTimeInSeconds": training_seconds(job),
        "BillableTimeInSeconds": billable_seconds(job, spot),
        "ManagedSpotTrainingSavings": None if savings is None else round(100 * savings, 1),
    }
    if as_json:
        out.print_json(json.dumps(figures))
        return
    for key, value in figures.items():
        shown = "-" if value is None else value
        if key == "ManagedSpotTrainingSavings" and value is not None:
            shown = f"{value:.1f}%"
        out.print(f"{key:28} {shown}", highlight=False)
