"""Fixtures for the console's tests: the app behind Starlette's TestClient (with
and without sign-in), and, for the browser tests, Debian's Chromium driven by
Playwright with the machine's flags, and a screenshot helper."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.console.server import FULL_KEY, READ_ONLY_KEY
from tunelab.api.app import Services, create_app
from tunelab.api.server import build_services
from tunelab.cli.serve_commands import console_routes_for
from tunelab.execution.clock import SystemClock
from tunelab.service.access_keys import AccessKeyService
from tunelab.service.secrets import SecretBox
from tunelab.service.settings import Settings
from tunelab.store.sql.store import SqlStore

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).parent / "artifacts"


@dataclass
class Console:
    """The console behind a TestClient, and the services it uses."""

    client: TestClient
    services: Services
    store: SqlStore
    home: Path
    keys: AccessKeyService


def make_console(home: Path, auth: bool) -> Console:
    home.mkdir(parents=True, exist_ok=True)
    settings = Settings(home=home, database_url=f"sqlite:///{home / 'tunelab.db'}")
    store = SqlStore(settings.database_url)
    keys = AccessKeyService(store, SecretBox.for_home(home), SystemClock())
    keys.create("full", *FULL_KEY)
    keys.create("read-only", *READ_ONLY_KEY)
    services = build_services(settings, store, scheduler=False)
    app = create_app(services, None, console_routes_for(services, keys, no_auth=not auth))
    client = TestClient(app, base_url="http://127.0.0.1:8080")
    return Console(client, services, store, home, keys)


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Console]:
    """The console without sign-in (``tunelab serve --no-auth``); no scheduler runs."""
    found = make_console(tmp_path / "home", auth=False)
    yield found
    found.store.close()


@pytest.fixture
def signed_console(tmp_path: Path) -> Iterator[Console]:
    """The console with sign-in (``tunelab serve``); no scheduler runs."""
    found = make_console(tmp_path / "home", auth=True)
    yield found
    found.store.close()


# -- the browser ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(
            f"browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    context.set_default_timeout(15_000)
    found = context.new_page()
    errors: list[str] = []
    found.on("pageerror", lambda error: errors.append(str(error)))
    yield found
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


def screenshot(page: Any, name: str, full_page: bool = True) -> Path:
    """Save a screenshot of the page as ``tests/console/artifacts/<name>.png``."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def publish(path: Path, name: str) -> None:
    """Copy a screenshot to ``docs/screenshots`` (for the README) when
    ``TUNELAB_UPDATE_SCREENSHOTS`` is set."""
    import os

    if os.environ.get("TUNELAB_UPDATE_SCREENSHOTS"):
        target = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
