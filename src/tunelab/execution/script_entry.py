"""The toolkit's part of a script-mode job (``python -m tunelab.execution.script_entry
train``): with the job's environment already set (``SM_USER_ENTRY_POINT``,
``SM_USER_ARGS``, ``SAGEMAKER_BASE_DIR``) and ``<base>/code`` unpacked, it changes into
the code directory, puts it first on ``PYTHONPATH`` and replaces itself (``execv``, same
pid, so signals reach the script) with the user's program. Imports nothing of tunelab.
"""

from __future__ import annotations

import json
import os
import stat
import sys


def command(code: str, program: str, args: list[str]) -> list[str]:
    """The toolkit's command: ``python -m <module>`` for a package (``setup.py``),
    ``python <program>`` for a ``.py`` file, ``./<program>`` otherwise."""
    if os.path.exists(os.path.join(code, "setup.py")):
        return [sys.executable, "-m", program.removesuffix(".py"), *args]
    if program.endswith(".py"):
        return [sys.executable, program, *args]
    path = os.path.join(code, program)
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return [f"./{program}", *args]


def main() -> int:
    base = os.environ["SAGEMAKER_BASE_DIR"]
    code = os.path.join(base, "code")
    program = os.environ.get("SM_USER_ENTRY_POINT", "")
    args = json.loads(os.environ.get("SM_USER_ARGS", "[]"))
    if not program or not os.path.isdir(code):
        failure = "ScriptModeError: no sagemaker_program, or the code directory is missing"
        with open(os.path.join(base, "output", "failure"), "w") as f:
            f.write(failure)
        print(failure, file=sys.stderr)
        return 1
    if os.path.exists(os.path.join(code, "requirements.txt")):
        print(
            "tunelab: requirements.txt is not installed in script mode (the script runs "
            "with this machine's Python): install its requirements beforehand",
            flush=True,
        )
    argv = command(code, program, [str(a) for a in args])
    paths = [code, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    os.environ["PYTHONPATH"] = os.pathsep.join(paths)
    os.chdir(code)
    print(f"Invoking script with the following command:\n\n{' '.join(argv)}\n", flush=True)
    os.execv(argv[0] if os.path.isabs(argv[0]) else os.path.join(code, argv[0]), argv)
    return 1  # not reached


if __name__ == "__main__":
    sys.exit(main())
