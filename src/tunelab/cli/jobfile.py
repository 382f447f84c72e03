"""Reading a tuning job file (JSON or YAML, SageMaker's request shape).

Local references written as ``file:relative/path`` (no ``//``) are relative to the
job file's folder and are rewritten to absolute ``file:///`` URIs, so a job file
and its programs and data can live together anywhere: ``TrainingImage``, data
channel ``S3Uri``, ``OutputDataConfig.S3OutputPath`` and ``CheckpointConfig.S3Uri``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tunelab.domain.errors import ValidationError
from tunelab.service.documents import parse_document


def load_job_file(path: str | Path) -> dict[str, Any]:
    """The request in ``path`` with relative local references made absolute.
    Raises ``ValidationError`` naming the file, line and column of a syntax error."""
    path = Path(path)
    holds = "a tuning job file holds one object (CreateHyperParameterTuningJob's request)"
    document = read_document(path, holds)
    resolve_local_references(document, path.resolve().parent)
    return document


def read_document(path: Path, holds: str) -> dict[str, Any]:
    """The object in the JSON or YAML file ``path``, read as requests over the API are
    (:func:`~tunelab.service.documents.parse_document`); ``holds`` says what the file
    holds, for the error when it is not one object. Raises ``ValidationError`` naming the
    file (and the line and column of a syntax error)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValidationError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ValidationError(f"{path}: cannot be read: {error}") from None
    document = parse_document(str(path), text)
    if not isinstance(document, dict):
        raise ValidationError(f"{path}: {holds}; found {type(document).__name__}")
    return document


def _absolute(uri: Any, base: Path) -> Any:
    if isinstance(uri, str) and uri.startswith("file:") and not uri.startswith("file:/"):
        relative = uri[len("file:") :]
        absolute = os.path.normpath(base / relative)
        if relative.endswith("/"):
            absolute += "/"
        return "file://" + absolute
    return uri


def _child(node: Any, key: str) -> Any:
    return node.get(key) if isinstance(node, dict) else None


def resolve_local_references(document: dict[str, Any], base: Path) -> None:
    """Rewrite ``file:relative`` references in place (see the module docstring)."""
    definitions = []
    if isinstance(document.get("TrainingJobDefinition"), dict):
        definitions.append(document["TrainingJobDefinition"])
    if isinstance(document.get("TrainingJobDefinitions"), list):
        definitions += [d for d in document["TrainingJobDefinitions"] if isinstance(d, dict)]
    for definition in definitions:
        for parent, key in (
            (_child(definition, "AlgorithmSpecification"), "TrainingImage"),
            (_child(definition, "OutputDataConfig"), "S3OutputPath"),
            (_child(definition, "CheckpointConfig"), "S3Uri"),
        ):
            if isinstance(parent, dict) and key in parent:
                parent[key] = _absolute(parent[key], base)
        channels = definition.get("InputDataConfig")
        for channel in channels if isinstance(channels, list) else ():
            source = _child(_child(channel, "DataSource"), "S3DataSource")
            if isinstance(source, dict) and "S3Uri" in source:
                source["S3Uri"] = _absolute(source["S3Uri"], base)
