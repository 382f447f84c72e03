"""The ``tunelab`` command.

Every job command works on the local store, or with ``--endpoint URL`` (or
``TUNELAB_ENDPOINT``) on a running ``tunelab serve``. Exit codes: 0 success
(``run``: the tuning job Completed), 1 the tuning job Failed or was Stopped (or an
error without a code of its own, e.g. a server's ``InternalFailure``), 2
bad input or configuration (the message names the field and the rule; a master key,
``TUNELAB_MASTER_KEY`` or ``master.key``, that is invalid or cannot decrypt the stored
secrets), 3 a job that does not exist or is busy, 4 the server refused the credentials,
5 the server could not be reached, 130 interrupted by Ctrl-C (``run``/``resume``: the
first stops the tuning job, a second leaves it unfinished), 143 ended by SIGTERM
(``run``/``resume`` leave the tuning job unfinished). ``tunelab resume`` continues a job
left unfinished.
"""

from __future__ import annotations

import inspect
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.text import Text
from typer.core import TyperGroup

from tunelab.cli.backend import LocalBackend, RemoteBackend
from tunelab.domain.errors import TunelabError
from tunelab.service.secrets import SecretError


def _help_as_paragraphs(command: Any) -> None:
    """Make the help of ``command`` and of every command under it flowing paragraphs:
    Rich help keeps a docstring's line breaks, which in a list of commands cut its
    sentences short mid-line ("... (or follow one the" / "server runs)")."""
    if command.help:
        text = inspect.cleandoc(command.help)
        command.help = "\n\n".join(" ".join(p.split()) for p in text.split("\n\n"))
    for sub in getattr(command, "commands", {}).values():
        _help_as_paragraphs(sub)


class _Commands(TyperGroup):
    """``tunelab``'s commands, built when the command line is read (every command
    module has registered its commands by then)."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        _help_as_paragraphs(self)


app = typer.Typer(
    name="tunelab",
    cls=_Commands,
    help="Self-hosted hyperparameter tuning with SageMaker's job format.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# Messages carry user text (names, values, regexes): never read as markup, never wrapped
out = Console(markup=False, highlight=False, soft_wrap=True)
err = Console(stderr=True, markup=False, highlight=False, soft_wrap=True)
ERROR, WARNING, VALID = Text("error", "red"), Text("warning", "yellow"), Text("valid", "green")

EXIT_CODES = {
    "ValidationException": 2,
    "ResourceLimitExceeded": 2,
    "ResourceInUse": 2,
    "SerializationException": 2,
    "DatabaseVersionMismatch": 2,
    "ResourceNotFound": 3,
    "ConflictException": 3,
    "MissingAuthenticationToken": 4,
    "IncompleteSignatureException": 4,
    "UnrecognizedClientException": 4,
    "InvalidSignatureException": 4,
    "AccessDeniedException": 4,
    "EndpointConnectionError": 5,
}

JobFile = Annotated[
    Path, typer.Argument(help="A CreateHyperParameterTuningJob request (JSON or YAML).")
]
JobName = Annotated[str, typer.Argument(help="The tuning job's name.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print SageMaker's response shape as JSON.")]
Endpoint = Annotated[
    str | None,
    typer.Option(
        "--endpoint",
        envvar="TUNELAB_ENDPOINT",
        help="A tunelab server's URL (tunelab serve); without it, the local store.",
    ),
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]


DESTINATION_HELP = "A local file, or a folder (an existing one, or ending in /)."


def local_destination(destination: str) -> Path:
    """Where to copy to: a path ending in ``/`` names a folder, created here if needed,
    as ``aws s3 cp`` reads it."""
    target = Path(destination)
    if destination.endswith(("/", os.sep)):
        target.mkdir(parents=True, exist_ok=True)
    return target


@contextmanager
def errors_as_exit_codes() -> Iterator[None]:
    """Tunelab errors as a message and the exit code of ``EXIT_CODES`` (1 for others);
    a master key error is a configuration error: exit 2."""
    try:
        yield
    except TunelabError as error:
        if isinstance(error, SecretError):  # the master key is invalid or not the secrets' one
            err.print(ERROR, f": {error.message}", highlight=False, sep="")
            raise typer.Exit(2) from None
        err.print(ERROR, f" ({error.code}): {error.message}", highlight=False, sep="")
        raise typer.Exit(EXIT_CODES.get(error.code, 1)) from None


@contextmanager
def backend(endpoint: str | None) -> Iterator[LocalBackend | RemoteBackend]:
    """The local store, or the server at ``endpoint``; tunelab errors become
    messages and exit codes."""
    with errors_as_exit_codes():
        if endpoint:
            yield RemoteBackend(endpoint)
            return
        from tunelab.service.settings import Settings
        from tunelab.service.tuning import TuningService
        from tunelab.store.sql.store import SqlStore

        settings = Settings.from_env()
        settings.home.mkdir(parents=True, exist_ok=True)
        store = SqlStore(settings.database_url)
        try:
            yield LocalBackend(TuningService(settings, store))
        finally:
            store.close()


def main() -> None:
    """Run the command; end the process without the interpreter's teardown, which
    frees every module and object one by one (~0.3 s that the OS does at once).
    The store is closed and both streams flushed before."""
    code: int | str | None = 0
    try:
        app()
    except SystemExit as exit_:
        code = exit_.code
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code if isinstance(code, int) else (0 if code is None else 1))


# Each module registers its commands on ``app`` when imported. ``tunelab --help`` lists
# commands in the order they were registered (then the command groups), so these
# imports keep this order; the splits keep the import sorter from reordering them.
import tunelab.cli.run_commands  # noqa: E402  (registers validate, run, resume)

# isort: split
import tunelab.cli.job_commands  # noqa: E402  (describe, list, training-jobs, stop, delete)

# isort: split
import tunelab.cli.algorithm_commands  # noqa: E402  (registers algorithms)
import tunelab.cli.artifact_commands  # noqa: E402  (registers kms, artifacts)
import tunelab.cli.clone_command  # noqa: E402, F401  (registers clone)
import tunelab.cli.spot_commands as _spot  # noqa: E402, F401  (registers spot)
from tunelab.cli import serve_commands  # noqa: E402, F401  (registers serve, access-keys)

if __name__ == "__main__":
    # python -m tunelab.cli.app: the command modules registered their commands on the
    # module tunelab.cli.app, not on this __main__ copy of it: run that one
    from tunelab.cli.launch import main as launch

    launch()
