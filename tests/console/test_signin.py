"""With authentication on, nothing but the sign-in page and static files is served
without a session; the session cookie is signed, tied to its key's secret, and
the key's policy decides what the console lets it do."""

from __future__ import annotations

import pytest

from tests.console.conftest import Console
from tests.console.server import FULL_KEY, READ_ONLY_KEY, request
from tunelab.console.session import COOKIE, ConsoleAuth, session_key
from tunelab.service.secrets import MASTER_KEY_ENV

PAGES = [
    "/console/",
    "/console/jobs/job-1",
    "/console/jobs/job-1/summary",
    "/console/jobs/job-1/training-jobs",
    "/console/jobs/job-1/charts.json",
    "/console/create",
    "/console/training-jobs/job-1-00001",
]


def sign_in(console: Console, key: tuple[str, str]) -> None:
    response = console.client.post(
        "/console/signin",
        data={"access_key_id": key[0], "secret": key[1], "next": "/console/"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert COOKIE in console.client.cookies


@pytest.mark.parametrize("path", PAGES)
def test_nothing_is_readable_without_signing_in(signed_console: Console, path: str) -> None:
    signed_console.services.tuning.create(request(signed_console.home / "runs.log", "job-1"))
    response = signed_console.client.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/console/signin?next=")
    assert "job-1" not in response.text
    htmx = signed_console.client.get(path, headers={"HX-Request": "true"})
    assert htmx.status_code == 401 and htmx.headers["HX-Redirect"] == "/console/signin"


def test_actions_are_refused_without_signing_in(signed_console: Console) -> None:
    signed_console.services.tuning.create(request(signed_console.home / "runs.log", "job-1"))
    for path in ("/console/jobs/job-1/stop", "/console/create", "/console/jobs/job-1/tags"):
        assert signed_console.client.post(path, data={"key": "k"}).status_code == 401
    assert signed_console.services.tuning.get("job-1").status == "InProgress"


def test_static_files_and_the_sign_in_page_are_served(signed_console: Console) -> None:
    assert signed_console.client.get("/console/signin").status_code == 200
    assert signed_console.client.get("/console/static/console.css").status_code == 200
    plotly = signed_console.client.get("/console/static/plotly.min.js")
    assert plotly.status_code == 200 and len(plotly.content) > 1_000_000


def test_a_wrong_secret_is_refused(signed_console: Console) -> None:
    for key_id, secret in ((FULL_KEY[0], "wrong"), ("AKIDUNKNOWN", FULL_KEY[1]), ("", "")):
        response = signed_console.client.post(
            "/console/signin", data={"access_key_id": key_id, "secret": secret}
        )
        assert response.status_code == 401
        assert "not valid" in response.text
        assert COOKIE not in signed_console.client.cookies


def test_sign_in_then_out(signed_console: Console) -> None:
    sign_in(signed_console, FULL_KEY)
    page = signed_console.client.get("/console/")
    assert page.status_code == 200 and FULL_KEY[0] in page.text
    signed_console.client.post("/console/signout")
    assert signed_console.client.get("/console/", follow_redirects=False).status_code == 303


def test_next_only_leads_into_the_console(signed_console: Console) -> None:
    response = signed_console.client.post(
        "/console/signin",
        data={
            "access_key_id": FULL_KEY[0],
            "secret": FULL_KEY[1],
            "next": "https://evil.example/",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/console/"


def replace_cookie(console: Console, value: str) -> None:
    """The client's session cookie becomes ``value`` (``set`` alone would add a second
    cookie of the same name beside the one the server set, for another domain)."""
    console.client.cookies.delete(COOKIE)
    console.client.cookies.set(COOKIE, value)


def test_a_forged_or_stale_cookie_is_refused(signed_console: Console) -> None:
    sign_in(signed_console, FULL_KEY)
    cookie = signed_console.client.cookies[COOKIE]
    body, signature = cookie.split(".")
    replace_cookie(signed_console, body + "." + signature[::-1])
    assert signed_console.client.get("/console/", follow_redirects=False).status_code == 303
    replace_cookie(signed_console, cookie)
    assert signed_console.client.get("/console/").status_code == 200
    signed_console.keys.delete(FULL_KEY[0])
    signed_console.keys.create("full", FULL_KEY[0], "another-secret-0123456789")
    auth = ConsoleAuth(signed_console.keys, lambda p, o: True, session_key(signed_console.home))
    assert auth.user(cookie) is None  # the key was given another secret


def test_the_session_key_comes_from_the_master_key(tmp_path) -> None:
    first = session_key(tmp_path)
    assert first == session_key(tmp_path) and len(first) == 32
    assert session_key(tmp_path, {MASTER_KEY_ENV: "a" * 43 + "="}) != first


def test_a_read_only_key_reads_but_does_not_change(signed_console: Console) -> None:
    signed_console.services.tuning.create(request(signed_console.home / "runs.log", "job-1"))
    sign_in(signed_console, READ_ONLY_KEY)
    page = signed_console.client.get("/console/jobs/job-1")
    assert page.status_code == 200
    assert "stop-button" not in page.text and "Clone" not in page.text
    stop = signed_console.client.post("/console/jobs/job-1/stop")
    assert stop.status_code == 403 and "StopHyperParameterTuningJob" in stop.text
    assert signed_console.client.get("/console/create").status_code == 403
    assert signed_console.services.tuning.get("job-1").status == "InProgress"


def test_a_cross_origin_post_is_refused(signed_console: Console) -> None:
    signed_console.services.tuning.create(request(signed_console.home / "runs.log", "job-1"))
    sign_in(signed_console, FULL_KEY)
    response = signed_console.client.post(
        "/console/jobs/job-1/stop", headers={"Origin": "https://evil.example"}
    )
    assert response.status_code == 403
    assert signed_console.services.tuning.get("job-1").status == "InProgress"
