"""The training job page names the model artifact Describe names: the prefix of the
uncompressed files when OutputDataConfig.CompressionType is NONE."""

from __future__ import annotations

import math

from tests.console.conftest import Console
from tests.console.jobs import add_dense_reports, add_training_jobs
from tests.console.server import request
from tunelab.domain.trial import MetricPoint


def test_uncompressed_output_shows_the_model_prefix(console: Console) -> None:
    document = request(console.home / "runs.log", "plain-output")
    document["TrainingJobDefinition"]["OutputDataConfig"]["CompressionType"] = "NONE"
    console.services.tuning.create(document)
    add_training_jobs(console.store, "plain-output", 1)
    job = console.services.tuning.training_jobs_of("plain-output")[0]
    page = console.client.get(f"/console/training-jobs/{job.name}")
    assert page.status_code == 200
    assert f"/{job.name}/output/model/" in page.text
    assert f"/{job.name}/output/model.tar.gz" not in page.text


HTMX = {"HX-Request": "true"}


def test_a_live_page_reloads_once_its_job_has_ended(console: Console) -> None:
    console.services.tuning.create(request(console.home / "runs.log", "ended"))
    add_training_jobs(console.store, "ended", 1)
    job = console.services.tuning.training_jobs_of("ended")[0]
    assert job.status.is_terminal
    base = f"/console/training-jobs/{job.name}/log?attempt=1"
    live = console.client.get(f"{base}&live=1", headers=HTMX)
    assert live.status_code == 204 and live.headers["HX-Refresh"] == "true"
    assert console.client.get(base, headers=HTMX).status_code == 200  # not a live page


def test_the_training_jobs_table_keeps_its_state_in_the_address(console: Console) -> None:
    console.services.tuning.create(request(console.home / "runs.log", "kept"))
    add_training_jobs(console.store, "kept", 3)
    table = console.client.get(
        "/console/jobs/kept/training-jobs?q=-00&order=Ascending&limit=10", headers=HTMX
    )
    assert table.status_code == 200
    assert table.headers["HX-Replace-Url"] == (
        "/console/jobs/kept?tab=jobs&q=-00&order=Ascending&limit=10"
    )
    page = console.client.get(table.headers["HX-Replace-Url"])
    assert 'value="-00"' in page.text and "<option selected>Ascending</option>" in page.text


def test_metrics_are_plotted_per_report_even_when_printed_within_a_moment(
    console: Console,
) -> None:
    """2,000 reports printed within 0.3 s: on a time axis they fall on a few hundred
    milliseconds, one vertical line; the chart's x is the report number, one per
    report, and the seconds since the start stay for the hover and the time axis."""
    console.services.tuning.create(request(console.home / "runs.log", "dense"))
    job = add_training_jobs(console.store, "dense", 1, epochs=1)[0]  # its first report
    add_dense_reports(console.store, job, 1999, seconds=0.3, first_step=1)
    data = console.client.get(f"/console/training-jobs/{job.name}/metrics.json").json()
    (series,) = data["series"]
    assert series["name"] == "loss"
    assert series["x"] == list(range(1, 2001))
    assert series["y"][-1] == 1.0 / 2000  # the last report, step 1999
    seconds = series["seconds"]
    assert len(seconds) == 2000 and seconds == sorted(seconds)
    assert seconds[0] >= 0 and seconds[-1] <= 0.3


def test_a_metric_that_reads_infinity_is_plotted_as_a_gap(console: Console) -> None:
    """A metric other than the objective may read inf (a diverged grad norm; nan is
    not stored): strict JSON has no such number, so the chart's data gives None there, a
    gap in the line, where it was an HTTP 500."""
    console.services.tuning.create(request(console.home / "runs.log", "diverged"))
    job = add_training_jobs(console.store, "diverged", 1, epochs=1)[0]
    start = job.start_time or job.creation_time
    values = [0.5, math.inf, -math.inf, 0.25]
    points = [MetricPoint("grad_norm", v, start + i, i) for i, v in enumerate(values)]
    with console.store.batch() as batch:
        batch.add_metric_points(job.name, points)
    response = console.client.get(f"/console/training-jobs/{job.name}/metrics.json")
    assert response.status_code == 200
    (series,) = [s for s in response.json()["series"] if s["name"] == "grad_norm"]
    assert series["y"] == [0.5, None, None, 0.25]
