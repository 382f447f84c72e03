"""Every console page and action through Starlette's TestClient (no browser): the
jobs list, the job page and its parts, the training job page, the wizard's
buttons, live checks, upload and Create, and the job actions."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.console.conftest import Console
from tests.console.jobs import add_training_jobs, finished_grid_job, write_log
from tests.console.server import PROGRAM, request, two_definition_request
from tests.console.test_wizard_form import as_fields
from tunelab.console.wizard_build import form_for_document
from tunelab.domain.enums import SecondaryStatus, TrainingJobStatus, TuningJobStatus
from tunelab.domain.trial import StatusTransition
from tunelab.orchestrator.stoppers import ENDED
from tunelab.store.sql.tags import TUNING_JOB

HTMX = {"HX-Request": "true"}


class Ids(HTMLParser):
    """Every id in a page, and the ids of elements swapped out of band."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.oob: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("id"):
            self.ids.add(str(found["id"]))
            if "hx-swap-oob" in found:
                self.oob.add(str(found["id"]))


def ids(html: str) -> Ids:
    parser = Ids()
    parser.feed(html)
    return parser


def make_job(
    console: Console, name: str = "job-1", two: bool = False, count: int = 12, early_every: int = 4
) -> None:
    runs_log = console.home / "runs.log"
    document = two_definition_request(runs_log, name) if two else request(runs_log, name)
    console.services.tuning.create(document)
    definitions = ("alpha", "beta") if two else (None,)
    add_training_jobs(console.store, name, count, definitions=definitions, early_every=early_every)


def test_the_root_leads_to_the_jobs_list(console: Console) -> None:
    response = console.client.get("/", follow_redirects=False)
    assert response.headers["location"] == "/console/"
    assert console.client.get("/console").url.path == "/console/"


def test_jobs_list_shows_status_strategy_progress_and_best(console: Console) -> None:
    make_job(console, "job-1")
    console.services.tuning.create(request(console.home / "runs.log", "job-2"))
    page = console.client.get("/console/")
    assert page.status_code == 200
    text = page.text
    assert "job-1" in text and "job-2" in text
    assert "Random" in text and "InProgress" in text
    best = min(j.final_objective_value for j in console.services.tuning.training_jobs_of("job-1"))
    assert f"{best:.6g}" in text
    assert "12 / 4" in text  # 12 training jobs stored for a budget of 4
    partial = console.client.get("/console/?q=job-2", headers={**HTMX, "HX-Target": "jobs-table"})
    assert partial.text.lstrip().startswith('<div id="jobs-table">')
    assert "job-2" in partial.text and "job-1" not in partial.text


def test_the_job_page_and_its_tabs(console: Console) -> None:
    make_job(console, "multi", two=True)
    console.store.tags.add(TUNING_JOB, "multi", [("team", "vision")])
    page = console.client.get("/console/jobs/multi")
    assert page.status_code == 200
    best = console.store.best_training_job(
        "multi", console.services.tuning.get("multi").spec.objective_type
    )
    assert best is not None and best.name in page.text
    assert 'hx-trigger="every 2s"' in page.text  # live while InProgress
    assert "Clone with warm start" not in page.text  # two definitions
    for tab, expected in (
        ("definitions", "Tuned ranges"),
        ("configuration", '"TrainingJobDefinitions"'),
        ("tags", "vision"),
    ):
        response = console.client.get(f"/console/jobs/multi?tab={tab}")
        assert response.status_code == 200 and expected in response.text.replace("&#34;", '"')
    assert console.client.get("/console/jobs/nope").status_code == 404


def test_the_summary_stops_polling_once_the_job_ended(console: Console) -> None:
    make_job(console, "job-1")
    tuning = console.services.tuning
    job = tuning.get("job-1")
    with console.store.batch() as batch:
        batch.put_tuning_job(job.evolve(status=TuningJobStatus.COMPLETED, end_time=2000.0))
    polled = console.client.get("/console/jobs/job-1/summary?live=1", headers=HTMX)
    assert polled.headers["HX-Refresh"] == "true"  # the page reloads once, all final
    summary = console.client.get("/console/jobs/job-1/summary", headers=HTMX)
    assert summary.status_code == 200 and "every 2s" not in summary.text
    assert '<span id="job-status" hx-swap-oob="true">' in summary.text
    assert "Completed" in summary.text and "stop-button" not in summary.text
    page = console.client.get("/console/jobs/job-1")
    assert "Delete" in page.text and "stop-button" not in page.text


