"""The console's routes, mounted beside the API by ``tunelab serve``
(``create_app(..., extra_routes=console_routes(...))``).

Every page and action goes through :meth:`Console.route`: the session is checked
(sign-in with an access key when authentication is on; nothing but the sign-in
page and the static files is served without it), the key's policy must allow
the SageMaker operation the page stands for, a POST must come from the
console's own origin, and the handler then runs in a worker thread (the store
is synchronous).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import plotly
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from tunelab.console.session import COOKIE, OPEN_USER, ConsoleAuth, User
from tunelab.console.templating import PREFIX, render
from tunelab.service.algorithms import AlgorithmService
from tunelab.service.scheduler import Scheduler
from tunelab.service.settings import Settings
from tunelab.service.training import TrainingService
from tunelab.service.tuning import TuningService

STATIC = Path(__file__).parent / "static"
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
MAX_UPLOAD_BYTES = 2 * 1024 * 1024
Form = dict[str, Any]
Handler = Callable[[Request, User, Form], Response]
"""(request, user, posted form) -> response; runs in a worker thread."""


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes


@dataclass(frozen=True)
class ConsoleServices:
    settings: Settings
    tuning: TuningService
    training: TrainingService
    algorithms: AlgorithmService
    scheduler: Scheduler | None = None


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def redirect(request: Request, url: str) -> Response:
    """Go to ``url``: htmx follows ``HX-Redirect``, a plain form a 303."""
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def forbidden(user: User, operation: str) -> Response:
    return render(
        "error.html",
        status_code=403,
        user=user,
        title="Not allowed",
        message=f"The access key {user.access_key_id} may not call {operation} "
        f"(its policy is {user.policy}).",
    )


def same_origin(request: Request) -> bool:
    """A POST from a page of this server (browsers send ``Origin``; tools that send
    neither ``Origin`` nor ``Referer`` are not browsers riding on a cookie)."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if origin is None:
        return True
    return origin != "null" and urlsplit(origin).netloc == request.headers.get("host", "")


async def _read_form(request: Request) -> Form:
    found: Form = {}
    async with request.form(max_files=2, max_fields=20_000) as form:
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                data = await value.read(MAX_UPLOAD_BYTES + 1)
                found[key] = Upload(value.filename or "", data)
            else:
                found[key] = value
    return found


class Console:
    """The services the pages use, the session checker (None: no sign-in), and the
    guard every route goes through."""

    def __init__(self, services: ConsoleServices, auth: ConsoleAuth | None) -> None:
        self.services, self.auth = services, auth

    def user(self, request: Request) -> User | None:
        if self.auth is None:
            return OPEN_USER
        return self.auth.user(request.cookies.get(COOKIE))

    def route(
        self, path: str, handler: Handler, operation: str, methods: tuple[str, ...] = ("GET",)
    ) -> Route:
        """``handler`` at ``PREFIX + path`` for users whose policy allows ``operation``."""

        async def endpoint(request: Request) -> Response:
            user = await run_in_threadpool(self.user, request)
            if user is None:
                if request.method == "GET" and not is_htmx(request):
                    query = request.url.query
                    target = quote(request.url.path + (f"?{query}" if query else ""))
                    return RedirectResponse(f"{PREFIX}/signin?next={target}", status_code=303)
                return Response(
                    "sign in first", status_code=401, headers={"HX-Redirect": f"{PREFIX}/signin"}
                )
            form: Form = {}
            if request.method == "POST":
                if not same_origin(request):
                    return Response("cross-origin request refused", status_code=403)
                try:
                    form = await _read_form(request)
                except ClientDisconnect:  # htmx dropped it for a newer one: nobody to answer
                    return Response("client disconnected", status_code=400)
            if not user.allows(operation):
                return forbidden(user, operation)
            return await run_in_threadpool(handler, request, user, form)

        return Route(PREFIX + path, endpoint, methods=list(methods))


def console_routes(services: ConsoleServices, auth: ConsoleAuth | None) -> list[BaseRoute]:
    """Every route of the console, for ``create_app``'s ``extra_routes``."""
    from tunelab.console import jobs_pages, signin_pages, training_pages, wizard_pages

    console = Console(services, auth)

    async def plotly_js(request: Request) -> Response:
        return FileResponse(
            PLOTLY_JS, media_type="text/javascript", headers={"Cache-Control": "max-age=86400"}
        )

    async def home(request: Request) -> Response:
        return RedirectResponse(f"{PREFIX}/", status_code=302)

    return [
        Route("/", home, methods=["GET"]),
        Route(PREFIX, home, methods=["GET"]),
        Route(f"{PREFIX}/static/plotly.min.js", plotly_js, methods=["GET"]),
        Mount(f"{PREFIX}/static", app=StaticFiles(directory=STATIC), name="console-static"),
        *signin_pages.routes(console),
        *jobs_pages.routes(console),
        *training_pages.routes(console),
        *wizard_pages.routes(console),
    ]
