"""The jobs list and the tuning job page: live summary, tabs (training jobs,
definitions, configuration, tags) and chart data. The page's Stop / Delete / tag
actions live in :mod:`tunelab.console.jobs_actions`, what the pages show of a job
and their URLs in :mod:`tunelab.console.jobs_view` (importable from here too)."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from tunelab.console import jobs_actions
from tunelab.console.app import Console, Form, is_htmx
from tunelab.console.charts import charts
from tunelab.console.jobs_view import (
    JobRow,
    JobView,
    job_row,
    job_url,
    job_view,
    not_found,
    range_rows,
    url,
)
from tunelab.console.listing import (
    JobsFilter,
    TrainingFilter,
    decode_cursor,
    list_tuning_jobs,
    paged,
    training_key,
)
from tunelab.console.session import User
from tunelab.console.templating import render
from tunelab.domain.enums import TrainingJobStatus, TuningJobStatus
from tunelab.domain.errors import ResourceNotFound
from tunelab.domain.tuning_job import TuningJob
from tunelab.orchestrator.stoppers import stopped_early
from tunelab.service.results_csv import results_csv, row_of_job
from tunelab.store.sql.tags import MAX_TAGS, TUNING_JOB

__all__ = [
    "MAX_TAGS",
    "TABS",
    "JobRow",
    "JobView",
    "job_url",
    "job_view",
    "range_rows",
    "routes",
    "url",
]

TABS = ("jobs", "definitions", "configuration", "tags")


def _tags(console: Console, name: str) -> list[tuple[str, str]]:
    return console.services.tuning.store.tags.list(TUNING_JOB, name)


def routes(console: Console) -> list[BaseRoute]:
    """The jobs list, the job page and its parts, then its actions' routes."""
    tuning = console.services.tuning

    def jobs_list(request: Request, user: User, form: Form) -> Response:
        params = request.query_params
        jobs = JobsFilter.of(params)
        page = list_tuning_jobs(
            tuning.store, jobs, params.get("after", ""), params.get("before", "")
        )
        rows = [job_row(console, job) for job in page.items]
        context = dict(
            user=user, jobs=jobs, rows=rows, page=page, statuses=list(TuningJobStatus), url=url
        )
        if is_htmx(request) and request.headers.get("hx-target") == "jobs-table":
            return render("_jobs_table.html", **context)
        return render("jobs.html", **context)

    def job_page(request: Request, user: User, form: Form) -> Response:
        name = request.path_params["name"]
        tab = request.query_params.get("tab", "jobs")
        try:
            view = job_view(console, name)
        except ResourceNotFound as error:
            return not_found(user, error)
        spec = view.job.spec
        return render(
            "job.html",
            user=user,
            view=view,
            spec=spec,
            tab=tab if tab in TABS else "jobs",
            tabs=TABS,
            tags=_tags(console, view.job.name),
            configuration=json.dumps(dict(spec.document), indent=2),
            job_url=job_url,
            url=url,
            range_rows=range_rows,
            training=_training_context(console, view.job, request.query_params),
        )

    def summary(request: Request, user: User, form: Form) -> Response:
        try:
            view = job_view(console, request.path_params["name"])
        except ResourceNotFound as error:
            return not_found(user, error)
        if request.query_params.get("live") == "1" and not view.live:
            # the job just ended: reload the page once (tabs, counts and charts final)
            return Response(status_code=204, headers={"HX-Refresh": "true"})
        return render("_job_summary.html", user=user, view=view, job_url=job_url, oob=True)

    def training_jobs(request: Request, user: User, form: Form) -> Response:
        try:
            job = tuning.get(request.path_params["name"])
        except ResourceNotFound as error:
            return not_found(user, error)
        context = _training_context(console, job, request.query_params)
        response = render("_training_jobs.html", user=user, job=job, tj=context, url=url)
        if is_htmx(request):  # the page's address keeps the table's state (reload, Back)
            params = {k: v for k, v in request.query_params.items() if k != "tab"}
            response.headers["HX-Replace-Url"] = url(f"/jobs/{job.name}", tab="jobs", **params)
        return response

    def training_jobs_csv(request: Request, user: User, form: Form) -> Response:
        """Every training job of the tuning job, as ``tunelab training-jobs --csv``."""
        try:
            job = tuning.get(request.path_params["name"])
        except ResourceNotFound as error:
            return not_found(user, error)
        text = results_csv(map(row_of_job, tuning.training_jobs_of(job.name)))
        disposition = f'attachment; filename="{job.name}-training-jobs.csv"'
        return Response(text, media_type="text/csv", headers={"Content-Disposition": disposition})

    def chart_data(request: Request, user: User, form: Form) -> Response:
        try:
            job = tuning.get(request.path_params["name"])
        except ResourceNotFound as error:
            return JSONResponse({"error": error.message}, status_code=404)
        started = time.monotonic()
        jobs = tuning.training_jobs_of(job.name)
        data = charts(job.spec, jobs, tuning.metric_points)
        data["live"] = not job.status.is_terminal
        # a big job's charts cost more: the page polls them less often
        data["refresh_seconds"] = max(3.0, round(4 * (time.monotonic() - started), 1))
        return JSONResponse(data)

    r = console.route
    return [
        r("/", jobs_list, "ListHyperParameterTuningJobs"),
        r("/jobs/{name}", job_page, "DescribeHyperParameterTuningJob"),
        r("/jobs/{name}/summary", summary, "DescribeHyperParameterTuningJob"),
        r(
            "/jobs/{name}/training-jobs",
            training_jobs,
            "ListTrainingJobsForHyperParameterTuningJob",
        ),
        r(
            "/jobs/{name}/training-jobs.csv",
            training_jobs_csv,
            "ListTrainingJobsForHyperParameterTuningJob",
        ),
        r("/jobs/{name}/charts.json", chart_data, "ListTrainingJobsForHyperParameterTuningJob"),
        *jobs_actions.routes(console),
    ]


def _training_context(console: Console, job: TuningJob, params: Mapping[str, str]) -> dict:
    """The training jobs tab: one page of rows under the URL's filter and sort."""
    tuning = console.services.tuning
    filters = TrainingFilter.of(params)
    page = paged(
        tuning.store.list_training_jobs,
        filters.query(job.name),
        training_key(filters.sort),
        decode_cursor(params.get("after")),
        decode_cursor(params.get("before")),
    )
    current = {
        "q": filters.q,
        "status": filters.status,
        "sort": filters.sort,
        "order": filters.order,
        "limit": filters.limit,
        "after": params.get("after", ""),
        "before": params.get("before", ""),
    }
    return {
        "poll_url": url(f"/jobs/{quote(job.name)}/training-jobs", **current),
        "filters": filters,
        "rows": page.items,
        "page": page,
        "statuses": list(TrainingJobStatus),
        "multi": len(job.spec.definitions) > 1,
        "stopped_early": stopped_early,
        "live": not job.status.is_terminal,
        "now": tuning.clock.now(),
    }
