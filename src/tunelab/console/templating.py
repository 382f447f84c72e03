"""Jinja2 templates of the console (``console/templates``, autoescaped) and the
filters they use to show times, durations and numbers."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.responses import HTMLResponse

from tunelab.console.wizard_build import fid

PREFIX = "/console"


def when(timestamp: float | None) -> str:
    """``2026-11-01 12:34:56`` (UTC), or an em dash."""
    if timestamp is None:
        return "—"
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S")


def duration(seconds: float | None) -> str:
    """``42 s``, ``3 min 05 s``, ``2 h 01 min``."""
    if seconds is None:
        return "—"
    if seconds < 10:
        return f"{max(0.0, seconds):.1f} s"
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def number(value: float | int | None) -> str:
    """Six significant digits, or an em dash."""
    if value is None:
        return "—"
    if isinstance(value, int):
        return str(value)
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    return f"{value:.6g}"


def to_json(value: Any, indent: int | None = None) -> str:
    return json.dumps(value, indent=indent, sort_keys=False, default=str)


environment = Environment(
    loader=PackageLoader("tunelab.console", "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.filters.update(when=when, duration=duration, number=number, fid=fid, to_json=to_json)
environment.globals.update(prefix=PREFIX, static=f"{PREFIX}/static")


def render(
    name: str, status_code: int = 200, headers: dict[str, str] | None = None, **context: Any
) -> HTMLResponse:
    """The template ``name`` rendered with ``context`` (``user`` defaults to None)."""
    context.setdefault("user", None)
    html = environment.get_template(name).render(**context)
    return HTMLResponse(html, status_code=status_code, headers=headers)
