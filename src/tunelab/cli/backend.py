"""Where the CLI's commands go: the local store (the tuning loop runs in the CLI
process) or a running ``tunelab serve`` (``--endpoint URL``, through boto3, as any
SageMaker client would). Both answer with SageMaker's response shapes."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from tunelab.api import codecs
from tunelab.domain.enums import TuningJobStatus
from tunelab.domain.errors import TunelabError
from tunelab.orchestrator.progress import Progress
from tunelab.service.executors import join_cluster
from tunelab.service.tuning import TuningService
from tunelab.store.base import TrainingJobQuery, TuningJobQuery

Wire = dict[str, Any]
OnProgress = Callable[[Progress], None]


UNREACHABLE = "EndpointConnectionError"


class RemoteError(TunelabError):
    """An error answered by a tunelab server, with its AWS code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def progress_of(wire: Mapping[str, Any]) -> Progress:
    """A progress snapshot from a ``DescribeHyperParameterTuningJob`` response."""
    counters, objectives = wire["TrainingJobStatusCounters"], wire["ObjectiveStatusCounters"]
    best = (wire.get("BestTrainingJob") or {}).get("FinalHyperParameterTuningJobObjectiveMetric")
    return Progress(
        name=wire["HyperParameterTuningJobName"],
        status=TuningJobStatus(wire["HyperParameterTuningJobStatus"]),
        created=sum(counters.values()),
        running=counters["InProgress"],
        max_jobs=wire["HyperParameterTuningJobConfig"]["ResourceLimits"].get(
            "MaxNumberOfTrainingJobs"
        ),
        best=None if best is None else best["Value"],
        succeeded=objectives["Succeeded"],
        failed=sum(counters.values()) - counters["InProgress"] - objectives["Succeeded"],
    )


class LocalBackend:
    def __init__(self, service: TuningService) -> None:
        self.service = service
        self.settings = service.settings

    def create(self, document: Mapping[str, Any]) -> tuple[str, bool]:
        join_cluster(self.settings)  # an unreachable Ray cluster: no job left behind
        job, resumed = self.service.create_or_resume(document)
        return job.name, resumed

    def follow(self, name: str, on_progress: OnProgress | None) -> str:
        """Run the tuning job here until it ends; its final status."""
        return str(self.service.run(name, on_progress).status)

    def request_stop(self, name: str) -> None:
        self.service.request_stop()

    def describe(self, name: str) -> Wire:
        settings = self.settings
        return codecs.describe_tuning_job(
            self.service.describe(name), settings.region, settings.account
        )

    def list_jobs(self, query: TuningJobQuery) -> list[Wire]:
        jobs, settings = self.service.list(query).items, self.settings
        counters = self.service.store.counters_of([j.name for j in jobs])
        return [
            codecs.tuning_job_summary(j, counters[j.name], settings.region, settings.account)
            for j in jobs
        ]

    def training_jobs(self, query: TrainingJobQuery) -> list[Wire]:
        job = self.service.get(query.tuning_job_name or "")
        page = self.service.list_training_jobs(query)
        settings = self.settings
        return [
            codecs.training_job_summary(t, job.spec, settings.region, settings.account)
            for t in page.items
        ]

    def stop(self, name: str) -> str:
        return str(self.service.stop(name).status)

    def delete(self, name: str) -> None:
        self.service.delete(name)

    def log_path(self, training_job_name: str) -> str | None:
        return self.service.log_path(self.service.store.get_training_job(training_job_name))


