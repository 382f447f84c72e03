"""A tunelab server with the console, in this process (uvicorn in a thread), wired
as ``tunelab serve`` wires it, and requests that run ``tests/e2e/programs/epochs.py``."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.serving import serving, wait_for
from tunelab.api.app import Services, create_app
from tunelab.api.server import build_services
from tunelab.cli.serve_commands import console_routes_for
from tunelab.execution.clock import SystemClock
from tunelab.service.access_keys import AccessKeyService
from tunelab.service.secrets import SecretBox
from tunelab.service.settings import Settings
from tunelab.store.sql.store import SqlStore

PROGRAM = Path(__file__).resolve().parents[1] / "e2e" / "programs" / "epochs.py"
FULL_KEY = ("AKIDCONSOLEFULL00001", "console-full-secret-0123")
READ_ONLY_KEY = ("AKIDCONSOLEREAD00001", "console-read-secret-0123")
ROLE = "arn:aws:iam::123456789012:role/console-test"


@dataclass
class ConsoleServer:
    url: str
    services: Services
    store: SqlStore
    home: Path
    runs_log: Path


@contextmanager
def start_console_server(
    home: Path, auth: bool = False, scheduler: bool = True, **settings: Any
) -> Iterator[ConsoleServer]:
    """The API and the console for ``home`` on a free port (``auth``: sign-in with the
    test keys, as ``tunelab serve``; else as ``tunelab serve --no-auth``)."""
    home.mkdir(parents=True, exist_ok=True)
    values: dict[str, Any] = {"stop_grace_seconds": 2.0, **settings}
    config = Settings(home=home, database_url=f"sqlite:///{home / 'tunelab.db'}", **values)
    store = SqlStore(config.database_url)
    keys = AccessKeyService(store, SecretBox.for_home(home), SystemClock())
    known = {k.access_key_id for k in keys.list()}
    for (key_id, secret), policy in ((FULL_KEY, "full"), (READ_ONLY_KEY, "read-only")):
        if key_id not in known:
            keys.create(policy, key_id, secret)
    services = build_services(config, store, scheduler=scheduler)
    app = create_app(services, None, console_routes_for(services, keys, no_auth=not auth))
    runs_log = home / "runs.log"
    runs_log.touch()
    try:
        with serving(app, "the console test server") as url:
            yield ConsoleServer(url, services, store, home, runs_log)
    finally:
        store.close()


def definition(runs_log: Path, name: str | None = None, **static: str) -> dict[str, Any]:
    """A definition running ``epochs.py`` (it prints ``epoch=<k> loss=<v>;``)."""
    found: dict[str, Any] = {
        "StaticHyperParameters": {"epochs": "3", "seconds_per_epoch": "0.05", **static},
        "AlgorithmSpecification": {
            "TrainingImage": f"file://{PROGRAM}",
            "TrainingInputMode": "File",
            "MetricDefinitions": [{"Name": "loss", "Regex": r"loss=([0-9.]+);"}],
        },
        "RoleArn": ROLE,
        "OutputDataConfig": {"S3OutputPath": "s3://console-tests/output/"},
        "StoppingCondition": {"MaxRuntimeInSeconds": 120},
        "Environment": {"RUNS_LOG": str(runs_log)},
    }
    if name is not None:
        found["DefinitionName"] = name
    return found


RANGES = {"ContinuousParameterRanges": [{"Name": "x", "MinValue": "0", "MaxValue": "1"}]}


def request(
    runs_log: Path, name: str, max_jobs: int = 4, parallel: int = 2, **static: str
) -> dict[str, Any]:
    """A valid single-definition request minimizing ``loss`` over ``x`` in [0, 1]."""
    return {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": {
            "Strategy": "Random",
            "RandomSeed": 7,
            "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "loss"},
            "ResourceLimits": {
                "MaxNumberOfTrainingJobs": max_jobs,
                "MaxParallelTrainingJobs": parallel,
            },
            "ParameterRanges": copy.deepcopy(RANGES),
        },
        "TrainingJobDefinition": definition(runs_log, **static),
    }


def two_definition_request(runs_log: Path, name: str, max_jobs: int = 6) -> dict[str, Any]:
    objective = {"Type": "Minimize", "MetricName": "loss"}
    first = definition(runs_log, "alpha")
    second = definition(runs_log, "beta", epochs="2")
    for d in (first, second):
        d["TuningObjective"] = dict(objective)
        d["HyperParameterRanges"] = copy.deepcopy(RANGES)
    return {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": {
            "Strategy": "Random",
            "RandomSeed": 7,
            "ResourceLimits": {"MaxNumberOfTrainingJobs": max_jobs, "MaxParallelTrainingJobs": 2},
        },
        "TrainingJobDefinitions": [first, second],
    }


def wait_until(condition: Any, timeout: float = 60, what: str = "condition") -> Any:
    return wait_for(condition, timeout, what)
