"""The ``tunelab`` command.

Every job command works on the local store, or with ``--endpoint URL`` (or
``TUNELAB_ENDPOINT``) on a running ``tunelab serve``. Exit codes: 0 success
(``run``: the tuning job Completed), 1 the tuning job Failed or was Stopped, 2
bad input (the message names the field and the rule), 3 a job that does not
exist or is busy, 4 the server refused the credentials, 130 interrupted.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from tunelab.cli.backend import LocalBackend, RemoteBackend
from tunelab.cli.follow import ProgressDisplay
from tunelab.cli.jobfile import load_job_file
from tunelab.cli.render import (
    description_table,
    print_json,
    training_jobs_table,
    tuning_jobs_table,
)
from tunelab.domain.enums import TrainingJobStatus, TuningJobStatus
from tunelab.domain.errors import TunelabError
from tunelab.store.base import TrainingJobQuery, TuningJobQuery

app = typer.Typer(
    name="tunelab",
    help="Self-hosted hyperparameter tuning with SageMaker's job format.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)

EXIT_CODES = {
    "ValidationException": 2,
    "ResourceLimitExceeded": 2,
    "ResourceInUse": 2,
    "SerializationException": 2,
    "ResourceNotFound": 3,
    "ConflictException": 3,
    "MissingAuthenticationToken": 4,
    "IncompleteSignatureException": 4,
    "UnrecognizedClientException": 4,
    "InvalidSignatureException": 4,
    "AccessDeniedException": 4,
}

JobFile = Annotated[
    Path, typer.Argument(help="A CreateHyperParameterTuningJob request (JSON or YAML).")
]
JobName = Annotated[str, typer.Argument(help="The tuning job's name.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print SageMaker's response shape as JSON.")]
Endpoint = Annotated[
    str | None,
    typer.Option(
        "--endpoint",
        envvar="TUNELAB_ENDPOINT",
        help="A tunelab server's URL (tunelab serve); without it, the local store.",
    ),
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]


DESTINATION_HELP = "A local file, or a folder (an existing one, or ending in /)."


def local_destination(destination: str) -> Path:
    """Where to copy to: a path ending in ``/`` names a folder, created here if needed,
    as ``aws s3 cp`` reads it."""
    target = Path(destination)
    if destination.endswith(("/", os.sep)):
        target.mkdir(parents=True, exist_ok=True)
    return target


@contextmanager
def errors_as_exit_codes() -> Iterator[None]:
    try:
        yield
    except TunelabError as error:
        err.print(f"[red]error[/red] ({error.code}): {error.message}", highlight=False)
        raise typer.Exit(EXIT_CODES.get(error.code, 1)) from None


@contextmanager
def backend(endpoint: str | None) -> Iterator[LocalBackend | RemoteBackend]:
    """The local store, or the server at ``endpoint``; tunelab errors become
    messages and exit codes."""
    with errors_as_exit_codes():
        if endpoint:
            yield RemoteBackend(endpoint)
            return
        from tunelab.service.settings import Settings
        from tunelab.service.tuning import TuningService
        from tunelab.store.sql.store import SqlStore

        settings = Settings.from_env()
        settings.home.mkdir(parents=True, exist_ok=True)
        store = SqlStore(settings.database_url)
        try:
            yield LocalBackend(TuningService(settings, store))
        finally:
            store.close()


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
        f"[green]valid[/green]: {spec.name} ({spec.strategy}, {spec.max_jobs} "
        f"training jobs, {definitions})",
        highlight=False,
    )


@app.command()
def run(
    job_file: JobFile, as_json: AsJson = False, quiet: Quiet = False, endpoint: Endpoint = None
) -> None:
    """Create the tuning job and follow it to the end, with a progress bar.

    Locally the job runs in this process: running the same file again resumes it
    if it was interrupted. With --endpoint the server runs it and this follows.
    Ctrl-C stops the tuning job (a second Ctrl-C leaves it running)."""
    with backend(endpoint) as target:
        name, resumed = target.create(load_job_file(job_file))
        if resumed:
            err.print(f"Resuming tuning job {name}", highlight=False)
        _follow(target, name, as_json, quiet)


@app.command()
def resume(
    name: JobName, as_json: AsJson = False, quiet: Quiet = False, endpoint: Endpoint = None
) -> None:
    """Continue a tuning job whose process was interrupted (or follow one the
    server runs)."""
    with backend(endpoint) as target:
        _follow(target, name, as_json, quiet)


def _follow(target: LocalBackend | RemoteBackend, name: str, as_json: bool, quiet: bool) -> None:
    wire = target.describe(name)
    interrupts = 0

    def on_interrupt(signum: int, frame: object) -> None:
        nonlocal interrupts
        interrupts += 1
        if interrupts > 1:
            raise KeyboardInterrupt
        err.print("Stopping the tuning job... (Ctrl-C again to leave it unfinished)")
        target.request_stop(name)

    previous = signal.signal(signal.SIGINT, on_interrupt)
    signal.signal(signal.SIGTERM, on_interrupt)
    try:
        if quiet or as_json:
            status = target.follow(name, None)
        else:
            total = wire["HyperParameterTuningJobConfig"]["ResourceLimits"].get(
                "MaxNumberOfTrainingJobs"
            )
            with ProgressDisplay(err, name, _objective_name(wire), total) as display:
                status = target.follow(name, display.update)
    except KeyboardInterrupt:
        err.print(f"Left tuning job {name} unfinished; `tunelab resume {name}` continues it.")
        raise typer.Exit(130) from None
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


def _best_first(wire: dict[str, Any]) -> str:
    best = wire.get("BestTrainingJob", {}).get("FinalHyperParameterTuningJobObjectiveMetric", {})
    objective = wire["HyperParameterTuningJobConfig"].get("HyperParameterTuningJobObjective")
    if objective is None:
        objective = (wire.get("TrainingJobDefinitions") or [{}])[0].get("TuningObjective", {})
    maximize = best.get("Type", objective.get("Type")) == "Maximize"
    return "Descending" if maximize else "Ascending"


def _print_outcome(target: LocalBackend | RemoteBackend, wire: dict[str, Any]) -> None:
    name = wire["HyperParameterTuningJobName"]
    query = TrainingJobQuery(
        name, sort_by="FinalObjectiveMetricValue", limit=5, sort_order=_best_first(wire)
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
        and s["TrainingJobStatus"] != "Failed"
        and s.get("FailureReason", "").startswith("ObjectiveMetricMissing")
    ]
    if not silent:
        return
    first = silent[0]
    log = target.log_path(first["TrainingJobName"])
    where = f"its log: {log}" if log else "its log on the server"
    err.print(
        f"[yellow]warning[/yellow]: {len(silent)} training job(s) finished without reporting "
        f"the objective metric. {first['TrainingJobName']}: {first['FailureReason']}. Check "
        f"the MetricDefinitions against {where}",
        highlight=False,
    )


@app.command()
def describe(name: JobName, as_json: AsJson = False, endpoint: Endpoint = None) -> None:
    """Show a tuning job (DescribeHyperParameterTuningJob)."""
    with backend(endpoint) as target:
        wire = target.describe(name)
    if as_json:
        print_json(out, wire)
    else:
        out.print(description_table(wire))


@app.command("list")
def list_jobs(
    status: Annotated[
        TuningJobStatus | None, typer.Option(help="Only jobs in this status.")
    ] = None,
    name_contains: Annotated[str | None, typer.Option(help="Only names containing this.")] = None,
    max_results: Annotated[int, typer.Option(min=1, help="At most this many jobs.")] = 100,
    as_json: AsJson = False,
    endpoint: Endpoint = None,
) -> None:
    """List tuning jobs, newest first (ListHyperParameterTuningJobs)."""
    query = TuningJobQuery(
        name_contains=name_contains,
        status=status,
        limit=max_results,
        sort_by="CreationTime",
        sort_order="Descending",
    )
    with backend(endpoint) as target:
        summaries = target.list_jobs(query)
    if as_json:
        print_json(out, {"HyperParameterTuningJobSummaries": summaries})
    elif summaries:
        out.print(tuning_jobs_table(summaries))
    else:
        err.print("No tuning jobs.")


SortBy = Annotated[
    str, typer.Option(help="Name, CreationTime, Status or FinalObjectiveMetricValue.")
]


@app.command("training-jobs")
def training_jobs(
    name: JobName,
    sort_by: SortBy = "Name",
    sort_order: Annotated[str | None, typer.Option(help="Ascending or Descending.")] = None,
    status: Annotated[TrainingJobStatus | None, typer.Option(help="Only this status.")] = None,
    max_results: Annotated[int | None, typer.Option(min=1, help="At most this many.")] = None,
    as_json: AsJson = False,
    endpoint: Endpoint = None,
) -> None:
    """List a tuning job's training jobs (ListTrainingJobsForHyperParameterTuningJob).
    With --sort-by FinalObjectiveMetricValue the best come first and jobs without
    an objective value are left out."""
    allowed = ("Name", "CreationTime", "Status", "FinalObjectiveMetricValue")
    if sort_by not in allowed:
        raise _usage(f"--sort-by must be one of {', '.join(allowed)}; got {sort_by!r}")
    if sort_order not in (None, "Ascending", "Descending"):
        raise _usage(f"--sort-order must be Ascending or Descending; got {sort_order!r}")
    with backend(endpoint) as target:
        wire = target.describe(name)
        if sort_order is None:
            best = sort_by == "FinalObjectiveMetricValue"
            sort_order = _best_first(wire) if best else "Ascending"
        query = TrainingJobQuery(
            wire["HyperParameterTuningJobName"],
            status=status,
            sort_by=sort_by,  # type: ignore[arg-type]
            sort_order=sort_order,  # type: ignore[arg-type]
            limit=max_results,
        )
        summaries = target.training_jobs(query)
    if as_json:
        print_json(out, {"TrainingJobSummaries": summaries})
    else:
        out.print(training_jobs_table(summaries))


@app.command()
def stop(name: JobName, endpoint: Endpoint = None) -> None:
    """Stop a tuning job and all its running training jobs."""
    with backend(endpoint) as target:
        status = target.stop(name)
    out.print(f"{name}: {status}", highlight=False)


@app.command()
def delete(name: JobName, endpoint: Endpoint = None) -> None:
    """Delete a finished tuning job's record (its training jobs are kept)."""
    with backend(endpoint) as target:
        target.delete(name)
    out.print(f"deleted {name}", highlight=False)


def _usage(message: str) -> typer.Exit:
    err.print(f"[red]error[/red]: {message}", highlight=False)
    return typer.Exit(2)


def main() -> None:
    """Run the command; end the process without the interpreter's teardown, which
    frees every module and object one by one (~0.3 s that the OS does at once).
    The store is closed and both streams flushed before."""
    code: int | str | None = 0
    try:
        app()
    except SystemExit as exit_:
        code = exit_.code
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code if isinstance(code, int) else (0 if code is None else 1))


import tunelab.cli.algorithm_commands  # noqa: E402  (registers algorithms)
import tunelab.cli.artifact_commands  # noqa: E402  (registers kms, artifacts)
import tunelab.cli.clone_command  # noqa: E402, F401  (registers clone)
import tunelab.cli.spot_commands as _spot  # noqa: E402, F401  (registers spot)
from tunelab.cli import serve_commands  # noqa: E402, F401  (registers serve, access-keys)

if __name__ == "__main__":
    main()
