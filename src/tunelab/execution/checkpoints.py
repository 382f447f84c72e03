"""``CheckpointConfig``: the checkpoint directory (``checkpoints/`` or ``LocalPath``) is
restored from ``S3Uri`` when a job starts and kept in sync with it while the job runs
(every ``interval`` seconds, only new or changed files, deletions propagated) and once
more when it ends, as SageMaker does.

``S3Uri`` is taken as a folder. A training job launched by a tuning job syncs to
``<S3Uri>/<training job name>/``, so that parallel training jobs with different
hyperparameters never restore each other's checkpoints; a training job of its own
(``CreateTrainingJob``) uses ``S3Uri`` itself.
"""

from __future__ import annotations

import os
import threading

from tunelab.execution.base import LaunchRequest
from tunelab.execution.contract import LaunchError
from tunelab.execution.storage import DataPlane, Location, exists, prefix_objects, put_file
from tunelab.execution.storage import resolve as resolve_location

Signature = tuple[int, int]  # (size, mtime in ns)


def checkpoint_uri(request: LaunchRequest) -> str | None:
    """Where the job's checkpoints live (see the module docstring), None without any."""
    spec = request.definition.checkpoint
    if spec is None:
        return None
    base = spec.uri.rstrip("/")
    if request.tuning_job_name:
        base += "/" + request.training_job_name
    return base + "/"


class CheckpointSync:
    """Mirrors ``local_dir`` to ``uri``: :meth:`restore`, then :meth:`start` a thread that
    calls :meth:`sync` every ``interval`` seconds, then :meth:`close` (a last sync)."""

    def __init__(self, local_dir: str, uri: str, plane: DataPlane, interval: float) -> None:
        self.local_dir, self.uri, self.interval = local_dir, uri, interval
        try:
            folder = uri if uri.endswith("/") else uri + "/"  # a folder, never a key prefix
            self._remote: Location = resolve_location(folder, plane)
        except LaunchError as exc:
            raise LaunchError(f"CheckpointConfig.S3Uri: {exc.reason}") from None
        self._synced: dict[str, Signature] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_error: str | None = None
        self.syncs = 0

    def restore(self) -> int:
        """Make ``local_dir`` hold exactly what ``uri`` holds; returns the file count."""
        try:
            objects = prefix_objects(self._remote) if exists(self._remote) else []
            os.makedirs(self.local_dir, exist_ok=True)
            wanted = {name for _, name in objects}
            for name in self._scan():
                if name not in wanted:
                    os.unlink(os.path.join(self.local_dir, name))
            for location, name in objects:
                target = os.path.join(self.local_dir, name)
                os.makedirs(os.path.dirname(target), exist_ok=True)
                location.fs.get_file(location.path, target)
        except OSError as exc:
            raise LaunchError(
                f"CheckpointConfig: could not restore checkpoints from {self.uri}: {exc}"
            ) from exc
        self._synced = self._scan()
        return len(objects)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="tunelab-checkpoints", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.sync()
            except OSError as exc:  # retried at the next tick; reported by close()
                self.last_error = str(exc)

    def sync(self) -> None:
        """Upload new and changed files, delete the remote copies of removed ones."""
        current = self._scan()
        for name, signature in current.items():
            if self._synced.get(name) != signature:
                put_file(os.path.join(self.local_dir, name), self._remote.child(name))
                self._synced[name] = signature
        for name in [n for n in self._synced if n not in current]:
            target = self._remote.child(name)
            if target.fs.exists(target.path):
                target.fs.rm_file(target.path)
            del self._synced[name]
        self.syncs += 1
        self.last_error = None

    def close(self) -> str | None:
        """Stop the thread and sync a last time; the failure reason if that fails."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        try:
            self.sync()
        except OSError as exc:
            return f"CheckpointConfig: could not save checkpoints to {self.uri}: {exc}"
        return None

    def _scan(self) -> dict[str, Signature]:
        found: dict[str, Signature] = {}
        for root, _, files in os.walk(self.local_dir):
            for name in files:
                path = os.path.join(root, name)
                if name.endswith(".partial") or os.path.islink(path):
                    continue
                try:
                    stat = os.stat(path)
                except FileNotFoundError:
                    continue
                found[os.path.relpath(path, self.local_dir)] = (stat.st_size, stat.st_mtime_ns)
        return found
