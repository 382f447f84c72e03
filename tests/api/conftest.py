"""An in-process tunelab server (uvicorn in a thread) on a free port, with SigV4
authentication on (keys created as ``tunelab access-keys create`` does), a recorder
of every HTTP exchange, and boto3 clients for it."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from tests.serving import serving, wait_for
from tunelab.api.app import Authenticate, Services, create_app
from tunelab.api.auth import Authenticator
from tunelab.api.server import build_services
from tunelab.domain.sagemaker_model import service_model
from tunelab.domain.shape_check import check_shape
from tunelab.execution.clock import SystemClock
from tunelab.service.access_keys import AccessKeyService
from tunelab.service.secrets import SecretBox
from tunelab.service.settings import Settings
from tunelab.store.sql.store import SqlStore

FULL_KEY = ("AKIDTUNELABFULL00001", "full-secret-0123456789")
READ_ONLY_KEY = ("AKIDTUNELABREAD00001", "read-secret-0123456789")
REGION = "us-east-1"
ASGIApp = Callable[..., Any]


@dataclass(frozen=True)
class Exchange:
    """One HTTP request the server answered: the operation (``X-Amz-Target`` without
    ``SageMaker.``), the status and the raw response body."""

    operation: str
    status: int
    body: bytes


class Recorder:
    """ASGI middleware that keeps every exchange of ``POST /``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.exchanges: list[Exchange] = []
        self._lock = threading.Lock()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("path") != "/" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        target = headers.get(b"x-amz-target", b"").decode("latin-1")
        status = 0
        chunks: list[bytes] = []

        async def capture(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, capture)
        with self._lock:
            self.exchanges.append(
                Exchange(target.removeprefix("SageMaker."), status, b"".join(chunks))
            )


def response_problems(exchanges: list[Exchange]) -> list[str]:
    """What is wrong with recorded responses: any 5xx; a 200 whose body does not match
    botocore's output shape for its operation (``{}`` for operations without one); an
    error that is not a 4xx ``{"__type", "message"}`` envelope."""
    model = service_model()
    found: list[str] = []
    for exchange in exchanges:
        where = f"{exchange.operation or '(no target)'} -> {exchange.status}"
        try:
            body = json.loads(exchange.body)
        except ValueError:
            found.append(f"{where}: the body is not JSON: {exchange.body[:200]!r}")
            continue
        if exchange.status >= 500:
            found.append(f"{where}: server error {body}")
        elif exchange.status == 200:
            shape = model.operation_model(exchange.operation).output_shape
            if shape is None:
                if body != {}:
                    found.append(f"{where}: expected {{}} for an operation without output")
                continue
            found.extend(f"{where}: {v.path}: {v.message}" for v in check_shape(body, shape, ""))
        elif not (400 <= exchange.status < 500) or set(body) != {"__type", "message"}:
            found.append(f"{where}: not an AWS error envelope: {body}")
    return found


@dataclass
class Server:
    url: str
    services: Services
    store: SqlStore
    home: Path
    recorder: Recorder
    clients: list[Any] = field(default_factory=list)

    @property
    def exchanges(self) -> list[Exchange]:
        return self.recorder.exchanges

    def client(
        self,
        key: tuple[str, str] = FULL_KEY,
        region: str = REGION,
        **config: Any,
    ) -> Any:
        """A boto3 ``sagemaker`` client signing with ``key`` (no retries)."""
        return boto3.client(
            "sagemaker",
            endpoint_url=self.url,
            region_name=region,
            aws_access_key_id=key[0],
            aws_secret_access_key=key[1],
            config=Config(**{"retries": {"max_attempts": 1}, **config}),
        )


def make_authenticator(store: SqlStore, home: Path) -> Authenticator:
    """The full and the read-only test keys, stored encrypted under ``home``'s master
    key, and the authenticator ``tunelab serve`` builds on them."""
    keys = AccessKeyService(store, SecretBox.for_home(home), SystemClock())
    known = {k.access_key_id for k in keys.list()}
    for (key_id, secret), policy in ((FULL_KEY, "full"), (READ_ONLY_KEY, "read-only")):
        if key_id not in known:
            keys.create(policy, key_id, secret)
    return Authenticator(keys)


@contextmanager
def start_server(
    home: Path, authenticate: Authenticate | bool | None = True, **settings: Any
) -> Iterator[Server]:
    """Serve the API for ``home`` (``authenticate`` True: the test keys; None or
    False: no authentication; or an authenticator)."""
    home.mkdir(parents=True, exist_ok=True)
    values: dict[str, Any] = {"stop_grace_seconds": 2.0, **settings}
    config = Settings(home=home, database_url=f"sqlite:///{home / 'tunelab.db'}", **values)
    store = SqlStore(config.database_url)
    if authenticate is True:
        authenticate = make_authenticator(store, home)
    services = build_services(config, store)
    recorder = Recorder(create_app(services, authenticate or None))
    try:
        with serving(recorder) as url:
            yield Server(url, services, store, home, recorder)
    finally:
        store.close()


TERMINAL = ("Completed", "Failed", "Stopped")


def wait_tuning_job(client: Any, name: str, timeout: float = 60) -> dict[str, Any]:
    """DescribeHyperParameterTuningJob once the job reached a terminal status."""

    def ended() -> dict[str, Any] | None:
        found = client.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
        return found if found["HyperParameterTuningJobStatus"] in TERMINAL else None

    return wait_for(ended, timeout, f"tuning job {name} to end", every=0.1)


def wait_training_job(client: Any, name: str, timeout: float = 60) -> dict[str, Any]:
    """DescribeTrainingJob once the job reached a terminal status."""

    def ended() -> dict[str, Any] | None:
        found = client.describe_training_job(TrainingJobName=name)
        return found if found["TrainingJobStatus"] in TERMINAL else None

    return wait_for(ended, timeout, f"training job {name} to end", every=0.1)


def error_code(call: Callable[[], Any]) -> tuple[str, str, int]:
    """(code, message, HTTP status) of the ``ClientError`` that ``call`` raises."""
    from botocore.exceptions import ClientError

    try:
        call()
    except ClientError as error:
        return (
            error.response["Error"]["Code"],
            error.response["Error"]["Message"],
            error.response["ResponseMetadata"]["HTTPStatusCode"],
        )
    raise AssertionError("the call succeeded; an error was expected")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """A fresh authenticated server for one test; fails the test if any response of it
    was a 5xx or broke its output shape."""
    with start_server(tmp_path / "home") as running:
        yield running
    assert response_problems(running.exchanges) == []


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One authenticated server shared by the tests of a module (jobs get unique names)."""
    with start_server(tmp_path_factory.mktemp("api") / "home") as running:
        yield running


@pytest.fixture
def checked(api: Server) -> Iterator[Server]:
    """``api``, failing the test if any response during it was a 5xx, broke its
    operation's output shape or was not an AWS error envelope."""
    start = len(api.exchanges)
    yield api
    assert response_problems(api.exchanges[start:]) == []


def unique(prefix: str) -> str:
    """A tuning or training job name no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"
