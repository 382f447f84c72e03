"""A live progress bar for a running tuning job: training jobs done / total,
running, failed, best objective so far."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from tunelab.cli.render import objective_text
from tunelab.orchestrator.progress import Progress as TuningProgress


class ProgressDisplay:
    """Use as a context manager; pass :meth:`update` as the loop's callback. The bar
    shows from the first update on: a job that never starts here (another process
    runs it) leaves no progress line before its error."""

    def __init__(self, console: Console, name: str, objective: str, total: int | None) -> None:
        self.console, self.objective = console, objective
        self.bar = Progress(
            TextColumn("{task.description}", style="bold", markup=False),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[detail]}", markup=False),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self.task = self.bar.add_task(name, total=total, detail="starting")
        self.last: TuningProgress | None = None
        self.started = False

    def __enter__(self) -> ProgressDisplay:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self.started:
            self.bar.stop()

    def update(self, progress: TuningProgress) -> None:
        if not self.started:
            self.started = True
            self.bar.start()
        if progress == self.last:
            return
        self.last = progress
        detail = f"{progress.running} running"
        if progress.failed:
            detail += f", {progress.failed} without objective"
        detail += f" | best {self.objective}: {objective_text(progress.best)}"
        if progress.finishing:
            detail += f" | finishing: {progress.finishing}"
        elif progress.status.value == "Stopping":
            detail += " | stopping"
        total = progress.max_jobs
        self.bar.update(self.task, completed=progress.finished, total=total, detail=detail)
