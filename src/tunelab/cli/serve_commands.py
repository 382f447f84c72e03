"""``tunelab serve`` and ``tunelab access-keys``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tunelab.cli.app import (
    DESTINATION_HELP,
    ERROR,
    WARNING,
    app,
    err,
    errors_as_exit_codes,
    local_destination,
    out,
)
from tunelab.cli.render import short_time
from tunelab.cli.stored_secrets import home_access_keys

if TYPE_CHECKING:
    from starlette.routing import BaseRoute

    from tunelab.api.app import Services
    from tunelab.service.access_keys import AccessKeyService

keys_app = typer.Typer(help="API credentials for `tunelab serve` (SigV4, as AWS uses).")
app.add_typer(keys_app, name="access-keys")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8080,
    no_auth: Annotated[
        bool, typer.Option("--no-auth", help="Accept unsigned requests (loopback only).")
    ] = False,
) -> None:
    """Serve SageMaker's API (boto3, the AWS CLI and the SageMaker SDK work against
    it) and run every tuning job in the background.

    Refuses (exit 2) a master key, TUNELAB_MASTER_KEY or $TUNELAB_HOME/master.key, that
    cannot decrypt every secret already stored (access keys and KMS keys)."""
    from tunelab.api.app import create_app
    from tunelab.api.auth import Authenticator
    from tunelab.api.server import build_services, is_loopback, run_server

    if no_auth and not is_loopback(host):
        err.print(
            ERROR,
            f": --no-auth is only allowed on a loopback address; "
            f"{host!r} is reachable from other machines",
            highlight=False,
            sep="",
        )
        raise typer.Exit(2)
    unavailable = _cannot_listen(host, port)
    if unavailable:  # said before the scheduler resumes any tuning job
        option, reason = unavailable
        err.print(ERROR, f": {option}: cannot listen on {host}:{port}: {reason}", sep="")
        raise typer.Exit(2)
    # a wrong TUNELAB_MASTER_KEY is refused here, not request by request
    with errors_as_exit_codes(), home_access_keys(verify_master_key=True) as opened:
        settings, store, keys = opened
        authenticate = None if no_auth else Authenticator(keys)
        if authenticate is not None and not keys.list():
            err.print(
                WARNING,
                ": no access keys yet; create one with `tunelab access-keys create`",
                highlight=False,
                sep="",
            )
        services = build_services(settings, store)
        app_ = create_app(services, authenticate, console_routes_for(services, keys, no_auth))
        err.print(
            f"tunelab serving on http://{host}:{port} (console: /console/) "
            f"({'no authentication' if no_auth else 'SigV4 authentication'}); "
            f"data in {settings.home}",
            highlight=False,
        )
        scheduler = services.scheduler
        run_server(app_, host, port, scheduler.wind_down if scheduler else None)


def _cannot_listen(host: str, port: int) -> tuple[str, str] | None:
    """The option to blame (``--host`` or ``--port``) and why the server could not
    listen on ``host:port``, or None when it can: a socket bound as uvicorn binds it
    (``SO_REUSEADDR``), then closed. ``--host`` when it names no address or no interface
    of this machine; ``--port`` when the port is taken or needs privileges."""
    import errno
    import socket

    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        return "--host", str(error.strerror)
    family, kind, protocol, _, address = found[0]
    with socket.socket(family, kind, protocol) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            option = "--host" if error.errno == errno.EADDRNOTAVAIL else "--port"
            return option, str(error.strerror or error)
    return None


def console_routes_for(
    services: Services, keys: AccessKeyService, no_auth: bool
) -> list[BaseRoute]:
    """The web console's routes (under /console): sign-in with an access key unless
    ``no_auth``; a signed-in key may do what its API policy allows."""
    from tunelab.api.policy import Policy
    from tunelab.console.app import ConsoleServices, console_routes
    from tunelab.console.session import ConsoleAuth, session_key

    auth = None
    if not no_auth:
        auth = ConsoleAuth(
            keys,
            lambda policy, operation: Policy.parse(policy).allows(operation),
            session_key(services.settings.home),
        )
    console = ConsoleServices(
        services.settings,
        services.tuning,
        services.training,
        services.algorithms,
        services.scheduler,
    )
    return console_routes(console, auth)


@keys_app.command("create")
def create_key(
    access_key_id: Annotated[
        str | None, typer.Option(help="The id (generated if omitted).")
    ] = None,
    secret_access_key: Annotated[
        str | None, typer.Option(help="The secret (generated if omitted).")
    ] = None,
    policy: Annotated[
        str, typer.Option(help="full, read-only, or operation names separated by commas.")
    ] = "full",
) -> None:
    """Create an access key; its secret is printed once.

    Refused (exit 2) when the master key, TUNELAB_MASTER_KEY or $TUNELAB_HOME/master.key,
    cannot decrypt every secret already stored (access keys and KMS keys)."""
    from tunelab.api.policy import Policy, PolicyError

    try:
        parsed = Policy.parse(policy)
    except PolicyError as error:
        err.print(ERROR, f": --policy: {error}", highlight=False, sep="")
        raise typer.Exit(2) from None
    with errors_as_exit_codes(), home_access_keys(verify_master_key=True) as (_, _, keys):
        key, secret = keys.create(str(parsed), access_key_id, secret_access_key)
    out.print(f"AWS_ACCESS_KEY_ID={key.access_key_id}", highlight=False)
    out.print(f"AWS_SECRET_ACCESS_KEY={secret}", highlight=False)
    err.print(f"policy: {key.policy} (the secret is not shown again)", highlight=False)


@keys_app.command("list")
def list_keys() -> None:
    """List access keys and their policies (never their secrets)."""
    with errors_as_exit_codes(), home_access_keys() as (_, _, keys):
        found = keys.list()
    for key in found:
        out.print(
            f"{key.access_key_id}  {key.policy}  {short_time(key.creation_time)}", highlight=False
        )
    if not found:
        err.print("No access keys.")


@keys_app.command("delete")
def delete_key(access_key_id: Annotated[str, typer.Argument(help="The key to delete.")]) -> None:
    """Delete an access key; requests signed with it are refused within 5 seconds (a
    server keeps a verified key that long)."""
    with errors_as_exit_codes(), home_access_keys() as (_, _, keys):
        keys.delete(access_key_id)
    out.print(f"deleted {access_key_id}", highlight=False)


data_app = typer.Typer(help="tunelab's local object store, where s3:// locations live.")
app.add_typer(data_app, name="data")


def _objects():  # the store of the configured home
    from pathlib import Path

    from tunelab.service.object_store import LocalObjectStore
    from tunelab.service.settings import Settings

    settings = Settings.from_env()
    if settings.s3_root is None:
        err.print(
            ERROR,
            ": AWS_ENDPOINT_URL_S3 is set: s3:// names a real S3 "
            "endpoint, not tunelab's local object store",
            highlight=False,
            sep="",
        )
        raise typer.Exit(2)
    return LocalObjectStore(Path(settings.s3_root))


@data_app.command("put")
def data_put(
    source: Annotated[Path, typer.Argument(help="A local file or folder.")],
    uri: Annotated[str, typer.Argument(help="s3://bucket/key (or prefix/).")],
) -> None:
    """Copy local data into the object store."""
    with errors_as_exit_codes():
        written = _objects().put(source, uri)
    for item in written:
        out.print(item, highlight=False)


@data_app.command("ls")
def data_ls(uri: Annotated[str, typer.Argument(help="s3://bucket/prefix")]) -> None:
    """List the objects at or under a location."""
    with errors_as_exit_codes():
        found = _objects().list(uri)
    for item, size in found:
        out.print(f"{size:>12}  {item}", highlight=False)


@data_app.command("get")
def data_get(
    uri: Annotated[str, typer.Argument(help="s3://bucket/key or prefix")],
    destination: Annotated[str, typer.Argument(help=DESTINATION_HELP)],
) -> None:
    """Copy objects out of the object store (e.g. a model.tar.gz)."""
    target = local_destination(destination)
    with errors_as_exit_codes():
        copied = _objects().get(uri, target)
    for item in copied:
        out.print(str(item), highlight=False)
