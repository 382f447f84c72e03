"""``tunelab clone NAME``: write an existing tuning job's request to a file to edit
and run (the console's Clone, for the command line), or with ``-o -`` to standard
output (the JSON alone: warnings go to standard error)."""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from tunelab.cli.app import (
    ERROR,
    WARNING,
    Endpoint,
    app,
    backend,
    err,
    errors_as_exit_codes,
    local_destination,
    out,
)
from tunelab.cli.backend import LocalBackend, RemoteBackend
from tunelab.domain.definition import TUNING_OBJECTIVE_HYPERPARAMETER
from tunelab.domain.enums import WarmStartType
from tunelab.domain.errors import TunelabError, ValidationError, raise_for
from tunelab.domain.sagemaker_model import input_shape
from tunelab.domain.shape_check import check_shape
from tunelab.store.sql.tags import TUNING_JOB

CREATE = "CreateHyperParameterTuningJob"
MAX_NAME = 32


def check_new_name(name: str) -> None:
    """``ValidationError`` when ``name`` breaks SageMaker's rule for a tuning job's
    name (the service model's length and pattern), with the message ``tunelab
    validate`` gives for the field in a job file."""
    field = "HyperParameterTuningJobName"
    raise_for(check_shape(name, input_shape(CREATE).members[field], field))


def clone_request(
    document: dict[str, Any],
    new_name: str,
    warm_start: WarmStartType | None = None,
    tags: list[tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """A copy of ``document`` named ``new_name``; with ``warm_start``, warm starting
    from the job ``document`` describes (which must have a single definition);
    ``tags`` (when given) replace the request's tags."""
    clone = copy.deepcopy(document)
    parent = clone.get("HyperParameterTuningJobName", "")
    clone["HyperParameterTuningJobName"] = new_name
    if tags is not None:
        if tags:
            clone["Tags"] = [{"Key": k, "Value": v} for k, v in tags]
        else:
            clone.pop("Tags", None)
    if warm_start is not None:
        if "TrainingJobDefinitions" in clone and len(clone["TrainingJobDefinitions"]) > 1:
            raise ValidationError(
                f"WarmStartConfig: warm start is only available for a job with a single training "
                f"job definition; {parent} has {len(clone['TrainingJobDefinitions'])}"
            )
        clone["WarmStartConfig"] = {
            "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": parent}],
            "WarmStartType": str(warm_start),
        }
    return clone


def request_from_description(wire: dict[str, Any]) -> dict[str, Any]:
    """The request a ``DescribeHyperParameterTuningJob`` response was created from,
    as near as the response tells: the request's members only, without the
    ``_tuning_objective_metric`` SageMaker adds to the static hyperparameters."""
    members = set(input_shape(CREATE).members)
    document = {k: copy.deepcopy(v) for k, v in wire.items() if k in members}
    definitions = list(document.get("TrainingJobDefinitions") or [])
    if "TrainingJobDefinition" in document:
        definitions.append(document["TrainingJobDefinition"])
    for definition in definitions:
        static = definition.get("StaticHyperParameters")
        if isinstance(static, dict):
            static.pop(TUNING_OBJECTIVE_HYPERPARAMETER, None)
            if not static:
                definition.pop("StaticHyperParameters")
    return document


def _request_and_tags(
    target: LocalBackend | RemoteBackend, name: str
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    if isinstance(target, LocalBackend):
        job = target.service.get(name)
        tags = target.service.store.tags.list(TUNING_JOB, job.name)
        return copy.deepcopy(dict(job.spec.document)), tags
    wire = target.describe(name)
    found = target._call("list_tags", ResourceArn=wire["HyperParameterTuningJobArn"])
    tags = [(t["Key"], t.get("Value", "")) for t in found.get("Tags", [])]
    return request_from_description(wire), tags


@app.command()
def clone(
    name: Annotated[str, typer.Argument(help="The tuning job to clone.")],
    new_name: Annotated[
        str | None, typer.Option("--new-name", help="The new job's name (default NAME-clone).")
    ] = None,
    warm_start: Annotated[
        bool, typer.Option("--warm-start", help="Warm start the new job from NAME.")
    ] = False,
    warm_start_type: Annotated[
        WarmStartType | None,
        typer.Option(
            help="The warm start type (only with --warm-start; default IdenticalDataAndAlgorithm)."
        ),
    ] = None,
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            help="The file to write, a folder for NEW.json (default NEW.json), or - for "
            "standard output.",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite the file.")] = False,
    endpoint: Endpoint = None,
) -> None:
    """Write a tuning job's CreateHyperParameterTuningJob request, renamed (and
    optionally warm starting from it), to a JSON file to edit and run."""
    if warm_start_type is not None and not warm_start:
        raise _usage("--warm-start-type: only with --warm-start")
    if new_name is not None:
        with errors_as_exit_codes():
            check_new_name(new_name)
    kind = (warm_start_type or WarmStartType.IDENTICAL_DATA_AND_ALGORITHM) if warm_start else None
    with backend(endpoint) as target:  # a tunelab error: its message and exit code
        document, tags = _request_and_tags(target, name)
        parent = document.get("HyperParameterTuningJobName", name)
        new = new_name or f"{parent[: MAX_NAME - len('-clone')]}-clone"
        cloned = clone_request(document, new, kind, tags)
        if output == "-":  # as curl -o - and aws s3 cp ... - do: the JSON alone, to pipe on
            sys.stdout.write(json.dumps(cloned, indent=2) + "\n")
            written = "the request"
        else:
            path = _write(cloned, _output_path(output, new), force)
            how = f", warm starting from {parent}" if warm_start else ""
            out.print(
                f"wrote {path} ({new}{how}); edit it, then: tunelab run {path}", highlight=False
            )
            written = str(path)
        if isinstance(target, LocalBackend):
            _warn_if_refused(target, cloned, written)


def _write(cloned: dict[str, Any], path: Path, force: bool) -> Path:
    """Write the request as JSON to ``path`` (an existing file only with ``force``)."""
    if path.exists() and not force:
        raise _usage(f"{path} exists; --force overwrites it")
    try:
        path.write_text(json.dumps(cloned, indent=2) + "\n", encoding="utf-8")
    except OSError as error:
        raise _usage(f"--output: cannot write {path}: {error.strerror or error}") from None
    return path


def _warn_if_refused(target: LocalBackend, cloned: dict[str, Any], written: str) -> None:
    """Run the create-time checks on the written request (the name's availability
    included) and print a refusal as a warning: the file is written all the same, to be
    edited as the message says (a parent still running may also end before it is run).
    Only locally: a server's jobs are checked by the server when the file is run."""
    try:
        target.service.validate(cloned, name_must_be_free=True)
    except TunelabError as error:
        err.print(
            WARNING,
            f": tunelab run would refuse {written} as it is ({error.code}): {error.message}",
            highlight=False,
            sep="",
        )


def _output_path(output: str | None, new_name: str) -> Path:
    """Where ``--output`` says to write: ``NEW.json`` here by default, or in the folder
    it names (an existing one, or one ending in ``/``, created here)."""
    if output is None:
        return Path(f"{new_name}.json")
    try:
        target = local_destination(output)
    except OSError as error:
        raise _usage(f"--output: cannot create the folder {output}: {error.strerror}") from None
    return target / f"{new_name}.json" if target.is_dir() else target


def _usage(message: str) -> typer.Exit:
    err.print(ERROR, f": {message}", highlight=False, sep="")
    return typer.Exit(2)
