"""The wizard shows the API's own messages (``TuningService.validate``, which
``CreateHyperParameterTuningJob`` runs), each next to the form field its path
comes from, and the live resource-limit rule."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.console.conftest import Console
from tests.console.server import request, two_definition_request
from tunelab.console.validation import check, parallel_rule
from tunelab.console.wizard_build import form_for_document
from tunelab.console.wizard_form import HyperParameterRow, JobForm
from tunelab.domain.errors import ResourceLimitExceeded, TunelabError, ValidationError
from tunelab.domain.rules import Quotas


def api_messages(console: Console, document: dict[str, Any]) -> list[str]:
    """What ``CreateHyperParameterTuningJob`` answers for ``document``."""
    try:
        console.services.tuning.validate(document, name_must_be_free=True)
    except ValidationError as error:
        return [v.message for v in error.violations]
    except ResourceLimitExceeded as error:
        return [error.message.removeprefix(f"{error.path}: ")]
    except TunelabError as error:
        return [error.message]
    return []


def shown(console: Console, form: JobForm) -> dict[str, list[str]]:
    checked = check(console.services.tuning, form)
    found = dict(checked.messages)
    if checked.general:
        found[""] = checked.general
    return found


def base_form(console: Console, two: bool = False) -> JobForm:
    runs_log = console.home / "runs.log"
    document = two_definition_request(runs_log, "new-job") if two else request(runs_log, "new-job")
    return form_for_document(document)


def test_a_valid_form_shows_nothing(console: Console) -> None:
    form = base_form(console)
    assert shown(console, form) == {}
    assert check(console.services.tuning, form).ok


Change = Callable[[JobForm], None]


def _set(attribute: str, value: str) -> Change:
    return lambda form: setattr(form, attribute, value)


def _definition(index: int, attribute: str, value: Any) -> Change:
    return lambda form: setattr(form.definitions[index], attribute, value)


def _row(attribute: str, value: str, row: int = 0) -> Change:
    return lambda form: setattr(form.definitions[0].hyperparameters[row], attribute, value)


HYPERBAND = (("strategy", "Hyperband"), ("hb_min", "10"), ("hb_max", "5"))
CASES: list[tuple[str, Change, str, bool]] = [
    # (case, change, the field that shows the message, two definitions)
    ("parallel quota", _set("max_parallel", "11"), "max_parallel", False),
    ("not an integer", _set("max_jobs", "ten"), "max_jobs", False),
    ("name pattern", _set("name", "no spaces allowed"), "name", False),
    ("min above max", _row("max", "-1"), "d0-hp-0", False),
    ("log scale from 0", _row("scaling", "Logarithmic"), "d0-hp-0-scaling", False),
    ("bound not a number", _row("min", "zero"), "d0-hp-0-min", False),
    (
        "objective metric",
        _definition(0, "objective_metric", "accuracy"),
        "d0-objective_metric",
        False,
    ),
    ("program missing", _definition(0, "image", "file:///no/such/train.py"), "d0-image", False),
    ("role pattern", _definition(0, "role", "my-role"), "d0-role", False),
    ("duplicate definition", _definition(1, "name", "ALPHA"), "d1-name", True),
    ("hyperband resources", lambda f: [_set(k, v)(f) for k, v in HYPERBAND], "hb_min", True),
    ("seed below zero", _set("seed", "-1"), "seed", False),
]


@pytest.mark.parametrize(
    ("change", "field", "two"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_each_api_message_is_shown_next_to_its_field(
    console: Console, change: Change, field: str, two: bool
) -> None:
    form = base_form(console, two)
    change(form)
    from tunelab.console.wizard_build import build

    expected = api_messages(console, build(form).document)
    assert expected, "the change should break a rule"
    messages = shown(console, form)
    assert sorted(m for found in messages.values() for m in found) == sorted(expected)
    assert messages.get(field), f"nothing shown at {field}: {messages}"


def test_a_typo_in_the_other_members_is_reported_with_the_api_message(console: Console) -> None:
    form = base_form(console)
    form.extra = json.dumps(
        {"HyperParameterTuningJobConfig": {"ResourceLimits": {"MaxParallelTraningJobs": 3}}}
    )
    messages = shown(console, form)
    assert any("did you mean 'MaxParallelTrainingJobs'" in m for m in messages["max_parallel"])


def test_a_taken_name_is_shown_at_the_name(console: Console) -> None:
    form = base_form(console)
    console.services.tuning.create(request(console.home / "runs.log", "New-Job"))
    assert shown(console, form) == {
        "name": [
            "Tuning job 'new-job' already exists (names are not case sensitive: "
            "'New-Job' is taken)"
        ]
    }


def test_warm_start_messages_are_shown_at_the_warm_start_fields(console: Console) -> None:
    console.services.tuning.create(request(console.home / "runs.log", "parent"))
    form = base_form(console)
    form.warm_type, form.warm_parents = "IdenticalDataAndAlgorithm", ["parent"]
    from tunelab.console.wizard_build import build

    expected = api_messages(console, build(form).document)
    messages = shown(console, form)
    for message in expected:  # whatever the backend says of warm start, it says it there
        assert message in messages.get("warm_type", []) + messages.get("ws_parent-0-name", [])
    form.warm_parents = ["parent", ""]
    assert messages != shown(console, form) or not expected


def test_the_parallel_rule_is_computed_from_the_form() -> None:
    form = JobForm.new()
    form.max_parallel = "6"
    form.definitions[0].instance_count = "4"
    rule = parallel_rule(form, Quotas())
    assert (rule.parallel, rule.instances_per_job, rule.instances, rule.ok) == (6, 4, 24, False)
    form.max_parallel = "5"
    assert parallel_rule(form, Quotas()).ok
    form.max_parallel = "x"
    assert parallel_rule(form, Quotas()).parallel is None
    other = copy.deepcopy(form)
    other.max_parallel = "11"
    other.definitions[0].instance_count = "1"
    assert not parallel_rule(other, Quotas()).ok


def test_every_problem_shows_at_once_though_the_api_stops_at_the_first_stage(
    console: Console,
) -> None:
    """Types, then which members go together, then values, then the rules: the API
    reports one stage at a time; the wizard shows them all."""
    form = base_form(console, two=True)
    first, second = form.definitions
    first.hyperparameters[0].min, first.hyperparameters[0].max = "0.9", "0.5"
    k = len(first.hyperparameters)
    first.hyperparameters.append(HyperParameterRow("k", "integer", "abc", "5"))
    first.objective_metric = "nosuch"
    second.name = "ALPHA"  # the first one's name
    second.hyperparameters[0].min, second.hyperparameters[0].scaling = "-1", "Logarithmic"
    form.max_parallel = "x"
    found = shown(console, form)
    expected = {
        "max_parallel": "must be an integer",
        "d1-name": "is already the name",
        f"d0-hp-{k}-min": "must be an integer written as a string",
        "d0-hp-0": "MinValue (0.9) must be less than MaxValue (0.5)",
        "d1-hp-0-scaling": "Logarithmic scaling needs MinValue and MaxValue greater than 0",
        "d0-objective_metric": "no MetricDefinition is named 'nosuch'",
    }
    for field_id, text in expected.items():
        assert any(text in m for m in found.get(field_id, [])), (field_id, found)
    assert set(found) == set(expected), found  # nothing about the stand-ins


def test_a_problem_stays_shown_while_another_field_is_not_a_number(console: Console) -> None:
    form = base_form(console)
    form.definitions[0].hyperparameters[0].min = "0.9"
    form.definitions[0].hyperparameters[0].max = "0.5"
    k = len(form.definitions[0].hyperparameters)
    form.definitions[0].hyperparameters.append(HyperParameterRow("k", "integer", "abc", "5"))
    found = shown(console, form)
    assert "MinValue (0.9) must be less than MaxValue (0.5)" in found["d0-hp-0"]
    assert any("must be an integer" in m for m in found[f"d0-hp-{k}-min"])