def test_the_job_page_says_why_a_completed_job_completed(console: Console) -> None:
    """Describe has no field for it: the page derives it as the CLI does
    (``tunelab.service.completion_reason``)."""
    make_job(console, "job-1", count=4)  # the request's MaxNumberOfTrainingJobs
    assert "completion-reason" not in console.client.get("/console/jobs/job-1").text
    job = console.services.tuning.get("job-1")
    with console.store.batch() as batch:
        batch.put_tuning_job(job.evolve(status=TuningJobStatus.COMPLETED, end_time=2000.0))
    shown = '<dd id="completion-reason">all 4 training jobs of MaxNumberOfTrainingJobs ran</dd>'
    assert shown in console.client.get("/console/jobs/job-1").text
    assert shown in console.client.get("/console/jobs/job-1/summary", headers=HTMX).text


def test_training_jobs_tab_sorts_filters_and_pages(console: Console) -> None:
    make_job(console, "job-1", count=30)
    base = "/console/jobs/job-1/training-jobs"
    first = console.client.get(f"{base}?sort=Name&order=Ascending&limit=10")
    names = re.findall(r">(job-1-\d{5})</a>", first.text)
    assert names == [f"job-1-{i:05d}" for i in range(1, 11)]
    after = re.search(r'hx-get="[^"]*after=([^&"]+)', first.text)
    assert after is not None
    second = console.client.get(f"{base}?sort=Name&order=Ascending&limit=10&after={after[1]}")
    assert re.findall(r">(job-1-\d{5})</a>", second.text)[0] == "job-1-00011"
    before = re.search(r'hx-get="[^"]*before=([^&"]+)', second.text)
    assert before is not None
    back = console.client.get(f"{base}?sort=Name&order=Ascending&limit=10&before={before[1]}")
    assert re.findall(r">(job-1-\d{5})</a>", back.text) == names
    best = console.client.get(f"{base}?sort=FinalObjectiveMetricValue&order=Ascending&limit=10")
    values = [float(v) for v in re.findall(r'<td class="num">([0-9.e-]+)</td>', best.text)]
    assert values == sorted(values) and len(values) == 10
    stopped = console.client.get(f"{base}?status=Stopped")
    assert "early stop" in stopped.text and "Completed</span>" not in stopped.text


