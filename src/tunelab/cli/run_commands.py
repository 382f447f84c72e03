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
from tunelab.service.executors import check_cluster
from tunelab.store.base import TrainingJobQuery


@app.command()
def validate(job_file: JobFile, endpoint: Endpoint = None) -> None:
    """Check a job file against every rule, without running it."""
    with backend(None) as local:
        assert isinstance(local, LocalBackend)
        document = load_job_file(job_file)
        spec = local.service.validate(document, name_must_be_free=not endpoint)
        if not endpoint:  # where `tunelab run` would send the jobs
            check_cluster(local.settings)
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
    130, or 143) and leaves the job unfinished: `tunelab resume NAME` continues it
    (with --endpoint, the server carries on running it)."""
    with backend(endpoint) as target:
        document = load_job_file(job_file)
        # Ctrl-C is handled from before the job exists: the first one always stops it
        with _Interrupts(target, str(document.get("HyperParameterTuningJobName"))) as handled:
            name, resumed = target.create(document)
            handled.created(name)
            announce = f"Resuming tuning job {name}" if resumed else None
            status = _follow(target, name, as_json, quiet, announce)
        _report(target, name, status, as_json, handled.interrupts)


@app.command()
def resume(
    name: JobName, as_json: AsJson = False, quiet: Quiet = False, endpoint: Endpoint = None
) -> None:
    """Continue a tuning job whose process was interrupted (or follow one the
    server runs).

    Ctrl-C and SIGTERM act as they do in `tunelab run`."""
    with backend(endpoint) as target:
        with _Interrupts(target, name) as handled:
            handled.created(name)
            status = _follow(target, name, as_json, quiet)
        _report(target, name, status, as_json, handled.interrupts)


class _Terminated(Exception):
    """SIGTERM arrived (a service manager or a shutdown ending this process)."""


class _Interrupts:
    """Ctrl-C and SIGTERM while ``run`` or ``resume`` drives a tuning job, as a context
    manager. The first Ctrl-C asks ``target`` to stop the job (the backend keeps the
    request for a job it has yet to create or follow); a second, or SIGTERM, ends the
    command with exit 130 (143) and a line saying where the job was left. The previous
    handlers are back on exit."""

    def __init__(self, target: LocalBackend | RemoteBackend, name: str) -> None:
        self.target, self.name = target, name
        self.interrupts = 0
        self._exists: bool | None = None
        """Whether the job exists: None until :meth:`created` (an interrupted create)."""

    def created(self, name: str) -> None:
        """The job exists under ``name`` (its stored spelling)."""
        self.name, self._exists = name, True

    def __enter__(self) -> _Interrupts:
        self._previous = signal.signal(signal.SIGINT, self._on_interrupt)
        signal.signal(signal.SIGTERM, self._on_terminate)  # a shutdown: the job survives it
        return self

    def __exit__(self, kind: type[BaseException] | None, error: object, trace: object) -> None:
        signal.signal(signal.SIGINT, self._previous)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        if kind is None or not issubclass(kind, KeyboardInterrupt | _Terminated):
            return
        if self._job_exists():
            err.print(self._left_line(), highlight=False)
        raise typer.Exit(143 if issubclass(kind, _Terminated) else 130) from None

    def _on_interrupt(self, signum: int, frame: object) -> None:
        self.interrupts += 1
        if self.interrupts > 1:
            raise KeyboardInterrupt
        err.print("Stopping the tuning job... (Ctrl-C again to leave it unfinished)")
        self.target.request_stop(self.name)

    def _on_terminate(self, signum: int, frame: object) -> None:
        raise _Terminated

    def _job_exists(self) -> bool:
        if self._exists is None:  # interrupted while creating it: look
            try:
                self.name = self.target.describe(self.name)["HyperParameterTuningJobName"]
            except TunelabError:
                return False
        return True

    def _left_line(self) -> str:
        name = self.name
        if isinstance(self.target, LocalBackend):
            return f"Left tuning job {name} unfinished; `tunelab resume {name}` continues it."
        if self.target.stop_sent:
            return f"Left tuning job {name} to the server, which is stopping it."
        return (
            f"Left tuning job {name} to the server, which carries on running it; "
            f"`tunelab stop {name}` stops it."
        )


def _follow(
    target: LocalBackend | RemoteBackend,
    name: str,
    as_json: bool,
    quiet: bool,
    announce: str | None = None,
) -> str:
    """Run or follow the job to its end, with a progress bar unless ``quiet`` or
    ``as_json``; its final status. ``announce`` is printed once the job runs here (not
    when another process holds it)."""
    wire = target.describe(name)
    display: ProgressDisplay | None = None

    def on_progress(progress: Progress) -> None:
        nonlocal announce
        if announce is not None:
            err.print(announce, highlight=False)
            announce = None
        if display is not None:
            display.update(progress)

    if quiet or as_json:
        return target.follow(name, on_progress)
    total = wire["HyperParameterTuningJobConfig"]["ResourceLimits"].get("MaxNumberOfTrainingJobs")
    with ProgressDisplay(err, name, _objective_name(wire), total) as bar:
        display = bar
        return target.follow(name, on_progress)


def _report(
    target: LocalBackend | RemoteBackend, name: str, status: str, as_json: bool, interrupts: int
) -> None:
    """Print how the job ended; exit 1 (130 after a Ctrl-C) unless it Completed."""
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
