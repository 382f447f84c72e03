"""Sign-in and sign-out (only when the server runs with authentication)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from tunelab.console.app import Console, same_origin
from tunelab.console.session import COOKIE
from tunelab.console.templating import PREFIX, render


def _next(target: str | None) -> str:
    """Where to go after sign-in: a console path of this server only."""
    if target and target.startswith(f"{PREFIX}/") and not target.startswith("//"):
        return target
    return f"{PREFIX}/"


def routes(console: Console) -> list[BaseRoute]:
    async def signin_form(request: Request) -> Response:
        if console.auth is None:
            return RedirectResponse(f"{PREFIX}/", status_code=303)
        return render("signin.html", next=_next(request.query_params.get("next")), error=None)

    async def signin(request: Request) -> Response:
        auth = console.auth
        if auth is None:
            return RedirectResponse(f"{PREFIX}/", status_code=303)
        if not same_origin(request):
            return Response("cross-origin request refused", status_code=403)
        async with request.form(max_files=0, max_fields=10) as form:
            key_id, secret = str(form.get("access_key_id", "")), str(form.get("secret", ""))
            target = _next(str(form.get("next", "")))
        cookie = await run_in_threadpool(auth.sign_in, key_id, secret)
        if cookie is None:
            return render(
                "signin.html",
                status_code=401,
                next=target,
                error="The access key id or the secret access key is not valid.",
                access_key_id=key_id,
            )
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(
            COOKIE,
            cookie,
            max_age=int(auth.session_seconds),
            path="/",
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
        return response

    async def signout(request: Request) -> Response:
        response = RedirectResponse(f"{PREFIX}/signin", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    return [
        Route(f"{PREFIX}/signin", signin_form, methods=["GET"]),
        Route(f"{PREFIX}/signin", signin, methods=["POST"]),
        Route(f"{PREFIX}/signout", signout, methods=["POST"]),
    ]