def test_training_jobs_csv(console: Console) -> None:
    """Every training job, not one page: the columns of the SageMaker SDK's dataframe;
    the training jobs tab links to it."""
    make_job(console, "job-1", two=True, count=30)
    response = console.client.get("/console/jobs/job-1/training-jobs.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    disposition = response.headers["content-disposition"]
    assert disposition == 'attachment; filename="job-1-training-jobs.csv"'
    header, *rows = csv.reader(io.StringIO(response.text))
    assert header[:3] == ["x", "noise", "TrainingJobName"]
    assert header[-2:] == ["TrainingElapsedTimeSeconds", "TrainingJobDefinitionName"]
    assert [r[2] for r in rows] == [f"job-1-{i:05d}" for i in range(1, 31)]
    assert {r[-1] for r in rows} == {"alpha", "beta"} and {r[-2] for r in rows} == {"2.0"}
    assert "Stopped" in {r[3] for r in rows}
    page = console.client.get("/console/jobs/job-1").text
    assert 'href="/console/jobs/job-1/training-jobs.csv"' in page
    missing = console.client.get("/console/jobs/nope/training-jobs.csv")
    assert missing.status_code == 404


def test_chart_data(console: Console) -> None:
    make_job(console, "job-1", count=20)
    data = console.client.get("/console/jobs/job-1/charts.json").json()
    assert data["metric"] == "loss" and data["live"] is True
    assert data["objective"]["total"] == 20 and len(data["objective"]["best_y"]) >= 2
    assert data["parallel"][0]["dimensions"][-1]["label"] == "loss"
    assert any(s["early"] for s in data["curves"]["series"])
    make_job(console, "no-early-stops", count=40, early_every=0)
    data = console.client.get("/console/jobs/no-early-stops/charts.json").json()
    importance = {i["name"]: i["value"] for i in data["importance"]["items"]}
    assert importance["x"] > 0.5 > importance["noise"]


def test_the_training_job_page_log_metrics_and_artifacts(console: Console) -> None:
    make_job(console, "job-1", count=2)
    job = console.services.tuning.training_jobs_of("job-1")[0]
    write_log(console.services.settings.jobs_root, job, "epoch=1 loss=0.5;\nepoch=2 loss=0.4;\n")
    output = (
        console.services.settings.home / "s3" / "console-tests" / "output" / job.name / "output"
    )
    output.mkdir(parents=True)
    (output / "model.tar.gz").write_bytes(b"model")
    page = console.client.get(f"/console/training-jobs/{job.name}")
    assert page.status_code == 200
    for expected in ("epoch=2 loss=0.4;", "model.tar.gz", "Launching the training job", "tuned"):
        assert expected in page.text
    log = console.client.get(f"/console/training-jobs/{job.name}/log", headers=HTMX)
    assert "epoch=1 loss=0.5;" in log.text
    metrics = console.client.get(f"/console/training-jobs/{job.name}/metrics.json").json()
    assert [s["name"] for s in metrics["series"]] == ["loss"] and len(
        metrics["series"][0]["y"]
    ) == 3
    download = console.client.get(f"/console/training-jobs/{job.name}/artifacts/model.tar.gz")
    assert download.content == b"model"
    assert (
        console.client.get(f"/console/training-jobs/{job.name}/artifacts/..%2Fx").status_code
        == 404
    )
    assert console.client.get("/console/training-jobs/nope").status_code == 404


def test_a_job_stopped_at_max_resource_is_not_marked_stopped_early(console: Console) -> None:
    make_job(console, "job-1", count=4, early_every=0)
    job = console.services.tuning.training_jobs_of("job-1")[0]
    reason = "Hyperband: reached MaxResource (3 reports of the objective)"
    stopping = StatusTransition(SecondaryStatus.STOPPING, job.end_time or 0.0, ENDED + reason)
    with console.store.batch() as batch:
        batch.put_training_job(
            job.evolve(
                status=TrainingJobStatus.STOPPED,
                secondary_status=SecondaryStatus.STOPPED,
                transitions=(*job.transitions, stopping),
            )
        )
    page = console.client.get(f"/console/training-jobs/{job.name}")
    assert f"· {reason}" in page.text and "stopped early" not in page.text
    listed = console.client.get("/console/jobs/job-1/training-jobs?status=Stopped")
    assert job.name in listed.text and "early stop" not in listed.text
    data = console.client.get("/console/jobs/job-1/charts.json").json()
    assert not any(s["early"] for s in data["curves"]["series"])


def test_tags_are_added_checked_and_removed(console: Console) -> None:
    make_job(console, "job-1", count=1)
    added = console.client.post("/console/jobs/job-1/tags", data={"key": "team", "value": "a"})
    assert added.status_code == 200 and "team" in added.text
    assert console.store.tags.list(TUNING_JOB, "job-1") == [("team", "a")]
    bad = console.client.post("/console/jobs/job-1/tags", data={"key": "", "value": "a"})
    assert "Tags[0].Key" in bad.text  # the AddTags shape check's message
    console.client.post("/console/jobs/job-1/tags/delete", data={"key": "team"})
    assert console.store.tags.list(TUNING_JOB, "job-1") == []


def test_stop_and_delete(console: Console) -> None:
    make_job(console, "job-1", count=1)
    refused = console.client.post("/console/jobs/job-1/delete")
    assert refused.status_code == 400 and "stop it before deleting it" in refused.text
    stopped = console.client.post("/console/jobs/job-1/stop", headers=HTMX)
    assert stopped.headers["HX-Redirect"] == "/console/jobs/job-1"
    assert console.services.tuning.get("job-1").status is TuningJobStatus.STOPPING
    job = console.services.tuning.get("job-1")
    with console.store.batch() as batch:
        batch.put_tuning_job(job.evolve(status=TuningJobStatus.STOPPED, end_time=2000.0))
    deleted = console.client.post("/console/jobs/job-1/delete", follow_redirects=False)
    assert deleted.status_code == 303 and deleted.headers["location"].startswith("/console/")
    assert console.client.get("/console/jobs/job-1").status_code == 404


# -- the wizard ---------------------------------------------------------------------------


def test_a_blank_wizard_has_four_steps_and_no_messages_yet(console: Console) -> None:
    page = console.client.get("/console/create")
    assert page.status_code == 200
    for title in ("Job settings", "Training job definitions", "Resource limits", "Review and"):
        assert title in page.text
    assert "⚠" not in page.text and "is required</span>" not in page.text


def test_every_message_slot_of_the_live_check_is_on_the_page(console: Console) -> None:
    document = two_definition_request(console.home / "runs.log", "new-job")
    form = form_for_document(document)
    form.definitions[0].hyperparameters[0].max = "-1"
    form.tags = []
    fields = as_fields(form)
    page = console.client.post("/console/create", data={**fields, "action": "step:2"})
    checks = console.client.post("/console/create/check", data=fields)
    assert checks.status_code == 200
    found = ids(checks.text)
    missing = found.oob - ids(page.text).ids
    assert not missing, f"the page has no element for {sorted(missing)}"
    assert "MinValue (0) must be less than MaxValue (-1)" in checks.text


def test_buttons_rerender_the_wizard(console: Console) -> None:
    fields = as_fields(form_for_document(request(console.home / "runs.log", "new-job")))
    added = console.client.post(
        "/console/create",
        data={**fields, "action": "clone-def:0"},
        headers={**HTMX, "HX-Target": "wizard"},
    )
    assert added.text.lstrip().startswith('<div id="wizard">')
    assert 'name="d1.name" type="text" value="definition-1-2"' in added.text
    assert '"TrainingJobDefinitions"' in added.text.replace("&#34;", '"')
    assert "Warm start is only available for a tuning job with a single" in added.text
    bad = console.client.post("/console/create", data={**fields, "action": "del-def:7"})
    assert bad.status_code == 400


def test_create_from_the_wizard(console: Console) -> None:
    fields = as_fields(form_for_document(request(console.home / "runs.log", "from-wizard")))
    created = console.client.post(
        "/console/create", data={**fields, "action": "create"}, headers=HTMX
    )
    assert created.headers["HX-Redirect"] == "/console/jobs/from-wizard"
    assert (
        console.services.tuning.get("from-wizard").spec.document["TrainingJobDefinition"][
            "AlgorithmSpecification"
        ]["TrainingImage"]
        == f"file://{PROGRAM}"
    )


def test_create_refused_shows_the_messages_at_the_first_step_with_problems(
    console: Console,
) -> None:
    fields = as_fields(form_for_document(request(console.home / "runs.log", "refused")))
    fields["max_parallel"] = "11"
    page = console.client.post("/console/create", data={**fields, "action": "create"})
    assert page.status_code == 422
    assert "11 exceeds the quota of 10 parallel training jobs per tuning job" in page.text
    assert '<section class="step-panel" aria-labelledby="step-title-3" >' in page.text
    assert "The tuning job was not created" in page.text


def test_clone_prefills_the_wizard_and_offers_warm_start(console: Console) -> None:
    make_job(console, "parent", count=1)
    console.store.tags.add(TUNING_JOB, "parent", [("team", "vision")])
    page = console.client.get("/console/create?clone=parent&warm_start=1")
    assert page.status_code == 200
    text = page.text.replace("&#34;", '"')
    assert 'value="parent-2"' in text and '"ParentHyperParameterTuningJobs"' in text
    assert 'value="IdenticalDataAndAlgorithm" selected' in text and 'value="vision"' in text
    assert console.client.get("/console/create?clone=nope").status_code == 404


def test_a_warm_start_clone_that_create_would_refuse_says_so_in_the_wizard(
    console: Console,
) -> None:
    """The wizard runs the create-time checks on the clone as it opens: the refusal of a
    warm start from a Grid job that ran every grid point shows beside the ranges."""
    finished_grid_job(console.services.tuning, console.home / "runs.log", "grid")
    page = console.client.get("/console/create?clone=grid&warm_start=1")
    assert page.status_code == 200
    assert '<span id="badge-2" class="badge-error">1 to fix</span>' in page.text
    assert (
        '<div class="field-error" id="err-d0-hps"><span>the parent jobs already evaluated 3 of '
        "the 3 combinations of the hyperparameter ranges, and the Grid strategy never runs one "
        "twice: no grid point is left to run; add values to the ranges, or leave out "
        "WarmStartConfig to run the whole grid again</span></div>"
    ) in page.text
    assert "no grid point" not in console.client.get("/console/create?clone=grid").text


def test_upload_a_job_file(console: Console) -> None:
    document = request(console.home / "runs.log", "uploaded")
    page = console.client.post(
        "/console/create/upload",
        files={"file": ("job.json", json.dumps(document), "application/json")},
    )
    assert page.status_code == 200 and "Read from" in page.text
    assert '"HyperParameterTuningJobName": "uploaded"' in page.text.replace("&#34;", '"')
    yaml_page = console.client.post(
        "/console/create/upload", files={"file": ("job.yaml", "a: [1, 2", "text/yaml")}
    )
    assert "job.yaml:1:" in yaml_page.text and "not valid YAML" in yaml_page.text
    broken = console.client.post(
        "/console/create/upload", files={"file": ("job.json", "{", "application/json")}
    )
    assert "job.json:1:2: not valid JSON" in broken.text


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("job.yaml", "a: " + "[" * 3000 + "]" * 3000, "job.yaml: the file nests objects"),
        ("job.json", '{"a": NaN}', "job.json: a: NaN is not a JSON number"),
        ("job.yaml", "a: " + "1" * 5001, "a number of 5001 digits is too long to read"),
    ],
    ids=["3000 levels", "NaN", "5001 digits"],
)
def test_an_upload_the_api_would_refuse_is_refused_clearly(
    console: Console, name: str, text: str, message: str
) -> None:
    """As `tunelab run` reads a job file (it was a server error, Python's NaN or its
    message about sys.set_int_max_str_digits)."""
    page = console.client.post("/console/create/upload", files={"file": (name, text, "text")})
    assert page.status_code == 200 and message in page.text


