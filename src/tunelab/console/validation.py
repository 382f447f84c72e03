"""The wizard's checks: the request it builds goes through
``TuningService.validate`` (the API's own stages and messages), and each
violation is put next to the form field its path comes from."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tunelab.console.validation_repair import covers, repair, value_at
from tunelab.console.wizard_build import Built, build
from tunelab.console.wizard_form import JobForm
from tunelab.domain.errors import (
    ResourceInUse,
    ResourceLimitExceeded,
    TunelabError,
    ValidationError,
    Violation,
)
from tunelab.domain.rules import Quotas
from tunelab.service.tuning import TuningService

_LAST_SEGMENT = re.compile(r"(\.[^.\[\]]+|\[[^\]]*\])$")
_PATH_PREFIX = re.compile(r"^([A-Za-z][\w.\[\]'\- ]*?): (.+)$", re.DOTALL)
STEP_OF_PREFIX = (("d", 2), ("definitions", 2), ("max_", 3))
MAX_PASSES = 6
_METRICS_FIELD = re.compile(r"d(\d+)-metrics")
_NO_SUCH_METRIC = "no MetricDefinition is named"


@dataclass
class Checked:
    """What the API says about the wizard's request: messages by field id, those
    no field owns, and whether the request passed every rule."""

    built: Built
    messages: dict[str, list[str]] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)
    code: str | None = None

    @property
    def ok(self) -> bool:
        return self.code is None and not self.messages and not self.general

    def add(self, path: str, message: str) -> None:
        field_id = field_for(path, self.built.fields)
        if field_id is None:
            self.general.append(f"{path}: {message}" if path else message)
        else:
            self.messages.setdefault(_moved(field_id, message), []).append(message)

    def count_by_step(self) -> dict[int, int]:
        counts: dict[int, int] = {}
        for field_id, found in self.messages.items():
            step = step_of(field_id)
            counts[step] = counts.get(step, 0) + len(found)
        return counts


def _moved(field_id: str, message: str) -> str:
    """The field a message is about when the API's path names another: an objective
    metric no metric definition has is the objective field's problem."""
    if (m := _METRICS_FIELD.fullmatch(field_id)) and _NO_SUCH_METRIC in message:
        return f"d{m[1]}-objective_metric"
    return field_id


def step_of(field_id: str) -> int:
    """The wizard step that shows the field."""
    for prefix, step in STEP_OF_PREFIX:
        if field_id.startswith(prefix) and (prefix != "d" or field_id[1:2].isdigit()):
            return step
    return 1


def field_for(path: str, fields: dict[str, str]) -> str | None:
    """The field of ``path`` or of its nearest enclosing path."""
    while path:
        if path in fields:
            return fields[path]
        shorter = _LAST_SEGMENT.sub("", path)
        if shorter == path:
            return None
        path = shorter
    return None


def _violations(error: TunelabError) -> list[Violation]:
    if isinstance(error, ValidationError):
        return list(error.violations)
    if isinstance(error, ResourceLimitExceeded):
        message = error.message.removeprefix(f"{error.path}: ") if error.path else error.message
        return [Violation(error.path, message, error.code)]
    if isinstance(error, ResourceInUse):
        return [Violation("HyperParameterTuningJobName", error.message, error.code)]
    return [Violation("", error.message, error.code)]


def _located(violation: Violation, built: Built) -> Violation:
    """``violation`` with the path its message starts with, when it has none; about
    a relative ``file:`` URI, a message saying why it cannot work here."""
    path, message = violation.path, violation.message
    if not path and (m := _PATH_PREFIX.match(message)) and field_for(m[1], built.fields):
        path, message = m[1], m[2]
    value = value_at(built.document, path)
    if isinstance(value, str) and value.startswith("file:") and not value.startswith("file:/"):
        message = relative_file_message(value)
    return Violation(path, message, violation.code)


def relative_file_message(uri: str) -> str:
    """Why a relative ``file:`` URI (from a job file) does not work in the wizard."""
    relative = uri.removeprefix("file:")
    return (
        f"{uri} is relative to the job file's folder: `tunelab run` and `tunelab validate` "
        "resolve it there, but the console cannot know the folder of an uploaded file; "
        f"write an absolute URI instead (file:///path/to/{relative})"
    )


def check(tuning: TuningService, form: JobForm) -> Checked:
    """Build the request and run every rule of ``CreateHyperParameterTuningJob`` on
    it, the name's availability included. The service stops at the first stage that
    finds problems; stand-ins for what a stage refused let the later stages speak
    too (:mod:`tunelab.console.validation_repair`), so every problem shows at once."""
    built = build(form)
    checked = Checked(built)
    for field_id, found in built.local.items():
        checked.messages.setdefault(field_id, []).extend(found)
    document, scopes = built.document, list[str]()
    seen: set[tuple[str, str]] = set()
    for _ in range(MAX_PASSES):
        try:
            tuning.validate(document, name_must_be_free=True)
            return checked
        except TunelabError as error:
            code, violations = error.code, [_located(v, built) for v in _violations(error)]
        fresh = [
            v for v in violations if (v.path, v.message) not in seen and not covers(scopes, v.path)
        ]
        if not fresh:
            return checked
        if checked.code is None or code == "ValidationException":
            checked.code = code
        for v in fresh:
            seen.add((v.path, v.message))
            checked.add(v.path, v.message)
        document, covered = repair(document, violations)
        if not covered:
            return checked
        scopes += covered
    return checked


@dataclass(frozen=True)
class ParallelRule:
    """The live check of resource limits: parallel jobs times the widest definition's
    instance count against the quota of training instances in use at once."""

    parallel: int | None
    instances_per_job: int
    quota_parallel: int
    quota_instances: int

    @property
    def instances(self) -> int | None:
        return None if self.parallel is None else self.parallel * self.instances_per_job

    @property
    def ok(self) -> bool:
        return (
            self.parallel is not None
            and 1 <= self.parallel <= self.quota_parallel
            and (self.instances or 0) <= self.quota_instances
        )


def parallel_rule(form: JobForm, quotas: Quotas) -> ParallelRule:
    def integer(text: str, default: int | None) -> int | None:
        try:
            return int(text.strip())
        except ValueError:
            return default

    widest = max((integer(d.instance_count, 1) or 1 for d in form.definitions), default=1)
    return ParallelRule(
        integer(form.max_parallel, None),
        widest,
        quotas.max_parallel_training_jobs,
        quotas.max_concurrent_instances,
    )
