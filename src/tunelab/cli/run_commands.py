"""``tunelab validate``, ``tunelab run`` and ``tunelab resume``: check a job file,
run a tuning job to the end with a progress bar, and continue an interrupted one.

Exit codes as :mod:`tunelab.cli.app` lists them: ``run`` and ``resume`` exit 0 when
the tuning job Completed, 1 when it Failed or was Stopped, 130 after Ctrl-C, 143 after
SIGTERM.
"""

from __future__ import annotations

import signal
from typing import Any

import typer

from tunelab.cli.app import (
    VALID,
    WARNING,
    AsJson,
    Endpoint,
    JobFile,
    JobName,
    Quiet,
    app,
    backend,
    err,
    errors_as_exit_codes,
    out,
)
from tunelab.cli.backend import LocalBackend, RemoteBackend
from tunelab.cli.follow import ProgressDisplay
from tunelab.cli.jobfile import load_job_file
from tunelab.cli.render import (
    best_first_order,
    description_table,
    print_json,
    training_jobs_table,
)
from tunelab.domain.enums import TuningJobStatus
from tunelab.domain.errors import TunelabError
from tunelab.orchestrator.progress import Progress
from tunelab.store.base import TrainingJobQuery


@app.command()
def validate(job_file: JobFile, endpoint: Endpoint = None) -> None:
    """Check a job file against every rule, without running it."""
    with backend(None) as local:
        assert isinstance(local, LocalBackend)
        document = load_job_file(job_file)
        spec = local.service.validate(document, name_must_be_free=not endpoint)
    if endpoint:
        with backend(endpoint) as remote:
            try:
                remote.describe(spec.name)
            except TunelabError as error:
                if error.code != "ResourceNotFound":
                    raise
            else:
                with errors_as_exit_codes():
                    from tunelab.domain.errors import tuning_job_name_taken

                    raise tuning_job_name_taken(spec.name, spec.name)
    definitions = ", ".join(d.label for d in spec.definitions)
    out.print(
        VALID,
        f": {spec.name} ({spec.strategy}, {spec.max_jobs} training jobs, {definitions})",
        highlight=False,
        sep="",
    )


@app.command()
def run(
    job_file: JobFile, as_json: AsJson = False, quiet: Quiet = False, endpoint: Endpoint = None
) -> None:
    """Create the tuning job and follow it to the end, with a progress bar.

    Locally the job runs in this process: running the same file again resumes it
    if it was interrupted. With --endpoint the server runs it and this follows.

    Ctrl-C stops the tuning job (its training jobs get SIGTERM, then SIGKILL after
    the grace period). A second Ctrl-C, or SIGTERM, ends this command at once (exit
    130, or 143) and leaves the job unfinished (with --endpoint, to the server):
    `tunelab resume NAME` continues it."""
    with backend(endpoint) as target:
        name, resumed = target.create(load_job_file(job_file))
        _follow(target, name, as_json, quiet, f"Resuming tuning job {name}" if resumed else None)


@app.command()
def resume(
    name: JobName, as_json: AsJson = False, quiet: Quiet = False, endpoint: Endpoint = None
) -> None:
    """Continue a tuning job whose process was interrupted (or follow one the
    server runs).

    Ctrl-C and SIGTERM act as they do in `tunelab run`."""
    with backend(endpoint) as target:
        _follow(target, name, as_json, quiet)


class _Terminated(Exception):
    """SIGTERM arrived (a service manager or a shutdown ending this process)."""


def _follow(
    target: LocalBackend | RemoteBackend,
    name: str,
    as_json: bool,
    quiet: bool,
    announce: str | None = None,
) -> None:
    """Run or follow the job to its end, then print the outcome; ``announce`` is
    printed once the job runs here (not when another process holds it)."""
    wire = target.describe(name)
    interrupts = 0
    display: ProgressDisplay | None = None

    def on_progress(progress: Progress) -> None:
        nonlocal announce
        if announce is not None:
            err.print(announce, highlight=False)
            announce = None
        if display is not None:
            display.update(progress)

    def on_interrupt(signum: int, frame: object) -> None:
        nonlocal interrupts
        interrupts += 1
        if interrupts > 1:
            raise KeyboardInterrupt
        err.print("Stopping the tuning job... (Ctrl-C again to leave it unfinished)")
        target.request_stop(name)

    def on_terminate(signum: int, frame: object) -> None:
        raise _Terminated

    previous = signal.signal(signal.SIGINT, on_interrupt)
    signal.signal(signal.SIGTERM, on_terminate)  # a shutdown: the job survives it
    try:
        if quiet or as_json:
            status = target.follow(name, on_progress)
        else:
            total = wire["HyperParameterTuningJobConfig"]["ResourceLimits"].get(
                "MaxNumberOfTrainingJobs"
            )
            with ProgressDisplay(err, name, _objective_name(wire), total) as display:
                status = target.follow(name, on_progress)
    except (KeyboardInterrupt, _Terminated) as interrupted:
        err.print(f"Left tuning job {name} unfinished; `tunelab resume {name}` continues it.")
        raise typer.Exit(143 if isinstance(interrupted, _Terminated) else 130) from None
    finally:
        signal.signal(signal.SIGINT, previous)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    wire = target.describe(name)
    if as_json:
        print_json(out, wire)
    else:
        _print_outcome(target, wire)
    _warn_about_missing_objectives(target, name)
    if status != TuningJobStatus.COMPLETED:
        raise typer.Exit(130 if interrupts else 1)


def _objective_name(wire: dict[str, Any]) -> str:
    config = wire["HyperParameterTuningJobConfig"]
    objective = config.get("HyperParameterTuningJobObjective")
    if objective is None:
        objective = (wire.get("TrainingJobDefinitions") or [{}])[0].get("TuningObjective", {})
    return objective.get("MetricName", "objective")


def _print_outcome(target: LocalBackend | RemoteBackend, wire: dict[str, Any]) -> None:
    name = wire["HyperParameterTuningJobName"]
    query = TrainingJobQuery(
        name, sort_by="FinalObjectiveMetricValue", limit=5, sort_order=best_first_order(wire)
    )  # type: ignore[arg-type]
    summaries = target.training_jobs(query)
    if summaries:
        out.print(training_jobs_table(summaries, title="Best training jobs"))
    out.print(description_table(wire))


def _warn_about_missing_objectives(target: LocalBackend | RemoteBackend, name: str) -> None:
    """Training jobs that ran to the end but never printed the objective: say so
    loudly, with the regex and a log to look at."""
    silent = [
        s
        for s in target.training_jobs(TrainingJobQuery(name))
        if s.get("ObjectiveStatus") == "Failed"
        and s["TrainingJobStatus"] == "Completed"  # not one stopped before its first report
        and s.get("FailureReason", "").startswith("ObjectiveMetricMissing")
    ]
    if not silent:
        return
    first = silent[0]
    log = target.log_path(first["TrainingJobName"])
    where = f"its log: {log}" if log else "its log on the server"
    err.print(
        WARNING,
        f": {len(silent)} training job(s) finished without reporting "
        f"the objective metric. {first['TrainingJobName']}: {first['FailureReason']}. Check "
        f"the MetricDefinitions against {where}",
        highlight=False,
        sep="",
    )
