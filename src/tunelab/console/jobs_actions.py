"""The tuning job page's actions: Stop, Delete, and adding or removing a tag
(each answered with the page to show, or the error page when the API refuses)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from tunelab.console.app import Console, Form, redirect
from tunelab.console.jobs_view import job_url, not_found, url
from tunelab.console.session import User
from tunelab.console.templating import render
from tunelab.domain.errors import ResourceNotFound, TunelabError, ValidationError
from tunelab.domain.names import tuning_job_arn
from tunelab.domain.shape_check import check_input
from tunelab.store.sql.tags import TUNING_JOB


def routes(console: Console) -> list[BaseRoute]:
    """The action routes (all POST), in the order the console registers them."""
    tuning = console.services.tuning

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
        r("/jobs/{name}/stop", stop, "StopHyperParameterTuningJob", ("POST",)),
        r("/jobs/{name}/delete", delete, "DeleteHyperParameterTuningJob", ("POST",)),
        r("/jobs/{name}/tags", tags_add, "AddTags", ("POST",)),
        r("/jobs/{name}/tags/delete", tags_delete, "DeleteTags", ("POST",)),
    ]


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
        return not_found(user, error)
    settings = console.services.settings
    arn = tuning_job_arn(job.name, settings.region, settings.account)
    problems: list[str] = []
    if add:
        key, value = str(form.get("key", "")).strip(), str(form.get("value", ""))
        request_ = {"ResourceArn": arn, "Tags": [{"Key": key, "Value": value}]}
        problems = [str(v) for v in check_input("AddTags", request_)]
        if not problems:
            try:  # the store checks the limit of tags per resource atomically
                store.tags.add(TUNING_JOB, job.name, [(key, value)])
            except ValidationError as error:
                problems.extend(str(v) for v in error.violations)
            except ResourceNotFound as error:
                return not_found(user, error)
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
        edited=True,  # the tab's count follows (swapped out of band)
        form_key=str(form.get("key", "")) if problems else "",
        form_value=str(form.get("value", "")) if problems else "",
    )
