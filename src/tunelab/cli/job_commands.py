"""``tunelab describe``, ``list``, ``training-jobs``, ``stop`` and ``delete``: look
at tuning jobs and their training jobs, stop one, delete its record."""

from __future__ import annotations

from typing import Annotated

import typer

from tunelab.cli.app import ERROR, AsJson, Endpoint, JobName, app, backend, err, out
from tunelab.cli.render import (
    best_first_order,
    description_table,
    print_json,
    training_jobs_table,
    tuning_jobs_table,
)
from tunelab.domain.enums import TrainingJobStatus, TuningJobStatus
from tunelab.service.results_csv import results_csv, row_of_summary
from tunelab.store.base import TrainingJobQuery, TuningJobQuery


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
    as_csv: Annotated[
        bool,
        typer.Option(
            "--csv",
            help="Print CSV with the SageMaker SDK's analytics().dataframe() columns.",
        ),
    ] = False,
    endpoint: Endpoint = None,
) -> None:
    """List a tuning job's training jobs (ListTrainingJobsForHyperParameterTuningJob).
    With --sort-by FinalObjectiveMetricValue the best come first and jobs without
    an objective value are left out.

    --csv prints one line per training job: its tuned hyperparameters, name, status,
    final objective value, start and end (UTC) and seconds of training (and its
    definition's name in a job with several)."""
    if as_json and as_csv:
        raise _usage("--json and --csv cannot be used together")
    allowed = ("Name", "CreationTime", "Status", "FinalObjectiveMetricValue")
    if sort_by not in allowed:
        raise _usage(f"--sort-by must be one of {', '.join(allowed)}; got {sort_by!r}")
    if sort_order not in (None, "Ascending", "Descending"):
        raise _usage(f"--sort-order must be Ascending or Descending; got {sort_order!r}")
    with backend(endpoint) as target:
        wire = target.describe(name)
        if sort_order is None:
            best = sort_by == "FinalObjectiveMetricValue"
            sort_order = best_first_order(wire) if best else "Ascending"
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
    elif as_csv:
        typer.echo(results_csv(map(row_of_summary, summaries)), nl=False)
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
    err.print(ERROR, f": {message}", highlight=False, sep="")
    return typer.Exit(2)
