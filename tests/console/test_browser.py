"""The console in a real browser (Playwright driving Debian's Chromium) against a
tunelab server in this process: the wizard creates a two-definition job that
runs to completion and shows its best job; a rule violation is shown in place
before submit; clone with warm start; stop; sign-in required. Screenshots of
every page go to ``tests/console/artifacts/``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.console.conftest import publish, screenshot
from tests.console.server import (
    FULL_KEY,
    PROGRAM,
    ConsoleServer,
    request,
    start_console_server,
    wait_until,
)
from tunelab.domain.errors import ResourceLimitExceeded
from tunelab.store.base import TuningJobQuery
from tunelab.store.sql.tags import TUNING_JOB

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleServer]:
    """A server without sign-in (``tunelab serve --no-auth``) with a finished job."""
    with start_console_server(tmp_path_factory.mktemp("console") / "home") as running:
        running.services.tuning.create(request(running.runs_log, "base-job", max_jobs=4))
        running.services.scheduler.notify()
        yield running


def finished(server: ConsoleServer, name: str, timeout: float = 60) -> None:
    tuning = server.services.tuning
    wait_until(lambda: tuning.get(name).status.is_terminal, timeout, f"{name} to end")


def expect_text(page: Any, selector: str, text: str, timeout: float = 15_000) -> None:
    from playwright.sync_api import expect

    expect(page.locator(selector)).to_contain_text(text, timeout=timeout)


def expect_no_text(page: Any, selector: str, text: str) -> None:
    from playwright.sync_api import expect

    expect(page.locator(selector)).not_to_contain_text(text)


def expect_exact_text(page: Any, selector: str, text: str) -> None:
    from playwright.sync_api import expect

    expect(page.locator(selector)).to_have_text(text)


def rerender(page: Any, action: Any) -> None:
    """Do what makes the wizard render itself again, and wait until it has (typing
    into the old form meanwhile would be lost, as for a person)."""
    with page.expect_response(
        lambda r: r.url.endswith("/console/create") and r.request.method == "POST"
    ):
        action()
    page.wait_for_function("() => !document.querySelector('#wizard.htmx-request')")


def next_step(page: Any) -> None:
    rerender(page, page.get_by_role("button", name="Next", exact=True).click)


def go_to_step(page: Any, title: str) -> None:
    steps = page.locator(".steps")
    rerender(page, steps.get_by_role("button", name=re.compile(title)).click)


def click_in_definition(page: Any, definition: int, button: str) -> None:
    scope = page.locator(f"#definition-{definition}")
    rerender(page, scope.get_by_role("button", name=button).click)


def add_static(page: Any, definition: int, row: int, name: str, value: str) -> None:
    click_in_definition(page, definition, "Add hyperparameter")
    page.fill(f"#d{definition}-hp-{row}-name", name)
    rerender(page, lambda: page.select_option(f"#d{definition}-hp-{row}-kind", "static"))
    page.fill(f"#d{definition}-hp-{row}-values", value)


def test_the_wizard_creates_a_two_definition_job_that_runs_to_completion(
    server: ConsoleServer, page: Any
) -> None:
    page.goto(f"{server.url}/console/create")
    publish(screenshot(page, "wizard-1-blank"), "wizard-1-settings.png")
    page.fill("#name", "wizard-job")
    page.fill("#seed", "11")
    next_step(page)

    page.fill("#d0-name", "alpha")
    page.fill("#d0-image", f"file://{PROGRAM}")
    page.fill("#d0-metric-0-name", "loss")
    page.fill("#d0-metric-0-regex", r"loss=([0-9.]+);")
    page.fill("#d0-metric-0-sample", "epoch=1 loss=0.52;")
    expect_text(page, "#definition-0 .regex-result", "Matched: 0.52")
    page.fill("#d0-objective_metric", "loss")
    page.select_option("#d0-objective_type", "Minimize")
    page.fill("#d0-hp-0-name", "x")
    page.fill("#d0-hp-0-min", "0")
    page.fill("#d0-hp-0-max", "1")
    add_static(page, 0, 1, "epochs", "3")
    add_static(page, 0, 2, "seconds_per_epoch", "0.05")
    click_in_definition(page, 0, "Add variable")
    page.fill("#d0-env-0-key", "RUNS_LOG")
    page.fill("#d0-env-0-value", str(server.runs_log))
    click_in_definition(page, 0, "Clone definition")
    page.fill("#d1-name", "beta")
    expect_text(page, "#definition-1 > legend", "Definition 2: beta")  # follows the name field
    page.fill("#d1-hp-0-max", "0.6")
    page.fill("#d1-hp-1-values", "2")
    publish(screenshot(page, "wizard-2-definitions"), "wizard-2-definitions.png")
    next_step(page)

    page.fill("#max_jobs", "6")
    page.fill("#max_parallel", "2")
    expect_text(page, "#parallel-rule", "Within the limits")
    screenshot(page, "wizard-3-limits")
    next_step(page)

    review = page.locator("#review-json")
    for expected in ('"TrainingJobDefinitions"', '"DefinitionName": "beta"', '"MaxValue": "0.6"'):
        expect_text(page, "#review-json", expected)
    assert '"TrainingJobDefinition"' not in review.inner_text()
    publish(screenshot(page, "wizard-4-review"), "wizard-4-review.png")
    page.get_by_role("button", name="Create tuning job").click()
    page.wait_for_url(f"{server.url}/console/jobs/wizard-job")

    expect_text(page, "#job-status", "Completed", timeout=60_000)
    tuning = server.services.tuning
    job = tuning.get("wizard-job")
    assert [d.name for d in job.spec.definitions] == ["alpha", "beta"]
    best = tuning.store.best_training_job("wizard-job", job.spec.objective_type)
    assert best is not None
    expect_text(page, "#best-job-link", best.name)
    expect_text(page, "#best-value", f"{best.final_objective_value:.6g}")
    page.wait_for_selector("#chart-objective .main-svg")
    page.wait_for_selector("#chart-curves .main-svg")
    page.wait_for_timeout(500)  # let Plotly finish drawing
    publish(screenshot(page, "job-page-completed"), "job-page.png")
    for tab in ("definitions", "configuration", "tags"):
        page.goto(f"{server.url}/console/jobs/wizard-job?tab={tab}")
        screenshot(page, f"job-tab-{tab}")

    page.goto(f"{server.url}/console/jobs/wizard-job")
    page.click("#best-job-link")
    expect_text(page, "#log-tail", "loss=")
    page.wait_for_selector("#chart-metrics .main-svg")
    screenshot(page, "training-job")
    page.goto(f"{server.url}/console/")
    expect_text(page, "#jobs-table", "wizard-job")
    screenshot(page, "jobs-list")


def test_a_rule_violation_is_shown_in_place_before_submit(
    server: ConsoleServer, page: Any
) -> None:
    page.goto(f"{server.url}/console/create?clone=base-job")
    go_to_step(page, "Resource limits")
    page.fill("#max_parallel", "11")
    document = request(server.runs_log, "base-job-2", parallel=11)
    with pytest.raises(ResourceLimitExceeded) as refused:
        server.services.tuning.validate(document)
    message = refused.value.message.removeprefix(f"{refused.value.path}: ")
    expect_text(page, "#err-max_parallel", message)
    expect_text(page, "#badge-3", "1 to fix")
    expect_text(page, "#parallel-rule", "Over the limits")
    assert page.get_attribute("#max_parallel", "aria-invalid") == "true"
    screenshot(page, "wizard-violation-limits")
    go_to_step(page, "Training job def")
    page.fill("#d0-hp-0-min", "2")
    expect_text(page, "#err-d0-hp-0", "MinValue (2) must be less than MaxValue (1)")
    screenshot(page, "wizard-violation-range")
    names = {j.name for j in server.services.tuning.list(TuningJobQuery()).items}
    assert "base-job-2" not in names  # nothing was submitted


def open_clone_with_warm_start(server: ConsoleServer, page: Any) -> None:
    finished(server, "base-job")
    page.goto(f"{server.url}/console/jobs/base-job")
    page.click("#clone-warm")
    page.wait_for_url(re.compile(r".*/console/create\?clone=base-job&warm_start=1$"))


def test_clone_offers_warm_start_from_the_job(server: ConsoleServer, page: Any) -> None:
    open_clone_with_warm_start(server, page)
    assert page.input_value("#name") == "base-job-2"
    assert page.input_value("#warm_type") == "IdenticalDataAndAlgorithm"
    assert page.input_value("#ws_parent-0-name") == "base-job"
    screenshot(page, "wizard-clone-warm-start")
    go_to_step(page, "Review")
    expect_text(page, "#review-json", '"HyperParameterTuningJobName": "base-job"')
    expect_text(page, "#review-json", '"WarmStartType": "IdenticalDataAndAlgorithm"')


def test_clone_with_warm_start_creates_a_job_that_runs(server: ConsoleServer, page: Any) -> None:
    open_clone_with_warm_start(server, page)
    page.fill("#name", "warm-child")
    go_to_step(page, "Review")
    with page.expect_response(lambda r: r.url.endswith("/console/create")) as answer:
        page.get_by_role("button", name="Create tuning job").click()
    screenshot(page, "wizard-clone-warm-start-create")
    refused = page.locator("#wizard .field-error:not(:empty)").all_inner_texts()
    assert answer.value.headers.get("hx-redirect") == "/console/jobs/warm-child", refused
    page.wait_for_url(f"{server.url}/console/jobs/warm-child")
    expect_text(page, "#job-summary", "from base-job")
    expect_text(page, "#job-status", "Completed", timeout=60_000)


def test_stop_a_running_job(server: ConsoleServer, page: Any) -> None:
    slow = request(server.runs_log, "slow-job", max_jobs=8, epochs="60", seconds_per_epoch="0.1")
    server.services.tuning.create(slow)
    server.services.scheduler.notify()
    tuning = server.services.tuning
    wait_until(lambda: tuning.store.counters("slow-job").completed >= 2, 60, "2 finished jobs")
    page.goto(f"{server.url}/console/jobs/slow-job")
    expect_text(page, "#job-summary", "running")
    page.wait_for_selector("#chart-curves .main-svg")
    page.wait_for_timeout(1500)
    publish(screenshot(page, "job-page-running"), "job-page-running.png")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#stop-button")
    expect_text(page, "#job-status", "Stopped", timeout=30_000)
    assert tuning.get("slow-job").status == "Stopped"
    statuses = {str(j.status) for j in tuning.training_jobs_of("slow-job")}
    assert "Stopped" in statuses and statuses <= {"Stopped", "Completed"}, statuses
    screenshot(page, "job-page-stopped")


@pytest.fixture(scope="module")
def signed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleServer]:
    """A server with sign-in (``tunelab serve``); its scheduler does not run."""
    home = tmp_path_factory.mktemp("signed") / "home"
    with start_console_server(home, auth=True, scheduler=False) as running:
        running.services.tuning.create(request(running.runs_log, "secret-job"))
        yield running


def test_sign_in_is_required(signed_server: ConsoleServer, page: Any) -> None:
    url = signed_server.url
    for path in ("/console/", "/console/jobs/secret-job", "/console/create"):
        page.goto(url + path)
        assert page.url.startswith(f"{url}/console/signin")
        assert page.locator("#jobs-table, #job-summary, #wizard").count() == 0
        assert "InProgress" not in page.content()
    response = page.request.get(f"{url}/console/jobs/secret-job/charts.json")
    assert response.status == 401 or "signin" in response.url
    screenshot(page, "signin")
    page.fill("#access_key_id", FULL_KEY[0])
    page.fill("#secret", "not-the-secret")
    page.get_by_role("button", name="Sign in").click()
    expect_text(page, "#signin-error", "not valid")
    page.fill("#secret", FULL_KEY[1])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{url}/console/create")
    page.goto(f"{url}/console/")
    expect_text(page, "#jobs-table", "secret-job")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{url}/console/signin")
    page.goto(f"{url}/console/jobs/secret-job")
    assert page.url.startswith(f"{url}/console/signin")


def test_reload_and_back_keep_the_wizard_draft(server: ConsoleServer, page: Any) -> None:
    page.goto(f"{server.url}/console/create")
    page.fill("#name", "draft-job")
    next_step(page)
    page.fill("#d0-name", "alpha")
    page.fill("#d0-hp-0-name", "lr")

    page.reload()
    expect_text(page, "#draft-restored", "Restored the draft")
    page.wait_for_selector("#step-title-2", state="visible")
    assert page.input_value("#d0-name") == "alpha"
    assert page.input_value("#d0-hp-0-name") == "lr"

    page.go_back()  # to step 1, not out of the wizard
    page.wait_for_selector("#step-title-1", state="visible")
    assert page.url == f"{server.url}/console/create"
    assert page.input_value("#name") == "draft-job"
    page.go_forward()
    page.wait_for_selector("#step-title-2", state="visible")
    assert page.input_value("#d0-name") == "alpha"

    page.get_by_role("button", name="Start over").click()
    page.wait_for_selector("#step-title-1", state="visible")
    assert page.input_value("#name") == ""


def test_early_stopping_and_warm_start_come_back_when_they_apply_again(
    server: ConsoleServer, page: Any
) -> None:
    page.goto(f"{server.url}/console/create")
    page.select_option("#early_stopping", "Auto")
    page.select_option("#warm_type", "TransferLearning")
    rerender(page, page.get_by_role("button", name="Add parent job").click)
    page.fill("#ws_parent-0-name", "base-job")
    next_step(page)
    click_in_definition(page, 0, "Clone definition")
    go_to_step(page, "Job settings")
    expect_text(page, "#early_stopping-kept", "Your choice (Auto) is kept")
    expect_text(page, "#warm-start-off", "from base-job")
    go_to_step(page, "Review")
    assert "WarmStartConfig" not in page.inner_text("#review-json")
    go_to_step(page, "Training job def")
    click_in_definition(page, 1, "Delete definition")
    go_to_step(page, "Job settings")
    assert page.input_value("#early_stopping") == "Auto"
    assert page.input_value("#warm_type") == "TransferLearning"
    assert page.input_value("#ws_parent-0-name") == "base-job"

    rerender(page, lambda: page.select_option("#strategy", "Hyperband"))
    expect_text(page, "#early_stopping-kept", "Your choice (Auto) is kept")
    rerender(page, lambda: page.select_option("#strategy", "Random"))
    assert page.input_value("#early_stopping") == "Auto"


def test_the_tag_filter_filters_while_typing(server: ConsoleServer, page: Any) -> None:
    tuning = server.services.tuning
    tuning.create(request(server.runs_log, "untagged-job", max_jobs=1))
    tuning.store.tags.add(TUNING_JOB, "base-job", [("filter-team", "blue")])
    page.goto(f"{server.url}/console/")
    expect_text(page, "#jobs-table", "untagged-job")
    page.fill("#tag-filter", "filter-team=blue")  # no blur, no Enter
    expect_no_text(page, "#jobs-table", "untagged-job")
    expect_text(page, "#jobs-table", "base-job")


def test_the_tags_tab_counts_the_tags_after_an_edit(server: ConsoleServer, page: Any) -> None:
    page.goto(f"{server.url}/console/jobs/base-job?tab=tags")
    rows = page.locator("#tags-panel tbody tr:has(button)")
    for key in ("count-a", "count-b"):
        page.fill("#tag-key", key)
        page.get_by_role("button", name="Add or change tag").click()
        expect_text(page, "#tags-panel", key)
        expect_exact_text(page, "#tags-count", str(rows.count()))
    page.get_by_role("button", name="Remove tag count-a").click()
    expect_no_text(page, "#tags-panel", "count-a")
    expect_exact_text(page, "#tags-count", str(rows.count()))
