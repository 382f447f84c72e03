"""The training job page: hyperparameters, final metrics, metrics per report (or over
time), the live tail of its log, its status transitions and its artifacts."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute

from tunelab.console.app import Console, Form
from tunelab.console.session import User
from tunelab.console.templating import PREFIX, render
from tunelab.domain.errors import ResourceNotFound
from tunelab.domain.trial import TrainingJob
from tunelab.execution.contract import attempt_log_path, training_job_dir
from tunelab.execution.outputs import compression_of, model_artifacts_uri
from tunelab.execution.staging import artifact_dir
from tunelab.execution.storage import PARTIAL
from tunelab.orchestrator.stoppers import stop_reason, stopped_early

TAIL_BYTES = 64 * 1024


@dataclass(frozen=True)
class Artifact:
    name: str
    size: int


def training_url(name: str, suffix: str = "") -> str:
    return f"{PREFIX}/training-jobs/{quote(name)}{suffix}"


def job_dir(console: Console, job: TrainingJob) -> str:
    root = str(console.services.settings.jobs_root)
    return training_job_dir(root, job.tuning_job_name, job.name)


def log_tail(path: str, limit: int = TAIL_BYTES) -> tuple[str, bool]:
    """The end of the log (at most ``limit`` bytes, from a line start) and whether
    it was cut; ("", False) when there is no log yet."""
    try:
        with open(path, "rb") as log:
            size = log.seek(0, os.SEEK_END)
            log.seek(max(0, size - limit))
            data = log.read(limit)
    except FileNotFoundError:
        return "", False
    cut = size > limit
    if cut and b"\n" in data:
        data = data[data.index(b"\n") + 1 :]
    return data.decode("utf-8", "replace"), cut


def artifacts(console: Console, job: TrainingJob, output_path: str) -> tuple[str | None, list]:
    """The folder the job's artifacts are packed to and the files in it."""
    try:
        folder = artifact_dir(output_path, job.name, console.services.settings.s3_root)
    except ValueError:  # a path no job may have any more ('..' in an s3:// key)
        return None, []
    if folder is None or not os.path.isdir(folder):
        return folder, []
    found = [
        Artifact(entry.name, entry.stat().st_size)
        for entry in sorted(os.scandir(folder), key=lambda e: e.name)
        if entry.is_file() and not entry.name.endswith(PARTIAL)
    ]
    return folder, found


def routes(console: Console) -> list[BaseRoute]:
    training = console.services.training

    def page(request: Request, user: User, form: Form) -> Response:
        name = request.path_params["name"]
        try:
            description = training.describe(name)
        except ResourceNotFound as error:
            return render("error.html", 404, user=user, title="Not found", message=error.message)
        job = description.job
        attempt = _attempt(request, job)
        tail, cut = log_tail(attempt_log_path(job_dir(console, job), attempt))
        folder, files = artifacts(console, job, description.definition.output_path)
        output = description.definition.output_path.rstrip("/")
        return render(
            "training_job.html",
            user=user,
            d=description,
            job=job,
            attempt=attempt,
            tail=tail,
            cut=cut,
            live=not job.status.is_terminal,
            folder=folder,
            files=files,
            model_uri=model_artifacts_uri(
                output, job.name, compression_of(description.definition)
            ),
            directory=job_dir(console, job),
            early=stopped_early(job),
            stop_reason=stop_reason(job),
            now=training.clock.now(),
            training_url=training_url,
        )

    def log(request: Request, user: User, form: Form) -> Response:
        try:
            job = training.get(request.path_params["name"])
        except ResourceNotFound as error:
            return Response(error.message, status_code=404)
        if request.query_params.get("live") == "1" and job.status.is_terminal:
            # the job just ended: reload the page once (status, metrics, artifacts final)
            return Response(status_code=204, headers={"HX-Refresh": "true"})
        attempt = _attempt(request, job)
        tail, cut = log_tail(attempt_log_path(job_dir(console, job), attempt))
        return render(
            "_log.html",
            user=user,
            job=job,
            attempt=attempt,
            tail=tail,
            cut=cut,
            live=not job.status.is_terminal,
            training_url=training_url,
        )

    def metrics(request: Request, user: User, form: Form) -> Response:
        """Each metric's reports: ``x`` the report number (the k-th report of the
        metric is step k, what the chart plots by default: reports printed in the
        same millisecond stay apart), ``seconds`` since the job started (the time
        axis and the hover), ``y`` the value (None, a gap, for inf or nan)."""
        try:
            job = training.get(request.path_params["name"])
        except ResourceNotFound as error:
            return JSONResponse({"error": error.message}, status_code=404)
        start = job.start_time or job.creation_time
        series: dict[str, dict[str, list]] = {}
        for point in training.store.metric_points(job.name):
            found = series.setdefault(point.metric_name, {"x": [], "y": [], "seconds": []})
            found["x"].append(point.step + 1)
            finite = math.isfinite(point.value)  # strict JSON: inf and nan are gaps
            found["y"].append(point.value if finite else None)
            found["seconds"].append(round(point.timestamp - start, 3))
        return JSONResponse(
            {
                "series": [{"name": k, **v} for k, v in series.items()],
                "live": not job.status.is_terminal,
            }
        )

    def download(request: Request, user: User, form: Form) -> Response:
        try:
            description = training.describe(request.path_params["name"])
        except ResourceNotFound as error:
            return Response(error.message, status_code=404)
        folder, files = artifacts(console, description.job, description.definition.output_path)
        wanted = request.path_params["file"]
        if folder is None or wanted not in {f.name for f in files}:
            return Response("no such artifact", status_code=404)
        return FileResponse(os.path.join(folder, wanted), filename=wanted)

    r = console.route
    return [
        r("/training-jobs/{name}", page, "DescribeTrainingJob"),
        r("/training-jobs/{name}/log", log, "DescribeTrainingJob"),
        r("/training-jobs/{name}/metrics.json", metrics, "DescribeTrainingJob"),
        r("/training-jobs/{name}/artifacts/{file}", download, "DescribeTrainingJob"),
    ]


def _attempt(request: Request, job: TrainingJob) -> int:
    try:
        attempt = int(request.query_params.get("attempt", job.attempt))
    except ValueError:
        return job.attempt
    return min(max(attempt, 1), job.attempt)
