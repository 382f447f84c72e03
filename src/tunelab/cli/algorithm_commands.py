"""``tunelab algorithms list|describe|register``: the built-in algorithms' metadata
(SageMaker's ``TrainingSpecification`` plus recommended tuning ranges) and the
algorithms registered with tunelab (``CreateAlgorithm``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from tunelab.algorithms import catalog, images
from tunelab.algorithms.spec import (
    AlgorithmSpec,
    interval,
    recommended_ranges,
    training_specification,
)
from tunelab.cli.app import AsJson, app, backend, err, errors_as_exit_codes, out
from tunelab.cli.jobfile import read_document
from tunelab.cli.render import named_rows_table, print_json, short_time

algorithms_app = typer.Typer(
    help="Built-in algorithms and algorithms registered with tunelab (CreateAlgorithm).",
    no_args_is_help=True,
)
app.add_typer(algorithms_app, name="algorithms")


def describe_builtin(spec: AlgorithmSpec) -> dict[str, Any]:
    """A built-in as ``DescribeAlgorithm`` shows an algorithm, with its images and
    ``RecommendedParameterRanges`` (a ``ParameterRanges`` document)."""
    return {
        "AlgorithmName": spec.name,
        "AlgorithmDescription": spec.description,
        "AlgorithmStatus": "Completed",
        "TrainingSpecification": training_specification(spec, f"tunelab/{spec.name}"),
        "RecommendedParameterRanges": recommended_ranges(spec),
        "TrainingImages": [f"tunelab/{spec.name}", *images.sagemaker_images(spec.name)],
        "Program": f"python -m {spec.module} train",
    }


@algorithms_app.command("list")
def list_algorithms(as_json: AsJson = False) -> None:
    """The built-in algorithms and those registered with `tunelab algorithms register`."""
    with backend(None) as local:
        registered = local.service.algorithms.list()  # type: ignore[union-attr]
    rows = [
        {
            "AlgorithmName": spec.name,
            "Kind": "built-in",
            "TrainingImage": f"tunelab/{spec.name}",
            "AlgorithmDescription": spec.title,
            "ObjectiveMetrics": len(spec.objectives),
        }
        for spec in catalog.BUILTINS.values()
    ]
    for algorithm in registered:
        training = algorithm.document.get("TrainingSpecification", {})
        rows.append(
            {
                "AlgorithmName": algorithm.name,
                "Kind": "registered",
                "TrainingImage": training.get("TrainingImage"),
                "AlgorithmDescription": algorithm.document.get("AlgorithmDescription", ""),
                "ObjectiveMetrics": len(training.get("SupportedTuningJobObjectiveMetrics", [])),
                "CreationTime": algorithm.creation_time,
            }
        )
    if as_json:
        print_json(out, {"Algorithms": rows})
        return
    table = named_rows_table(
        "Name", "Kind", "TrainingImage", "Objectives", "Description", "Created"
    )
    for row in rows:
        created = short_time(row["CreationTime"]) if "CreationTime" in row else "-"
        table.add_row(
            row["AlgorithmName"],
            row["Kind"],
            str(row["TrainingImage"]),
            str(row["ObjectiveMetrics"]),
            row["AlgorithmDescription"],
            created,
        )
    out.print(table)


@algorithms_app.command("describe")
def describe(
    name: Annotated[str, typer.Argument(help="A built-in (xgboost...) or registered name.")],
    as_json: AsJson = False,
) -> None:
    """Hyperparameters (types, valid and recommended ranges, defaults), objective metrics,
    metric definitions and channels of an algorithm."""
    spec = catalog.get(name)
    if spec is None:
        with backend(None) as local:
            algorithm = local.service.algorithms.get(name)  # type: ignore[union-attr]
        document = {"CreationTime": algorithm.creation_time, **algorithm.document}
        print_json(out, document)
        return
    if as_json:
        print_json(out, describe_builtin(spec))
        return
    _print_builtin(spec)


def _print_builtin(spec: AlgorithmSpec) -> None:
    out.print(Text(spec.title, "bold"), f" ({spec.name}): {spec.description}", sep="")
    out.print(f"Program: python -m {spec.module} train", highlight=False)
    shown = ", ".join([f"tunelab/{spec.name}", *images.sagemaker_images(spec.name)])
    out.print(f"TrainingImage: {shown} (and SageMaker's other regions)", highlight=False)
    table = named_rows_table(
        "Hyperparameter", "Type", "Valid values", "Default", "Required", "Recommended"
    )
    for hp in spec.hyperparameters:
        if hp.values:
            valid = ", ".join(v for v in hp.values if v not in hp.unavailable)
        elif hp.type in ("Integer", "Continuous"):
            valid = interval(hp) + "".join(f" or {word}" for word in hp.special)
        else:
            valid = "text"
        rec = hp.recommended
        if rec is None:
            recommended = "-" if not hp.tunable else "tunable"
        elif rec.values:
            recommended = ", ".join(rec.values)
        else:
            recommended = f"{rec.low} .. {rec.high} ({rec.scaling})"
        table.add_row(
            hp.name,
            hp.type,
            valid,
            hp.default or "-",
            "yes" if hp.required else "",
            recommended,
        )
    out.print(table)
    objectives = named_rows_table("Objective metric", "Direction", "Regex")
    for metric in spec.objectives:
        objectives.add_row(metric.name, str(metric.direction), metric.regex)
    out.print(objectives)
    channels = named_rows_table("Channel", "Required", "Content types")
    for channel in spec.channels:
        types = ", ".join(channel.content_types) or "any"
        channels.add_row(channel.name, "yes" if channel.required else "", types)
    out.print(channels)


def load_algorithm_file(path: Path) -> dict[str, Any]:
    """A ``CreateAlgorithm`` request from JSON or YAML (read as a job file is); a
    ``file:relative`` TrainingImage is relative to the file's folder."""
    document = read_document(path, "a CreateAlgorithm request is one object")
    training = document.get("TrainingSpecification")
    image = training.get("TrainingImage") if isinstance(training, dict) else None
    if isinstance(image, str) and image.startswith("file:") and not image.startswith("file:/"):
        training["TrainingImage"] = (path.resolve().parent / image[5:]).resolve().as_uri()
    return document


@algorithms_app.command("register")
def register(
    file: Annotated[Path, typer.Argument(help="A CreateAlgorithm request (JSON or YAML).")],
) -> None:
    """Register an algorithm (the local counterpart of SageMaker's CreateAlgorithm); job
    definitions then name it with AlgorithmSpecification.AlgorithmName."""
    with errors_as_exit_codes():
        document = load_algorithm_file(file)
    with backend(None) as local:
        algorithm = local.service.algorithms.create(document)  # type: ignore[union-attr]
    image = algorithm.document["TrainingSpecification"].get("TrainingImage")
    err.print(f"registered {algorithm.name} ({image})", highlight=False)
    out.print(json.dumps({"AlgorithmName": algorithm.name}), highlight=False)
