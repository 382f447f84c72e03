"""The ``tunelab`` command.

Exit codes: 0 success (``run``: the tuning job Completed), 1 the tuning job
Failed or was Stopped, 2 bad input (the message names the field and the rule),
3 a tuning job or training job that does not exist or is busy, 130 interrupted.
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

from tunelab.api import codecs
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
from tunelab.service.settings import Settings
from tunelab.service.tuning import TuningService
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
    "ResourceNotFound": 3,
    "ConflictException": 3,
}


@contextmanager
def service() -> Iterator[TuningService]:
    """A service on the configured store; tunelab errors become messages and
    exit codes."""
    from tunelab.store.sql.store import SqlStore

    store = None
    try:
        settings = Settings.from_env()
        settings.home.mkdir(parents=True, exist_ok=True)
        store = SqlStore(settings.database_url)
        yield TuningService(settings, store)
    except TunelabError as error:
        err.print(f"[red]error[/red] ({error.code}): {error.message}", highlight=False)
        raise typer.Exit(EXIT_CODES.get(error.code, 1)) from None
    finally:
        if store is not None:
            store.close()


JobFile = Annotated[
    Path, typer.Argument(help="A CreateHyperParameterTuningJob request (JSON or YAML).")
]
JobName = Annotated[str, typer.Argument(help="The tuning job's name.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print SageMaker's response shape as JSON.")]


@app.command()
def validate(job_file: JobFile) -> None:
    """Check a job file against every rule, without running it."""
    with service() as tuning:
        document = load_job_file(job_file)
        spec = tuning.validate(document, name_must_be_free=True)
        definitions = ", ".join(d.label for d in spec.definitions)
        out.print(
            f"[green]valid[/green]: {spec.name} ({spec.strategy}, {spec.max_jobs} "
            f"training jobs, {definitions})",
            highlight=False,
        )


@app.command()
def run(
    job_file: JobFile,
    as_json: AsJson = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Create the tuning job and run it to the end, with a progress bar.

    Running the same file again resumes the job if it was interrupted. Ctrl-C
    stops the tuning job (a second Ctrl-C leaves it to be resumed)."""
    with service() as tuning:
        document = load_job_file(job_file)
        job, resumed = tuning.create_or_resume(document)
        if resumed:
            err.print(f"Resuming tuning job {job.name} (status {job.status})", highlight=False)
        _follow(tuning, job.name, job.spec.objective_type, as_json, quiet)


@app.command()
def resume(name: JobName, as_json: AsJson = False, quiet: bool = False) -> None:
    """Continue a tuning job whose process was interrupted."""
    with service() as tuning:
        job = tuning.get(name)
        _follow(tuning, job.name, job.spec.objective_type, as_json, quiet)


def _follow(
    tuning: TuningService, name: str, objective_type: Any, as_json: bool, quiet: bool
) -> None:
    job = tuning.get(name)
    objective = job.spec.definitions[0].objective
    metric = objective.metric_name if objective else "objective"
    interrupts = 0

    def on_interrupt(signum: int, frame: object) -> None:
        nonlocal interrupts
        interrupts += 1
        if interrupts > 1:
            raise KeyboardInterrupt
        err.print(
            "Stopping the tuning job... (Ctrl-C again to leave it running detached; "
            f"`tunelab resume {name}` continues it)"
        )
        tuning.request_stop()

    previous = signal.signal(signal.SIGINT, on_interrupt)
    signal.signal(signal.SIGTERM, on_interrupt)
    try:
        if quiet or as_json:
            final = tuning.run(name)
        else:
            with ProgressDisplay(err, name, metric, job.spec.max_jobs) as display:
                final = tuning.run(name, display.update)
    except KeyboardInterrupt:
        err.print(f"Left tuning job {name} unfinished; `tunelab resume {name}` continues it.")
        raise typer.Exit(130) from None
    finally:
        signal.signal(signal.SIGINT, previous)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    description = tuning.describe(name)
    wire = codecs.describe_tuning_job(description, tuning.settings.region, tuning.settings.account)
    if as_json:
        print_json(out, wire)
    else:
        _print_outcome(tuning, wire)
    _warn_about_missing_objectives(tuning, name)
    if final.status is not TuningJobStatus.COMPLETED:
        raise typer.Exit(130 if interrupts else 1)


