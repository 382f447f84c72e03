"""``CheckpointConfig``: the checkpoint directory (``checkpoints/`` or ``LocalPath``) is
restored from ``S3Uri`` when a job starts and kept in sync with it while the job runs
(every ``interval`` seconds, only new or changed files, deletions propagated) and once
more when it ends, as SageMaker does.

``S3Uri`` is taken as a folder. A training job launched by a tuning job syncs to
``<S3Uri>/<training job name>/``, so that parallel training jobs with different
hyperparameters never restore each other's checkpoints; a training job of its own
(``CreateTrainingJob``) uses ``S3Uri`` itself.

A ``LocalPath`` outside ``/opt/ml/`` is a directory of this machine, which restoring
empties of anything ``S3Uri`` does not hold (a training job starts with only its own
checkpoints, as in SageMaker's fresh container). tunelab leaves :data:`MARKER` in it once it
manages it, and refuses one that holds files without the marker: they are someone's, not
checkpoints of an earlier training job.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator

from tunelab.execution.base import LaunchRequest
from tunelab.execution.contract import LaunchError
from tunelab.execution.errors import check_stopped
from tunelab.execution.storage import (
    PARTIAL,
    DataPlane,
    Location,
    exists,
    prefix_objects,
    put_file,
)
from tunelab.execution.storage import resolve as resolve_location

Signature = tuple[int, int]  # (size, mtime in ns)
MARKER = ".tunelab-checkpoints"
"""The file tunelab leaves in a checkpoint ``LocalPath`` outside ``/opt/ml/`` it manages."""


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

    def __init__(
        self, local_dir: str, uri: str, plane: DataPlane, interval: float, shared: bool = False
    ) -> None:
        """``shared``: ``local_dir`` is a ``LocalPath`` outside ``/opt/ml/`` (see the module
        docstring), not the job directory's own."""
        self.local_dir, self.uri, self.interval = local_dir, uri, interval
        self.shared = shared
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

    def restore(self, stopped: Callable[[], bool] | None = None) -> int:
        """Make ``local_dir`` hold exactly what ``uri`` holds; returns the file count.
        :class:`LaunchError` for a shared ``local_dir`` holding files tunelab did not put
        there (see the module docstring); :class:`LaunchStopped` between two files once
        ``stopped`` says the job was told to stop."""
        try:
            if self.shared:
                self._claim()
            objects = prefix_objects(self._remote) if exists(self._remote) else []
            os.makedirs(self.local_dir, exist_ok=True)
            wanted = {name for _, name in objects}
            for name in self._scan():
                if name not in wanted:
                    os.unlink(os.path.join(self.local_dir, name))
            for location, name in objects:
                check_stopped(stopped)
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
        """Delete the remote copies of removed files (first: a folder that became a file
        of its name, or the reverse, must not clash with its old self in the local object
        store, which keeps no emptied folder), then upload new and changed files."""
        current = self._scan()
        for name in [n for n in self._synced if n not in current]:
            target = self._remote.child(name)
            if target.fs.exists(target.path):
                target.fs.rm_file(target.path)
            if target.is_local:
                _remove_empty_folders(os.path.dirname(target.path), self._remote.path)
            del self._synced[name]
        for name, signature in current.items():
            if self._synced.get(name) != signature:
                put_file(os.path.join(self.local_dir, name), self._remote.child(name))
                self._synced[name] = signature
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

    def _claim(self) -> None:
        """Leave :data:`MARKER` in the shared ``local_dir``, refusing one whose files are
        not tunelab's."""
        marker = os.path.join(self.local_dir, MARKER)
        if os.path.exists(marker):
            return
        held = foreign_file(self.local_dir)
        if held is not None:
            raise LaunchError(
                f"CheckpointConfig.LocalPath {not_a_checkpoint_dir(self.local_dir, held)}"
            )
        os.makedirs(self.local_dir, exist_ok=True)
        with open(marker, "w", encoding="utf-8") as f:
            f.write("tunelab keeps training jobs' checkpoints here (CheckpointConfig.LocalPath)\n")

    def _scan(self) -> dict[str, Signature]:
        found: dict[str, Signature] = {}
        for path in _checkpoint_files(self.local_dir):
            try:
                stat = os.stat(path)
            except FileNotFoundError:
                continue
            found[os.path.relpath(path, self.local_dir)] = (stat.st_size, stat.st_mtime_ns)
        return found


def _remove_empty_folders(folder: str, root: str) -> None:
    """Remove ``folder`` and its parents below ``root`` while they are empty (an S3
    prefix whose last object is deleted is gone)."""
    root = root.rstrip("/")
    while folder.startswith(root + "/"):
        try:
            os.rmdir(folder)
        except OSError:  # not empty (or already gone)
            return
        folder = os.path.dirname(folder)


def _checkpoint_files(folder: str) -> Iterator[str]:
    """The paths of the checkpoint files below ``folder``: not symlinks, partial uploads
    (``.partial``) or tunelab's :data:`MARKER`."""
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            if name.endswith(PARTIAL) or os.path.islink(path):
                continue
            if name == MARKER and root == folder:
                continue
            yield path


def foreign_file(local_dir: str) -> str | None:
    """A file in the checkpoint ``LocalPath`` ``local_dir`` (outside ``/opt/ml/``) that
    restoring would delete although tunelab does not manage the directory (no
    :data:`MARKER`), or None."""
    if os.path.exists(os.path.join(local_dir, MARKER)):
        return None
    return next(_checkpoint_files(local_dir), None)


def not_a_checkpoint_dir(local_dir: str, held: str) -> str:
    """Why the ``LocalPath`` ``local_dir`` holding the file ``held`` is refused (naming
    the directory first)."""
    return (
        f"{local_dir} holds {held}, which tunelab did not put "
        "there: a training job starts with only its own checkpoints in that directory, so "
        "tunelab would delete it; name a new or empty directory, or one under /opt/ml/ "
        "such as /opt/ml/checkpoints"
    )
