"""The toolkit's part of a script-mode job (``python -m tunelab.execution.script_entry
train``): with the job's environment already set (``SM_USER_ENTRY_POINT``,
``SM_USER_ARGS``, ``SAGEMAKER_BASE_DIR``, ``TUNELAB_SCRIPT_ENVS``) and ``<base>/code``
unpacked, it installs ``code/requirements.txt`` when there is one, changes into the code
directory, puts it first on ``PYTHONPATH`` and replaces itself (``execv``, same pid, so
signals reach the script) with the user's program.

``requirements.txt`` is installed, as the toolkit does, with ``python -m pip install -r
requirements.txt`` run in the code directory (relative paths in it are relative to that
directory), its output in the job's log; not into this machine's Python but into a
virtual environment layered on it: a ``.pth`` file of the environment adds this
interpreter's site-packages (and the user site, when enabled) after its own, so what
tunelab's Python has installed (numpy, scikit-learn...) stays importable and counts as
installed for pip, which installs only what is missing or wanted in another version (that
one then shadows the base's). The environment is ``<TUNELAB_SCRIPT_ENVS>/<key>``, the key
a hash of requirements.txt, the local files and directories it names and this interpreter
(:mod:`tunelab.execution.script_env_key`); it is built in
a temporary sibling directory and renamed into place once pip succeeded, under an
exclusive lock (``<key>.lock``), so parallel jobs with the same requirements build it once
and later jobs reuse it. The program then runs with that environment's ``python`` (its
``bin`` first on ``PATH``, ``VIRTUAL_ENV`` set). Deleting the directory clears the cache.
When pip fails, the job fails with ``InstallRequirementsError`` (the toolkit's name) and
no environment is left behind.

Imports nothing of tunelab but standard-library-only modules (the key, the toolkit's
reading of hyperparameters): its output belongs to the job's log, its failures to the
job.
"""

from __future__ import annotations

import fcntl
import importlib.util
import json
import os
import shutil
import signal
import site
import stat
import subprocess
import sys
import tempfile

from tunelab.execution.script_env_key import REQUIREMENTS, environment_key
from tunelab.execution.toolkit_hyperparameters import (
    decode_hyperparameters,
    user_args,
    user_hyperparameters,
)

ENVS_VARIABLE = "TUNELAB_SCRIPT_ENVS"
BASE_PTH = "_tunelab_base_site.pth"


