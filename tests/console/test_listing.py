"""The jobs list pages through the store's keyset pagination (forward and back,
with filters and the tag filter), and stays fast with thousands of jobs; the
charts of a tuning job of 5,000 training jobs are decimated."""

from __future__ import annotations

import re
import time

from tests.console.conftest import Console
from tests.console.jobs import add_training_jobs
from tests.console.server import request
from tunelab.console.listing import JobsFilter, decode_cursor, encode_cursor, list_tuning_jobs
from tunelab.domain.enums import TuningJobStatus
from tunelab.domain.tuning_job import TuningJob
from tunelab.store.sql.tags import TUNING_JOB


def create_jobs(console: Console, count: int, tag_every: int = 0) -> None:
    """``count`` tuning jobs ``job-0000``... created a second apart (every
    ``tag_every``-th tagged team=vision); every third is Completed."""
    document = request(console.home / "runs.log", "job-0000")
    spec = console.services.tuning.validate(document)
    store = console.store
    for i in range(count):
        name = f"job-{i:04d}"
        named = {**document, "HyperParameterTuningJobName": name}
        if tag_every and i % tag_every == 0:
            named["Tags"] = [{"Key": "team", "Value": "vision"}]
        status = TuningJobStatus.COMPLETED if i % 3 == 0 else TuningJobStatus.IN_PROGRESS
        job_spec = type(spec)(**{**spec.__dict__, "name": name, "document": named})
        if "Tags" in named:
            job_spec = type(spec)(**{**job_spec.__dict__, "tags": (("team", "vision"),)})
        store.create_tuning_job(TuningJob(job_spec, status, 1000.0 + i, 1000.0 + i))


def names(html: str) -> list[str]:
    return re.findall(r'href="/console/jobs/(job-\d{4})"', html)


def cursor(html: str, which: str) -> str | None:
    found = re.search(rf'href="[^"]*{which}=([^&"]+)', html)
    return found[1] if found else None


def test_cursors_round_trip() -> None:
    assert decode_cursor(encode_cursor((12.5, "job-1"))) == (12.5, "job-1")
    assert decode_cursor("not a cursor") is None and decode_cursor("") is None


def test_pages_forward_and_back(console: Console) -> None:
    create_jobs(console, 55)
    first = console.client.get("/console/?limit=25").text
    assert names(first) == [f"job-{i:04d}" for i in range(54, 29, -1)]
    assert cursor(first, "before") is None
    second = console.client.get(f"/console/?limit=25&after={cursor(first, 'after')}").text
    third = console.client.get(f"/console/?limit=25&after={cursor(second, 'after')}").text
    assert names(third) == [f"job-{i:04d}" for i in range(4, -1, -1)]
    assert cursor(third, "after") is None
    back = console.client.get(f"/console/?limit=25&before={cursor(third, 'before')}").text
    assert names(back) == names(second)
    first_again = console.client.get(f"/console/?limit=25&before={cursor(second, 'before')}").text
    assert names(first_again) == names(first) and cursor(first_again, "before") is None


def test_filters_search_status_sort(console: Console) -> None:
    create_jobs(console, 30)
    completed = names(console.client.get("/console/?status=Completed&limit=100").text)
    assert completed == [f"job-{i:04d}" for i in range(27, -1, -3)]
    found = names(console.client.get("/console/?q=job-001&sort=Name&order=Ascending").text)
    assert found == [f"job-{i:04d}" for i in range(10, 20)]


def test_tag_filter_pages(console: Console) -> None:
    create_jobs(console, 60, tag_every=2)
    assert console.store.tags.list(TUNING_JOB, "job-0002") == [("team", "vision")]
    page = list_tuning_jobs(console.store, JobsFilter(tag="team=vision", limit=10), "", "")
    assert [j.name for j in page.items] == [f"job-{i:04d}" for i in range(58, 38, -2)]
    after = page.next_cursor
    assert after is not None
    following = list_tuning_jobs(console.store, JobsFilter(tag="team", limit=10), after, "")
    assert [j.name for j in following.items] == [f"job-{i:04d}" for i in range(38, 18, -2)]
    none = list_tuning_jobs(console.store, JobsFilter(tag="team=other"), "", "")
    assert none.items == [] and none.next_cursor is None
    both = JobsFilter(tag="team=vision", status="Completed", limit=100)
    assert [j.name for j in list_tuning_jobs(console.store, both, "", "").items] == [
        f"job-{i:04d}" for i in range(54, -1, -6)
    ]


def test_the_list_stays_fast_with_thousands_of_jobs(console: Console) -> None:
    create_jobs(console, 2000, tag_every=10)
    for path in (
        "/console/",
        "/console/?tag=team%3Dvision",
        "/console/?q=job-1&status=InProgress",
    ):
        console.client.get(path)  # warm the parsed-request cache of the page's jobs
        started = time.perf_counter()
        response = console.client.get(path)
        elapsed = time.perf_counter() - started
        assert response.status_code == 200 and len(names(response.text)) == 25
        assert elapsed < 1.0, f"{path} took {elapsed:.2f} s"
    last = console.client.get("/console/?sort=Name&order=Ascending")
    deep = console.client.get(
        f"/console/?sort=Name&order=Ascending&after={cursor(last.text, 'after')}"
    )
    assert names(deep.text)[0] == "job-0025"


def test_a_job_of_5000_training_jobs(console: Console) -> None:
    console.services.tuning.create(request(console.home / "runs.log", "big", max_jobs=500))
    add_training_jobs(console.store, "big", 5000, epochs=4, early_every=7)
    started = time.perf_counter()
    data = console.client.get("/console/jobs/big/charts.json").json()
    elapsed = time.perf_counter() - started
    assert data["objective"]["total"] == 5000 and data["objective"]["shown"] <= 1500
    assert data["parallel"][0]["shown"] <= 300 and len(data["curves"]["series"]) <= 30
    assert elapsed < 8, f"charts.json took {elapsed:.1f} s"
    assert data["refresh_seconds"] >= 3
    started = time.perf_counter()
    page = console.client.get("/console/jobs/big")
    assert page.status_code == 200 and time.perf_counter() - started < 1.5
    assert page.text.count("/console/training-jobs/big-") >= 25
