"""The ``tunelab`` console script. Importing the command takes about a second (Typer,
Rich, SQLAlchemy, botocore...); a Ctrl-C during that time ends the process quietly with
exit code 130, as a Ctrl-C later does, instead of a traceback. Then the command runs."""

from __future__ import annotations

import os


def main() -> None:
    """Import :mod:`tunelab.cli.app` and run its ``main`` (which ends the process)."""
    try:
        from tunelab.cli.app import main as run_command
    except KeyboardInterrupt:
        os._exit(130)  # at once: no teardown of the modules half imported
    run_command()


if __name__ == "__main__":
    main()