class RemoteBackend:
    """A tunelab server through boto3's ``sagemaker`` client (credentials from the
    usual AWS chain: environment, profile...)."""

    def __init__(
        self, endpoint: str, poll_interval: float = 1.0, reconnect_seconds: float = 120.0
    ) -> None:
        import boto3
        import botocore.session
        from botocore import UNSIGNED
        from botocore.config import Config

        session = botocore.session.get_session()
        region = session.get_config_variable("region") or "us-east-1"
        # without credentials, unsigned requests: a --no-auth server takes them, another
        # answers MissingAuthenticationToken
        config = Config(signature_version=UNSIGNED) if session.get_credentials() is None else None
        self.client = boto3.client(
            "sagemaker", endpoint_url=endpoint, region_name=region, config=config
        )
        self.endpoint = endpoint
        self.poll_interval, self.reconnect_seconds = poll_interval, reconnect_seconds
        self._stop_requested = False
        self.stop_sent = False
        """Whether :meth:`follow` passed a :meth:`request_stop` on to the server."""

    def _call(self, operation: str, **params: Any) -> Wire:
        """The operation's response; a refusal or an unreachable server as
        :class:`RemoteError` (code ``EndpointConnectionError`` for the latter)."""
        from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

        try:
            response = getattr(self.client, operation)(**params)
        except ClientError as error:
            info = error.response.get("Error", {})
            raise RemoteError(info.get("Code", "ClientError"), info.get("Message", "")) from None
        except (ConnectionError, HTTPClientError) as error:
            message = f"could not reach the tunelab server at {self.endpoint}: {error}"
            raise RemoteError(UNREACHABLE, message) from None
        response.pop("ResponseMetadata", None)
        return _epoch(response)

    def create(self, document: Mapping[str, Any]) -> tuple[str, bool]:
        name = document["HyperParameterTuningJobName"]
        try:
            self._call("create_hyper_parameter_tuning_job", **document)
        except RemoteError as error:
            if error.code != "ResourceInUse":
                raise
            status = self.describe(name)["HyperParameterTuningJobStatus"]
            if status not in ("InProgress", "Stopping"):
                raise
            return name, True
        return name, False

    def follow(self, name: str, on_progress: OnProgress | None) -> str:
        """Poll Describe until the job ends (the server runs it); its final status. A
        server out of reach is waited for up to ``reconnect_seconds``."""
        unreachable_since: float | None = None
        while True:
            try:
                wire = self.describe(name)
            except RemoteError as error:  # a server restarting: it resumes the job
                now = time.monotonic()
                unreachable_since = unreachable_since or now
                if error.code != UNREACHABLE or now - unreachable_since > self.reconnect_seconds:
                    raise
                time.sleep(self.poll_interval)
                continue
            unreachable_since = None
            if on_progress is not None:
                on_progress(progress_of(wire))
            status = wire["HyperParameterTuningJobStatus"]
            if status in ("Completed", "Failed", "Stopped"):
                return status
            if self._stop_requested and not self.stop_sent:
                self.stop(name)
                self.stop_sent = True
            time.sleep(self.poll_interval)

    def request_stop(self, name: str) -> None:
        self._stop_requested = True

    def describe(self, name: str) -> Wire:
        return self._call("describe_hyper_parameter_tuning_job", HyperParameterTuningJobName=name)

    def list_jobs(self, query: TuningJobQuery) -> list[Wire]:
        params: Wire = {"SortBy": query.sort_by, "SortOrder": query.sort_order}
        if query.status is not None:
            params["StatusEquals"] = str(query.status)
        if query.name_contains:
            params["NameContains"] = query.name_contains
        operation = "list_hyper_parameter_tuning_jobs"
        return self._pages(operation, params, "HyperParameterTuningJobSummaries", query.limit)

    def training_jobs(self, query: TrainingJobQuery) -> list[Wire]:
        params: Wire = {
            "HyperParameterTuningJobName": query.tuning_job_name,
            "SortBy": query.sort_by,
            "SortOrder": query.sort_order,
        }
        if query.status is not None:
            params["StatusEquals"] = str(query.status)
        operation = "list_training_jobs_for_hyper_parameter_tuning_job"
        return self._pages(operation, params, "TrainingJobSummaries", query.limit)

    def _pages(self, operation: str, params: Wire, key: str, limit: int | None) -> list[Wire]:
        """The items under ``key`` of every page of the list ``operation`` (at most 100
        per request, SageMaker's limit), up to ``limit`` items (None: all)."""
        found: list[Wire] = []
        params = dict(params)
        while limit is None or len(found) < limit:
            params["MaxResults"] = 100 if limit is None else min(100, limit - len(found))
            page = self._call(operation, **params)
            found += page[key]
            if "NextToken" not in page:
                break
            params["NextToken"] = page["NextToken"]
        return found

    def stop(self, name: str) -> str:
        self._call("stop_hyper_parameter_tuning_job", HyperParameterTuningJobName=name)
        return self.describe(name)["HyperParameterTuningJobStatus"]

    def delete(self, name: str) -> None:
        self._call("delete_hyper_parameter_tuning_job", HyperParameterTuningJobName=name)

    def log_path(self, training_job_name: str) -> str | None:
        return None  # the log is on the server's machine


def _epoch(value: Any) -> Any:
    """boto3 parses timestamps to datetimes; the CLI renders epoch seconds."""
    if hasattr(value, "timestamp") and callable(value.timestamp):
        return value.timestamp()
    if isinstance(value, dict):
        return {k: _epoch(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_epoch(v) for v in value]
    return value