class InstallRequirementsError(Exception):
    """requirements.txt could not be installed; the message is the job's FailureReason."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"InstallRequirementsError: {detail}")


def command(code: str, program: str, args: list[str], python: str | None = None) -> list[str]:
    """The toolkit's command: ``python -m <module>`` for a package (``setup.py``),
    ``python <program>`` for a ``.py`` file, ``./<program>`` otherwise. ``python``: the
    interpreter (default: this one)."""
    python = python or sys.executable
    if os.path.exists(os.path.join(code, "setup.py")):
        return [python, "-m", program.removesuffix(".py"), *args]
    if program.endswith(".py"):
        return [python, program, *args]
    path = os.path.join(code, program)
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return [f"./{program}", *args]


def envs_root() -> str:
    """``TUNELAB_SCRIPT_ENVS``, which the executor sets for every script-mode job (from
    ``$TUNELAB_HOME``; this module imports nothing of tunelab to read it). Raises
    :class:`InstallRequirementsError` when it is missing."""
    root = os.environ.get(ENVS_VARIABLE)
    if not root:
        raise InstallRequirementsError(
            f"{ENVS_VARIABLE} is not set (tunelab's executor sets it for script-mode jobs)"
        )
    return os.path.abspath(os.path.expanduser(root))


def base_site_dirs() -> list[str]:
    """This interpreter's site directories as it orders them: the user site (when
    enabled), then site-packages."""
    dirs = [site.getusersitepackages()] if site.ENABLE_USER_SITE else []
    dirs += site.getsitepackages()
    return [d for i, d in enumerate(dirs) if os.path.isdir(d) and d not in dirs[:i]]


def requirements_environment(code: str, root: str) -> str:
    """The environment with ``code/requirements.txt`` installed: reused when it exists,
    else built (see the module docstring). Raises :class:`InstallRequirementsError`."""
    try:
        os.makedirs(root, exist_ok=True)
        final = os.path.join(root, environment_key(code))
        lock = os.open(f"{final}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise InstallRequirementsError(
            f"cannot use the environments folder {root}: {exc}"
        ) from exc
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            _say(f"tunelab: waiting for another job installing {REQUIREMENTS} into {final}")
            fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.isdir(final):
            _say(f"tunelab: reusing the environment {final} ({REQUIREMENTS} installed)")
            return final
        temporary = ""
        try:
            _remove_stale(root, os.path.basename(final))
            temporary = tempfile.mkdtemp(prefix=f"{os.path.basename(final)}.tmp-", dir=root)
            os.chmod(temporary, 0o755)  # as python -m venv makes it
            _build(code, temporary, final)
            try:
                os.rename(temporary, final)
            except OSError:
                if not os.path.isdir(final):
                    raise
                # built meanwhile by a job holding the lock of a deleted lock file
                shutil.rmtree(temporary, ignore_errors=True)
        except BaseException as exc:
            if temporary:
                shutil.rmtree(temporary, ignore_errors=True)
            if isinstance(exc, OSError):
                raise InstallRequirementsError(
                    f"could not build the environment for {REQUIREMENTS} in {root}: {exc}"
                ) from exc
            raise
        _say(f"tunelab: {REQUIREMENTS} installed into the environment {final}")
        return final
    finally:
        os.close(lock)  # releases the lock


def _say(line: str) -> None:
    print(line, flush=True)


def _remove_stale(root: str, name: str) -> None:
    """Temporary directories of builds that were killed (builders hold the lock)."""
    for entry in os.listdir(root):
        if entry.startswith(f"{name}.tmp-"):
            shutil.rmtree(os.path.join(root, entry), ignore_errors=True)


def _build(code: str, venv: str, final: str) -> None:
    # this interpreter's pip serves the new environment (through the .pth), when it has one
    has_pip = importlib.util.find_spec("pip") is not None
    create = [sys.executable, "-m", "venv", *(["--without-pip"] if has_pip else []), venv]
    _say(f"tunelab: creating a virtual environment for {REQUIREMENTS} on {sys.executable}")
    created = subprocess.run(create, stdin=subprocess.DEVNULL, check=False)
    python = os.path.join(venv, "bin", "python")
    purelib = ""
    if created.returncode == 0 and os.path.exists(python):
        purelib = subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            text=True,
            check=False,
        ).stdout.strip()
    if not purelib or not os.path.isdir(purelib):
        raise InstallRequirementsError(
            f"could not create a virtual environment for {REQUIREMENTS} "
            f"(python -m venv exited with code {created.returncode}; see the log)"
        )
    with open(os.path.join(purelib, BASE_PTH), "w") as f:
        for directory in base_site_dirs():
            f.write(f"import site; site.addsitedir({directory!a})\n")
    install = [python, "-m", "pip", "install", "--disable-pip-version-check", "--no-input"]
    install += ["-r", REQUIREMENTS]
    _say(f"Installing dependencies from {REQUIREMENTS}:\n\n{' '.join(install)}\n")
    done = subprocess.run(install, cwd=code, stdin=subprocess.DEVNULL, check=False)
    if done.returncode != 0:
        raise InstallRequirementsError(
            f"pip install -r {REQUIREMENTS} failed with exit code {done.returncode} (see the log)"
        )
    shutil.copyfile(os.path.join(code, REQUIREMENTS), os.path.join(venv, REQUIREMENTS))
    _relocate(venv, final)


def _relocate(venv: str, final: str) -> None:
    """Point the scripts of ``bin`` (shebangs, ``activate``) and ``pyvenv.cfg`` at the
    final directory."""
    old, new = venv.encode(), final.encode()
    paths = [os.path.join(venv, "bin", n) for n in os.listdir(os.path.join(venv, "bin"))]
    for path in [*paths, os.path.join(venv, "pyvenv.cfg")]:
        if os.path.islink(path) or not os.path.isfile(path):
            continue
        with open(path, "rb") as f:
            data = f.read()
        if old in data and b"\0" not in data:
            with open(path, "wb") as f:
                f.write(data.replace(old, new))


def _terminated(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def fail(base: str, failure: str) -> int:
    with open(os.path.join(base, "output", "failure"), "w") as f:
        f.write(failure)
    print(failure, file=sys.stderr)
    return 1


def script_args(base: str) -> list[str]:
    """The script's arguments: ``SM_USER_ARGS``, or when the executor left it out of the
    environment (too large for one variable) the same built from
    ``input/config/hyperparameters.json``."""
    if "SM_USER_ARGS" in os.environ:
        return [str(a) for a in json.loads(os.environ["SM_USER_ARGS"])]
    with open(os.path.join(base, "input", "config", "hyperparameters.json")) as f:
        return user_args(user_hyperparameters(decode_hyperparameters(json.load(f))))


def argument_problem(args: list[str]) -> str | None:
    """Why the script cannot get ``args`` (``--name value`` pairs): a NUL character, which
    no command-line argument can hold; None when it can."""
    for i, arg in enumerate(args):
        if "\0" in arg:
            flag, what = args[i - i % 2], "value" if i % 2 else "name"
            return (
                f"ScriptModeError: the {what} of the hyperparameter {flag!r} holds a NUL "
                "character (U+0000); script mode passes each hyperparameter to the script "
                "as command-line arguments (--name value), which cannot hold one"
            )
    return None


def main() -> int:
    base = os.environ["SAGEMAKER_BASE_DIR"]
    code = os.path.join(base, "code")
    program = os.environ.get("SM_USER_ENTRY_POINT", "")
    if not program or not os.path.isdir(code):
        missing = "no sagemaker_program, or the code directory is missing"
        return fail(base, f"ScriptModeError: {missing}")
    python = None
    if os.path.isfile(os.path.join(code, REQUIREMENTS)):
        # a job stopped while installing ends pip and removes the half-built environment
        signal.signal(signal.SIGTERM, _terminated)
        try:
            venv = requirements_environment(code, envs_root())
        except InstallRequirementsError as exc:
            return fail(base, str(exc))
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        python = os.path.join(venv, "bin", "python")
        path = os.environ.get("PATH")
        os.environ["PATH"] = os.pathsep.join([os.path.join(venv, "bin"), *filter(None, [path])])
        os.environ["VIRTUAL_ENV"] = venv
    try:
        args = script_args(base)
    except (OSError, ValueError) as exc:
        return fail(base, f"ScriptModeError: cannot read the hyperparameters: {exc}")
    if (problem := argument_problem(args)) is not None:
        return fail(base, problem)
    argv = command(code, program, args, python)
    paths = [code, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    os.environ["PYTHONPATH"] = os.pathsep.join(paths)
    os.chdir(code)
    print(f"Invoking script with the following command:\n\n{' '.join(argv)}\n", flush=True)
    try:
        os.execv(argv[0] if os.path.isabs(argv[0]) else os.path.join(code, argv[0]), argv)
    except OSError as exc:  # e.g. E2BIG: arguments and environment over Linux's limit
        return fail(base, f"ScriptModeError: could not start the script {argv[0]}: {exc}")
    return 1  # not reached


if __name__ == "__main__":
    sys.exit(main())
