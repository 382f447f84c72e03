"""The SageMaker Python SDK v2 reading a training job's log from tunelab's CloudWatch Logs
operations: ``Estimator.fit()`` with its default ``logs="All"``, ``estimator.logs()`` and
``Session.logs_for_job``, with the logs client pointed at tunelab by
``AWS_ENDPOINT_URL_CLOUDWATCH_LOGS`` (botocore's per-service endpoint), as a user would, and no
network beyond this machine."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import response_problems, start_server
from tests.api.test_logs import logs_problems
from tests.api.test_sagemaker_sdk import Sdk, offline_sdk
from tunelab.api.logs_wire import TARGET_PREFIX
from tunelab.service.object_store import LocalObjectStore

pytestmark = pytest.mark.slow  # importing the SDK alone takes seconds


class FastClock:
    """The ``time`` module as ``sagemaker.session`` sees it: a sleep of more than 0.2 s
    (the SDK polls its logs every 10 s and the job's status every 30 s) takes 0.2 s, and
    ``time()`` runs ahead by the time not slept, so that the SDK's schedule is kept."""

    def __init__(self, real: Any) -> None:
        self._real, self._ahead = real, 0.0

    def sleep(self, seconds: float) -> None:
        slept = min(seconds, 0.2)
        self._real.sleep(slept)
        self._ahead += seconds - slept

    def time(self) -> float:
        return self._real.time() + self._ahead

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


@pytest.fixture(scope="module")
def sdk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sdk]:
    outbound: list[str] = []
    home = tmp_path_factory.mktemp("sdk-logs") / "home"
    with pytest.MonkeyPatch.context() as patch, start_server(home) as server:
        offline_sdk(patch, outbound)
        patch.setenv("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", server.url)
        import sagemaker.session

        patch.setattr(sagemaker.session, "time", FastClock(time))
        data = home.parent / "train.csv"
        data.write_text("".join(f"{i},{2 * i}\n" for i in range(7)))
        LocalObjectStore(Path(home / "s3")).put(data, "s3://sdk-bucket/train/")
        yield Sdk(server, outbound)
        sagemaker_exchanges = [
            e for e in server.exchanges if not e.operation.startswith(TARGET_PREFIX)
        ]
        assert response_problems(sagemaker_exchanges) == []
        assert logs_problems(server.exchanges) == []
    assert outbound == [], f"the SDK tried to reach {sorted(set(outbound))}"


def epoch_lines(output: str) -> list[str]:
    """The program's lines in ``output`` (the first may follow the SDK's status line,
    which the SDK prints without a newline)."""
    return re.findall(r"epoch=[0-9]+ loss=[0-9.]+; acc=[0-9.]+;", output)


def test_fit_streams_the_training_job_log(sdk: Sdk, capsys: pytest.CaptureFixture) -> None:
    estimator = sdk.estimator(epochs=8, seconds_per_epoch=0.25, x=0.5)
    arrivals: list[tuple[float, int]] = []  # (when, how many events) of each GetLogEvents

    def record(parsed: dict[str, Any], **_: Any) -> None:
        arrivals.append((time.time(), len(parsed.get("events", []))))

    sdk.session.boto_session.events.register("after-call.cloudwatch-logs.GetLogEvents", record)
    started = time.monotonic()
    estimator.fit(inputs="s3://sdk-bucket/train", job_name="sdk-logs-fit")  # logs="All"
    assert time.monotonic() - started < 30
    ended = sdk.client.describe_training_job(TrainingJobName="sdk-logs-fit")["TrainingEndTime"]
    assert any(when < ended.timestamp() and count for when, count in arrivals)
    printed = capsys.readouterr().out
    job_dir = sdk.server.home / "jobs" / "_standalone" / "sdk-logs-fit"
    written = (job_dir / "logs" / "attempt-1.log").read_text()
    assert written.startswith("seen training/") and "seen training/" in printed
    assert epoch_lines(printed) == epoch_lines(written) == written.splitlines()[-8:]
    assert [line.split()[0] for line in epoch_lines(printed)] == [
        f"epoch={k}" for k in range(1, 9)
    ]
    assert "Training seconds:" in printed
    # afterwards, estimator.logs() and Session.logs_for_job print it again, once
    estimator.logs()
    assert epoch_lines(capsys.readouterr().out) == epoch_lines(printed)
    sdk.session.logs_for_job("sdk-logs-fit", wait=True)
    assert epoch_lines(capsys.readouterr().out) == epoch_lines(printed)
