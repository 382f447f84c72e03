"""The create wizard's routes: a blank wizard, a clone of a job (optionally warm
starting from it), a job file upload, the buttons, the live checks (the API's
messages next to the fields, swapped in place by htmx), the regex tester and
Create."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from tunelab.console.app import Console, Form, Upload, is_htmx, redirect
from tunelab.console.builtins import choices as builtin_choices
from tunelab.console.builtins import definition_for_builtin
from tunelab.console.jobs_pages import job_url
from tunelab.console.session import User
from tunelab.console.templating import render
from tunelab.console.validation import Checked, check, parallel_rule
from tunelab.console.wizard_actions import ActionError, apply_action
from tunelab.console.wizard_build import definition_for_algorithm, form_for_document
from tunelab.console.wizard_form import STEPS, JobForm, Pair, job_form_from_form
from tunelab.domain.definition import MetricDefinition
from tunelab.domain.enums import StrategyType, WarmStartType
from tunelab.domain.errors import ResourceNotFound, TunelabError, ValidationError
from tunelab.domain.sagemaker_model import input_shape
from tunelab.domain.tuning_job import TuningJob
from tunelab.metrics.extract import MetricExtractor, validate_regex
from tunelab.service.documents import parse_document
from tunelab.store.base import TuningJobQuery
from tunelab.store.sql.tags import TUNING_JOB
from tunelab.strategies.registry import STRATEGIES

CREATE = "CreateHyperParameterTuningJob"
MAX_NAME = 32


def instance_types() -> list[str]:
    shape = input_shape(CREATE).members["TrainingJobDefinition"].members["ResourceConfig"]
    return list(shape.members["InstanceType"].metadata.get("enum", []))


def parse_job_file(upload: Upload) -> dict[str, Any]:
    """A request from an uploaded JSON or YAML file; ``ValueError`` saying where it
    is not valid."""
    name = upload.filename or "job file"
    try:
        text = upload.data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{name}: not UTF-8 text") from None
    try:
        document = parse_document(name, text)  # as `tunelab run` reads a job file
    except ValidationError as error:
        raise ValueError(str(error)) from None
    if not isinstance(document, dict):
        raise ValueError(
            f"{name}: a tuning job file holds one object (CreateHyperParameterTuningJob's request)"
        )
    return document


def free_name(console: Console, base: str) -> str:
    """``base-2``, ``base-3``... the first name no tuning job has (at most 32 characters)."""
    stem = base[: MAX_NAME - 3].rstrip("-") or "job"
    for n in range(2, 100):
        candidate = f"{stem}-{n}"
        try:
            console.services.tuning.get(candidate)
        except ResourceNotFound:
            return candidate
    return stem


def clone_form(console: Console, job: TuningJob, warm_start: bool) -> JobForm:
    """The wizard filled in with ``job``'s request (its current tags), under a free
    name; with ``warm_start``, warm starting from ``job``."""
    form = form_for_document(dict(job.spec.document))
    form.name = free_name(console, job.name)
    tags = console.services.tuning.store.tags.list(TUNING_JOB, job.name)
    form.tags = [Pair(k, v) for k, v in tags]
    if warm_start:
        form.warm_type = form.warm_type or str(WarmStartType.IDENTICAL_DATA_AND_ALGORITHM)
        form.warm_parents = [job.name]
    return form


def routes(console: Console) -> list[BaseRoute]:
    tuning = console.services.tuning

    def context(user: User, form: JobForm, checked: Checked, **extra: Any) -> dict[str, Any]:
        recent = tuning.list(TuningJobQuery(limit=100, sort_by="CreationTime"))
        return dict(
            user=user,
            form=form,
            checked=checked,
            messages=checked.messages,
            badges=checked.count_by_step(),
            rule=parallel_rule(form, console.services.settings.quotas),
            quotas=console.services.settings.quotas,
            steps=STEPS,
            strategies=[(str(s), s in STRATEGIES) for s in StrategyType],
            warm_types=[str(t) for t in WarmStartType],
            instance_types=instance_types(),
            algorithms=[a.name for a in console.services.algorithms.list()],
            builtins=builtin_choices(),
            parents=[j.name for j in recent.items if j.status.is_terminal],
            review=json.dumps(checked.built.document, indent=2),
            **extra,
        )

    def show(
        request: Request, user: User, form: JobForm, pristine: bool = False, **extra: Any
    ) -> Response:
        """The wizard; ``pristine`` (a blank one): no messages until the user acts."""
        checked = check(tuning, form)
        if pristine:
            checked.messages, checked.general, checked.code = {}, [], None
        values = context(user, form, checked, **extra)
        if is_htmx(request) and request.headers.get("hx-target") == "wizard":
            return render("_wizard.html", **values)
        return render("wizard.html", **values)

    def new(request: Request, user: User, posted: Form) -> Response:
        source = request.query_params.get("clone")
        if not source:
            return show(request, user, JobForm.new(), pristine=True)
        try:
            job = tuning.get(source)
        except ResourceNotFound as error:
            return render("error.html", 404, user=user, title="Not found", message=error.message)
        warm = request.query_params.get("warm_start") == "1"
        return show(request, user, clone_form(console, job, warm), cloned_from=job.name)

    def act(request: Request, user: User, posted: Form) -> Response:
        form = job_form_from_form(_texts(posted))
        action = str(posted.get("action", ""))
        if action.startswith("use-algorithm:"):
            return _use_algorithm(request, user, form, action)
        if action.startswith("use-builtin:"):
            return _use_builtin(request, user, form, action)
        try:
            form = apply_action(form, action)
        except ActionError as error:
            return Response(str(error), status_code=400)
        if action != "create":
            return show(request, user, form)
        checked = check(tuning, form)
        if not checked.ok:
            counts = checked.count_by_step()
            form.step = min(counts) if counts else 4
            values = context(user, form, checked, failed=True)
            template = "_wizard.html" if is_htmx(request) else "wizard.html"
            return render(template, status_code=422 if not is_htmx(request) else 200, **values)
        try:
            job = tuning.create(checked.built.document, created_by=user.access_key_id)
        except TunelabError as error:
            checked.code = error.code
            checked.general.append(error.message)
            return render(
                "_wizard.html" if is_htmx(request) else "wizard.html",
                **context(user, form, checked),
            )
        if console.services.scheduler is not None:
            console.services.scheduler.notify()
        return redirect(request, job_url(job.name))

    def _use_algorithm(request: Request, user: User, form: JobForm, action: str) -> Response:
        index = int(action.split(":", 1)[1]) if action.split(":", 1)[1].isdigit() else -1
        if not 0 <= index < len(form.definitions):
            return Response("no such definition", status_code=400)
        current = form.definitions[index]
        try:
            algorithm = console.services.algorithms.get(current.algorithm.strip())
        except ResourceNotFound:
            return show(request, user, form)
        filled = definition_for_algorithm(algorithm.name, algorithm.document)
        for attribute in ("name", "role", "output", "channels", "environment", "max_runtime"):
            setattr(filled, attribute, getattr(current, attribute))
        form.definitions[index] = filled
        return show(request, user, form)

    def _use_builtin(request: Request, user: User, form: JobForm, action: str) -> Response:
        index = int(action.split(":", 1)[1]) if action.split(":", 1)[1].isdigit() else -1
        if not 0 <= index < len(form.definitions):
            return Response("no such definition", status_code=400)
        current = form.definitions[index]
        filled = definition_for_builtin(current.image)
        if filled is None:
            return show(request, user, form)
        for attribute in ("name", "role", "output", "channels", "environment", "max_runtime"):
            setattr(filled, attribute, getattr(current, attribute))
        form.definitions[index] = filled
        return show(request, user, form)

    def live_check(request: Request, user: User, posted: Form) -> Response:
        form = job_form_from_form(_texts(posted))
        checked = check(tuning, form)
        slots = sorted(set(checked.built.fields.values()) | set(checked.messages))
        return render("_wizard_checks.html", slots=slots, **context(user, form, checked))

    def regex(request: Request, user: User, posted: Form) -> Response:
        row = request.query_params.get("row", "")
        pattern, sample = str(posted.get(f"{row}.regex", "")), str(posted.get(f"{row}.sample", ""))
        return render("_regex_result.html", **regex_result(pattern, sample))

    def upload(request: Request, user: User, posted: Form) -> Response:
        found = posted.get("file")
        if not isinstance(found, Upload) or not found.data:
            return show(
                request, user, JobForm.new(), upload_error="Choose a JSON or YAML job file."
            )
        try:
            document = parse_job_file(found)
        except ValueError as error:
            return show(request, user, JobForm.new(), upload_error=str(error))
        form = form_for_document(document)
        form.step = 4
        return show(request, user, form, uploaded=found.filename)

    r = console.route
    return [
        r("/create", new, CREATE),
        r("/create", act, CREATE, ("POST",)),
        r("/create/check", live_check, CREATE, ("POST",)),
        r("/create/regex", regex, CREATE, ("POST",)),
        r("/create/upload", upload, CREATE, ("POST",)),
    ]


def _texts(posted: Form) -> dict[str, str]:
    return {k: v for k, v in posted.items() if isinstance(v, str)}


def regex_result(pattern: str, sample: str) -> dict[str, Any]:
    """What tunelab's metric extractor reads from ``sample`` with ``pattern``: the
    number, no match, or why the regex does not compile."""
    if not pattern:
        return {"state": "empty", "text": ""}
    error = validate_regex(pattern)
    if error is not None:
        return {"state": "error", "text": f"Regex {error}"}
    if not sample:
        return {"state": "empty", "text": "Paste a log line to test the regex."}
    points = MetricExtractor([MetricDefinition("metric", pattern)]).feed([sample], 0.0)
    if not points:
        return {"state": "miss", "text": "No number matched: this line gives no data point."}
    return {"state": "match", "text": f"Matched: {points[0].value:g}"}
