"""Everything that moves data for one training job attempt on one host, for the executor:
:meth:`JobData.prepare` (before launch: data channels, script-mode code, checkpoint
restore), :meth:`JobData.start` (after launch: Pipe feeders, checkpoint sync thread),
:meth:`JobData.failure` (each poll: a data error that must fail the job) and
:meth:`JobData.close` (when the process ended: feeders stopped, last checkpoint sync,
a container left by a SIGKILL removed). Outputs are packed by :mod:`.outputs`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from tunelab.execution import container
from tunelab.execution.base import LaunchRequest
from tunelab.execution.checkpoints import CheckpointSync, checkpoint_uri
from tunelab.execution.contract import JobLayout
from tunelab.execution.errors import check_stopped
from tunelab.execution.job_dir import shared_checkpoint_dir
from tunelab.execution.pipes import PipeFeeder
from tunelab.execution.script_mode import is_script_mode, prepare_code
from tunelab.execution.staging import stage_channels
from tunelab.execution.storage import DataPlane


@dataclass(eq=False)
class JobData:
    request: LaunchRequest
    layout: JobLayout
    plane: DataPlane
    feeders: list[PipeFeeder] = field(default_factory=list)
    checkpoints: CheckpointSync | None = None
    in_container: bool = False
    _closed: str | None = None

    @classmethod
    def prepare(
        cls,
        request: LaunchRequest,
        layout: JobLayout,
        plane: DataPlane,
        *,
        host_index: int = 0,
        host_count: int = 1,
        stopped: Callable[[], bool] | None = None,
    ) -> JobData:
        """Stage the channels for host ``host_index`` of ``host_count``, unpack the
        script-mode code and restore checkpoints. Raises ``LaunchError`` (``LaunchStopped``
        between two steps once ``stopped`` says so); starts no thread."""
        definition = request.definition
        pipes = stage_channels(
            definition,
            layout,
            plane,
            host_index=host_index,
            host_count=host_count,
            stopped=stopped,
        )
        image, static = definition.training_image, definition.static_hyperparameters
        if is_script_mode(image, static):
            check_stopped(stopped)
            prepare_code(static, layout, plane)
        checkpoints = None
        uri = checkpoint_uri(request)
        if uri is not None:
            check_stopped(stopped)
            shared = shared_checkpoint_dir(definition) is not None
            checkpoints = CheckpointSync(
                layout.checkpoint_dir, uri, plane, plane.checkpoint_interval, shared
            )
            checkpoints.restore(stopped)
        in_container = container.runs_in_container(image, static)
        return cls(
            request, layout, plane, [PipeFeeder(p) for p in pipes], checkpoints, in_container
        )

    def start(self) -> None:
        """Start feeding the Pipe channels and syncing checkpoints."""
        for feeder in self.feeders:
            feeder.start()
        if self.checkpoints is not None:
            self.checkpoints.start()

    def failure(self) -> str | None:
        """The first data error so far (a Pipe channel that could not be fed)."""
        return next((f.failure for f in self.feeders if f.failure), None)

    def close(self) -> str | None:
        """Stop everything (idempotent); the reason the job must fail, if any."""
        if self._closed is not None:
            return self._closed or None
        for feeder in self.feeders:
            feeder.close()
        reason = self.failure()
        if self.checkpoints is not None:
            saved = self.checkpoints.close()
            reason = reason or saved
        if self.in_container:
            container.remove(self.request.training_job_name)
        self._closed = reason or ""
        return reason