def _print_outcome(tuning: TuningService, wire: dict[str, Any]) -> None:
    name = wire["HyperParameterTuningJobName"]
    query = TrainingJobQuery(
        name, sort_by="FinalObjectiveMetricValue", limit=5, sort_order=_best_first(tuning, name)
    )
    job = tuning.get(name)
    summaries = [
        codecs.training_job_summary(t, job.spec) for t in tuning.list_training_jobs(query).items
    ]
    if summaries:
        out.print(training_jobs_table(summaries, title="Best training jobs"))
    out.print(description_table(wire))


def _warn_about_missing_objectives(tuning: TuningService, name: str) -> None:
    """Training jobs that ran to the end but never printed the objective: say so
    loudly, with the regex and a log to look at."""
    silent = [
        j
        for j in tuning.training_jobs_of(name)
        if j.objective_status.value == "Failed"
        and j.status is not TrainingJobStatus.FAILED
        and (j.failure_reason or "").startswith("ObjectiveMetricMissing")
    ]
    if not silent:
        return
    first = silent[0]
    log = tuning.log_path(first)
    err.print(
        f"[yellow]warning[/yellow]: {len(silent)} training job(s) finished without reporting "
        f"the objective metric. {first.name}: {first.failure_reason}. Check the "
        f"MetricDefinitions against its log: {log}",
        highlight=False,
    )


def _best_first(tuning: TuningService, name: str) -> str:
    maximize = tuning.get(name).spec.objective_type.value == "Maximize"
    return "Descending" if maximize else "Ascending"


@app.command()
def describe(name: JobName, as_json: AsJson = False) -> None:
    """Show a tuning job (DescribeHyperParameterTuningJob)."""
    with service() as tuning:
        description = tuning.describe(name)
        settings = tuning.settings
        wire = codecs.describe_tuning_job(description, settings.region, settings.account)
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
) -> None:
    """List tuning jobs, newest first (ListHyperParameterTuningJobs)."""
    with service() as tuning:
        query = TuningJobQuery(name_contains=name_contains, status=status, limit=max_results)
        page = tuning.list(query)
        summaries = [
            codecs.tuning_job_summary(
                j, tuning.store.counters(j.name), tuning.settings.region, tuning.settings.account
            )
            for j in page.items
        ]
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
) -> None:
    """List a tuning job's training jobs (ListTrainingJobsForHyperParameterTuningJob).
    With --sort-by FinalObjectiveMetricValue the best come first and jobs without
    an objective value are left out."""
    allowed = ("Name", "CreationTime", "Status", "FinalObjectiveMetricValue")
    if sort_by not in allowed:
        raise _usage(f"--sort-by must be one of {', '.join(allowed)}; got {sort_by!r}")
    if sort_order not in (None, "Ascending", "Descending"):
        raise _usage(f"--sort-order must be Ascending or Descending; got {sort_order!r}")
    with service() as tuning:
        job = tuning.get(name)
        if sort_order is None:
            best = sort_by == "FinalObjectiveMetricValue"
            sort_order = _best_first(tuning, job.name) if best else "Ascending"
        query = TrainingJobQuery(
            job.name,
            status=status,
            sort_by=sort_by,  # type: ignore[arg-type]
            sort_order=sort_order,
            limit=max_results,
        )  # type: ignore[arg-type]
        page = tuning.list_training_jobs(query)
        summaries = [
            codecs.training_job_summary(
                t, job.spec, tuning.settings.region, tuning.settings.account
            )
            for t in page.items
        ]
        if as_json:
            print_json(out, {"TrainingJobSummaries": summaries})
        else:
            out.print(training_jobs_table(summaries))


@app.command()
def stop(name: JobName) -> None:
    """Stop a tuning job and all its running training jobs."""
    with service() as tuning:
        job = tuning.stop(name)
        out.print(f"{job.name}: {job.status}", highlight=False)


@app.command()
def delete(name: JobName) -> None:
    """Delete a finished tuning job's record (its training jobs are kept)."""
    with service() as tuning:
        tuning.delete(name)
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


if __name__ == "__main__":
    main()
