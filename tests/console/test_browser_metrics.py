"""The training job page's metric chart in a real browser (Playwright driving Debian's
Chromium): reports printed within a moment are plotted one per report number, not
collapsed on a time axis; the hover keeps the time; the X axis switch shows the
seconds since the start; a live job's refreshes keep the chosen axis."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.console.jobs import add_dense_reports, add_training_jobs
from tests.console.server import ConsoleServer, request, start_console_server
from tunelab.domain.enums import ObjectiveStatus, SecondaryStatus, TrainingJobStatus
from tunelab.domain.trial import TrainingJob

pytestmark = pytest.mark.browser

AXIS = """() => {
  const chart = document.getElementById("chart-metrics");
  const axis = chart._fullLayout.xaxis;
  return {title: axis.title.text, range: axis.range, reports: chart.data[0].x.length};
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleServer]:
    """A server without a scheduler: the training jobs are written to its store."""
    home = tmp_path_factory.mktemp("metrics") / "home"
    with start_console_server(home, scheduler=False) as running:
        yield running


def dense_job(server: ConsoleServer, name: str, live: bool) -> TrainingJob:
    """A training job whose 2,000 reports of ``loss`` came within 0.3 s (its first
    report and 1,999 more), still running when ``live``."""
    server.services.tuning.create(request(server.runs_log, name))
    job = add_training_jobs(server.store, name, 1, epochs=1)[0]
    if live:
        job = job.evolve(
            status=TrainingJobStatus.IN_PROGRESS,
            secondary_status=SecondaryStatus.TRAINING,
            objective_status=ObjectiveStatus.PENDING,
            final_objective_value=None,
            end_time=None,
        )
        with server.store.batch() as batch:
            batch.put_training_job(job)
    add_dense_reports(server.store, job, 1999, seconds=0.3, first_step=1)
    return job


def open_chart(server: ConsoleServer, page: Any, job: TrainingJob) -> dict[str, Any]:
    page.goto(f"{server.url}/console/training-jobs/{job.name}")
    page.wait_for_selector("#chart-metrics[data-rendered=true] .main-svg")
    return page.evaluate(AXIS)


def test_reports_within_a_moment_are_plotted_per_report(server: ConsoleServer, page: Any) -> None:
    job = dense_job(server, "dense-done", live=False)
    shown = open_chart(server, page, job)
    low, high = shown["range"]
    assert low <= 1 and high >= 2000  # on a time axis: [0, 0.3], one vertical line
    assert shown["title"] == "report number" and shown["reports"] == 2000

    page.evaluate(
        """() => Plotly.Fx.hover(document.getElementById("chart-metrics"),
                                 [{curveNumber: 0, pointNumber: 999}])"""
    )
    hover = page.locator("#chart-metrics .hovertext").text_content() or ""
    assert "report 1000," in hover and " s: " in hover  # the time stays in the hover

    page.select_option("#metrics-axis", "seconds")
    page.wait_for_function(
        """() => document.getElementById("chart-metrics")._fullLayout.xaxis.title.text
                 === "seconds since start" """
    )
    low, high = page.evaluate(AXIS)["range"]
    assert low >= -0.1 and high <= 0.4


def test_a_live_jobs_refreshes_plot_new_reports_on_the_chosen_axis(
    server: ConsoleServer, page: Any
) -> None:
    job = dense_job(server, "dense-live", live=True)
    shown = open_chart(server, page, job)
    assert shown["title"] == "report number" and shown["reports"] == 2000
    add_dense_reports(server.store, job, 1000, 0.1, first_step=2000, from_second=0.3)
    page.wait_for_function(
        """() => document.getElementById("chart-metrics").data[0].x.length === 3000""",
        timeout=15_000,
    )
    shown = page.evaluate(AXIS)
    assert shown["title"] == "report number" and shown["range"][1] >= 3000

    page.select_option("#metrics-axis", "seconds")
    add_dense_reports(server.store, job, 1000, 0.1, first_step=3000, from_second=0.4)
    page.wait_for_function(
        """() => document.getElementById("chart-metrics").data[0].x.length === 4000""",
        timeout=15_000,
    )
    shown = page.evaluate(AXIS)
    assert shown["title"] == "seconds since start" and shown["range"][1] < 1
