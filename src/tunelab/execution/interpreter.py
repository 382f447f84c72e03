"""The interpreter a program's ``#!`` line names must exist: otherwise the kernel's
ENOENT reads as if the program itself were missing (or as an error of the wrapper that
execs it, ``prlimit: failed to execute ...``). Checked when a job is created
(:mod:`.preflight`) and again when a host starts (:mod:`.hosts`)."""

from __future__ import annotations

import os
import shutil

_FIRST_LINE = 256  # Linux reads at most this much of a #! line (BINPRM_BUF_SIZE)


def interpreter_problem(program: str, path: str | None) -> str | None:
    """Why ``program``'s ``#!`` interpreter cannot run, or None (also for a program
    without a ``#!`` line, or one that cannot be read). ``path``: the ``PATH`` the
    program gets, where ``#!/usr/bin/env NAME`` looks ``NAME`` up."""
    try:
        with open(program, "rb") as f:
            head = f.read(_FIRST_LINE)
    except OSError:
        return None
    if not head.startswith(b"#!"):
        return None
    words = head[2:].split(b"\n", 1)[0].decode("utf-8", errors="replace").split()
    if not words:
        return "its #! line names no interpreter"
    interpreter = words[0]
    if not os.path.isfile(interpreter):
        return f"its #! line names the interpreter {interpreter}, which does not exist"
    if not os.access(interpreter, os.X_OK):
        return f"its #! line names the interpreter {interpreter}, which is not executable"
    names = [w for w in words[1:] if not w.startswith("-")]
    if os.path.basename(interpreter) == "env" and names and "=" not in names[0]:
        name = names[0]
        if shutil.which(name, path=path) is None:
            return f"its #! line runs {name} through {interpreter}, and no {name} is on the PATH"
    return None
