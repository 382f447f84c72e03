"""``tunelab kms create-key|list`` (the key store behind ``OutputDataConfig.KmsKeyId``) and
``tunelab artifacts get`` (a job's artifacts, decrypted)."""

from __future__ import annotations

from typing import Annotated

import typer

from tunelab.cli.app import (
    DESTINATION_HELP,
    app,
    err,
    errors_as_exit_codes,
    local_destination,
    out,
)
from tunelab.cli.render import short_time
from tunelab.cli.stored_secrets import check_master_key

kms_app = typer.Typer(help="Keys for OutputDataConfig.KmsKeyId (encrypted artifacts).")
app.add_typer(kms_app, name="kms")
artifacts_app = typer.Typer(help="Training job artifacts (model.tar.gz, output.tar.gz).")
app.add_typer(artifacts_app, name="artifacts")


def _keys():  # the key store of the configured home
    from tunelab.service.dataplane import key_store
    from tunelab.service.settings import Settings

    settings = Settings.from_env()
    settings.home.mkdir(parents=True, exist_ok=True)
    return key_store(settings)


@kms_app.command("create-key")
def create_key(
    name: Annotated[str, typer.Argument(help="The key's alias: KmsKeyId alias/NAME names it.")],
) -> None:
    """Create a 256-bit AES key, stored encrypted with the master key (refused when that
    key cannot decrypt the secrets already stored)."""
    with errors_as_exit_codes():
        check_master_key()
        key = _keys().create(name)
    out.print(f"KeyId: {key.key_id}", highlight=False, soft_wrap=True)
    out.print(f"KeyArn: {key.arn}", highlight=False, soft_wrap=True)
    out.print(f"Alias: {key.alias}", highlight=False, soft_wrap=True)


@kms_app.command("list")
def list_keys() -> None:
    """List the keys: id, alias, ARN, creation time (never the key material)."""
    with errors_as_exit_codes():
        keys = _keys().list()
    for key in keys:
        out.print(
            f"{key.key_id}  {key.alias}  {key.arn}  {short_time(key.creation_time)}",
            highlight=False,
            soft_wrap=True,
        )
    if not keys:
        err.print("No keys; create one with `tunelab kms create-key NAME`.")


@artifacts_app.command("get")
def get_artifact(
    uri: Annotated[str, typer.Argument(help="e.g. s3://bucket/out/JOB/output/model.tar.gz")],
    destination: Annotated[str, typer.Argument(help=DESTINATION_HELP)],
) -> None:
    """Copy an artifact here, decrypting it if it was written with a KmsKeyId."""
    from tunelab.service.artifacts import fetch_artifact
    from tunelab.service.settings import Settings

    target = local_destination(destination)
    if target.is_dir():
        target = target / uri.rstrip("/").rsplit("/", 1)[-1]
    with errors_as_exit_codes():
        written, key_id = fetch_artifact(uri, target, Settings.from_env())
    how = f" (decrypted with {key_id})" if key_id else ""
    out.print(f"{written}{how}", highlight=False, soft_wrap=True)
