"""The jobs list and the tuning job page: live summary, tabs (training jobs,
definitions, configuration, tags), chart data, and the Stop / Delete / tag
actions."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from tunelab.console.app import Console, Form, is_htmx, redirect
from tunelab.console.charts import charts, stopped_early
from tunelab.console.listing import (
    JobsFilter,
    TrainingFilter,
    decode_cursor,
    list_tuning_jobs,
    paged,
    training_key,
)
from tunelab.console.session import User
from tunelab.console.templating import PREFIX, render
from tunelab.domain.definition import TrainingJobDefinition
from tunelab.domain.enums import TrainingJobStatus, TuningJobStatus
from tunelab.domain.errors import ResourceNotFound, TunelabError
from tunelab.domain.names import tuning_job_arn
from tunelab.domain.search_space import CategoricalRange, IntegerRange
from tunelab.domain.shape_check import check_input
from tunelab.domain.trial import TrainingJob
from tunelab.domain.tuning_job import TuningJob
from tunelab.store.base import Counters
from tunelab.store.sql.tags import TUNING_JOB

TABS = ("jobs", "definitions", "configuration", "tags")
MAX_TAGS = 50
"""SageMaker's limit of tags per resource."""


@dataclass(frozen=True)
class JobRow:
    """One line of the jobs list."""

    job: TuningJob
    counters: Counters
    best: TrainingJob | None

    @property
    def max_jobs(self) -> int | None:
        return self.job.spec.max_jobs

    @property
    def percent(self) -> int:
        total = self.max_jobs
        done = self.counters.total - self.counters.in_progress
        return 0 if not total else min(100, round(100 * done / total))


def url(path: str, **params: Any) -> str:
    """``PREFIX + path`` with the non-empty ``params`` as its query."""
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return f"{PREFIX}{path}" + (f"?{query}" if query else "")


def job_url(name: str, suffix: str = "") -> str:
    return f"{PREFIX}/jobs/{quote(name)}{suffix}"


def range_rows(definition: TrainingJobDefinition) -> list[tuple[str, str, str, str]]:
    """(name, type, range, scaling) of each tuned hyperparameter, for display."""
    found = []
    for r in definition.search_space.ranges:
        if isinstance(r, CategoricalRange):
            found.append((r.name, "Categorical", ", ".join(r.values), "—"))
        else:
            kind = "Integer" if isinstance(r, IntegerRange) else "Continuous"
            found.append((r.name, kind, f"{r.min_value} … {r.max_value}", str(r.scaling)))
    return found


def _job_row(console: Console, job: TuningJob) -> JobRow:
    store = console.services.tuning.store
    best = store.best_training_job(job.name, job.spec.objective_type)
    return JobRow(job, store.counters(job.name), best)


def _tags(console: Console, name: str) -> list[tuple[str, str]]:
    return console.services.tuning.store.tags.list(TUNING_JOB, name)


@dataclass(frozen=True)
class JobView:
    """What the job page shows of a tuning job."""

    job: TuningJob
    counters: Counters
    best: TrainingJob | None
    best_hyperparameters: Mapping[str, str]
    now: float

    @property
    def live(self) -> bool:
        return not self.job.status.is_terminal

    @property
    def runtime(self) -> float:
        end = self.job.end_time if self.job.end_time is not None else self.now
        return end - self.job.creation_time

    @property
    def percent(self) -> int:
        return JobRow(self.job, self.counters, self.best).percent


def job_view(console: Console, name: str) -> JobView:
    tuning = console.services.tuning
    job = tuning.get(name)
    best = tuning.store.best_training_job(job.name, job.spec.objective_type)
    hyperparameters: Mapping[str, str] = {}
    if best is not None:
        hyperparameters = dict(best.tuned_hyperparameters)
    return JobView(job, tuning.store.counters(job.name), best, hyperparameters, tuning.clock.now())


def _not_found(user: User, error: ResourceNotFound) -> Response:
    return render(
        "error.html", status_code=404, user=user, title="Not found", message=error.message
    )