def test_an_uploaded_example_with_relative_file_uris_says_to_make_them_absolute(
    console: Console,
) -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "random-svm.yaml"
    page = console.client.post(
        "/console/create/upload", files={"file": (example.name, example.read_bytes(), "text/yaml")}
    )
    text = page.text.replace("&#39;", "'")
    assert "must match the pattern" not in text
    for uri, field_id in (
        ("file:data/train/", "d0-channel-0-uri"),
        ("file:output/", "d0-output"),
        ("file:train_svm.py", "d0-image"),
    ):
        slot = re.search(rf'id="err-{field_id}">(.*?)</div>', text, re.DOTALL)
        assert slot is not None and f"{uri} is relative to the job file's folder" in slot[1]
        assert "write an absolute URI" in slot[1]


def test_the_regex_tester_reads_numbers_as_the_metric_extractor_does(console: Console) -> None:
    def test(regex: str, line: str) -> str:
        data = {"d0.metric.0.regex": regex, "d0.metric.0.sample": line}
        return console.client.post("/console/create/regex?row=d0.metric.0", data=data).text

    assert "Matched: 0.41" in test(r"loss=([0-9.]+);", "epoch=3 loss=0.41;")
    assert "No number matched" in test(r"loss=([0-9.]+);", "epoch=3 acc=0.41;")
    assert "not a valid regular expression" in test(r"loss=([0-9.]+;", "x")