def routes(console: Console) -> list[BaseRoute]:
    tuning = console.services.tuning

    def jobs_list(request: Request, user: User, form: Form) -> Response:
        params = request.query_params
        jobs = JobsFilter.of(params)
        page = list_tuning_jobs(
            tuning.store, jobs, params.get("after", ""), params.get("before", "")
        )
        rows = [_job_row(console, job) for job in page.items]
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
            return _not_found(user, error)
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
            return _not_found(user, error)
        if request.query_params.get("live") == "1" and not view.live:
            # the job just ended: reload the page once (tabs, counts and charts final)
            return Response(status_code=204, headers={"HX-Refresh": "true"})
        return render("_job_summary.html", user=user, view=view, job_url=job_url, oob=True)

    def training_jobs(request: Request, user: User, form: Form) -> Response:
        try:
            job = tuning.get(request.path_params["name"])
        except ResourceNotFound as error:
            return _not_found(user, error)
        context = _training_context(console, job, request.query_params)
        return render("_training_jobs.html", user=user, job=job, tj=context, url=url)

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

    def stop(request: Request, user: User, form: Form) -> Response:
        name = request.path_params["name"]
        try:
            tuning.stop(name, finish_orphans=False)
        except TunelabError as error:
            return _action_failed(console, user, name, error)
        if console.services.scheduler is not None:
            console.services.scheduler.notify()
        return redirect(request, job_url(name))

    def delete(request: Request, user: User, form: Form) -> Response:
        name = request.path_params["name"]
        try:
            tuning.delete(name)
        except TunelabError as error:
            return _action_failed(console, user, name, error)
        return redirect(request, url("/", deleted=name))

    def tags_add(request: Request, user: User, form: Form) -> Response:
        return _edit_tags(console, request, user, form, add=True)

    def tags_delete(request: Request, user: User, form: Form) -> Response:
        return _edit_tags(console, request, user, form, add=False)

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
        r("/jobs/{name}/charts.json", chart_data, "ListTrainingJobsForHyperParameterTuningJob"),
        r("/jobs/{name}/stop", stop, "StopHyperParameterTuningJob", ("POST",)),
        r("/jobs/{name}/delete", delete, "DeleteHyperParameterTuningJob", ("POST",)),
        r("/jobs/{name}/tags", tags_add, "AddTags", ("POST",)),
        r("/jobs/{name}/tags/delete", tags_delete, "DeleteTags", ("POST",)),
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


def _action_failed(console: Console, user: User, name: str, error: TunelabError) -> Response:
    return render(
        "error.html",
        status_code=400,
        user=user,
        title=f"{error.code}",
        message=error.message,
        back=job_url(name),
    )


def _edit_tags(console: Console, request: Request, user: User, form: Form, add: bool) -> Response:
    name = request.path_params["name"]
    store = console.services.tuning.store
    try:
        job = console.services.tuning.get(name)
    except ResourceNotFound as error:
        return _not_found(user, error)
    settings = console.services.settings
    arn = tuning_job_arn(job.name, settings.region, settings.account)
    problems: list[str] = []
    if add:
        key, value = str(form.get("key", "")).strip(), str(form.get("value", ""))
        request_ = {"ResourceArn": arn, "Tags": [{"Key": key, "Value": value}]}
        problems = [str(v) for v in check_input("AddTags", request_)]
        keys = {k for k, _ in store.tags.list(TUNING_JOB, job.name)} | {key}
        if len(keys) > MAX_TAGS:
            problems.append(
                f"Tags: a resource has at most {MAX_TAGS} tags; this would make {len(keys)}"
            )
        if not problems:
            store.tags.add(TUNING_JOB, job.name, [(key, value)])
    else:
        store.tags.delete(TUNING_JOB, job.name, [str(form.get("key", ""))])
    return render(
        "_tags.html",
        status_code=200,
        user=user,
        job=job,
        tags=store.tags.list(TUNING_JOB, job.name),
        problems=problems,
        job_url=job_url,
        form_key=str(form.get("key", "")) if problems else "",
        form_value=str(form.get("value", "")) if problems else "",
    )