def test_a_built_in_algorithm_fills_in_its_objective_and_recommended_ranges(
    console: Console,
) -> None:
    fields = as_fields(form_for_document(request(console.home / "runs.log", "builtin-job")))
    fields.update({"d0.source": "builtin", "d0.image": "tunelab/xgboost"})
    page = console.client.post("/console/create", data={**fields, "action": "use-builtin:0"})
    text = page.text.replace("&#34;", '"')
    assert '<option value="tunelab/xgboost" selected>' in text
    assert '"TrainingImage": "tunelab/xgboost"' in text
    assert 'name="d0.hp.0.name" type="text" value="alpha"' in text  # a recommended range
    assert 'name="d0.objective_metric" type="text" value="validation:accuracy"' in text
    assert "RUNS_LOG" in text  # what the definition had besides the algorithm is kept


def test_a_live_check_the_browser_dropped_is_answered_quietly(console: Console) -> None:
    """htmx drops a live check when a newer one starts (hx-sync this:replace): the
    server sees the client go while it reads the form, and says nothing about it."""
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/console/create/check",
        "raw_path": b"/console/create/check",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1:8080"),
            (b"content-type", b"application/x-www-form-urlencoded"),
            (b"content-length", b"5000"),
            (b"hx-request", b"true"),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8080),
    }
    with ThreadPoolExecutor(1) as thread:  # its own event loop (the browser tests run one)
        call = thread.submit(asyncio.run, console.client.app(scope, receive, send))
        call.result()  # raised ClientDisconnect before
    assert sent[0]["status"] == 400
