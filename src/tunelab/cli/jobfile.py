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

import yaml

from tunelab.api.strict_json import TOO_DEEP, JsonRefused, check_document, load_strict, long_number
from tunelab.domain.errors import ValidationError
from tunelab.service.yaml12 import Yaml12Loader


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
    (:func:`_parse`); ``holds`` says what the file holds, for the error when it is not
    one object. Raises ``ValidationError`` naming the file (and the line and column of a
    syntax error)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValidationError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ValidationError(f"{path}: cannot be read: {error}") from None
    document = _parse(path, text)
    if not isinstance(document, dict):
        raise ValidationError(f"{path}: {holds}; found {type(document).__name__}")
    return document


def _parse(path: Path, text: str) -> Any:
    """The document in ``text``: RFC 8259 JSON (no ``NaN``/``Infinity``) or YAML, nested
    at most ``MAX_DEPTH`` levels, integers of a readable length (as the API takes them)."""
    if path.suffix.lower() == ".json" or (
        path.suffix.lower() not in (".yaml", ".yml") and text.lstrip().startswith("{")
    ):
        try:
            return load_strict(text)
        except JsonRefused as error:
            if error.syntax is not None:
                syntax = error.syntax
                raise ValidationError(
                    f"{path}:{syntax.lineno}:{syntax.colno}: not valid JSON: {syntax.msg}"
                ) from None
            raise ValidationError(f"{path}: {error.message('the file')}") from None
    try:
        document = yaml.load(text, Loader=_JobFileLoader)
    except RecursionError:
        raise ValidationError(f"{path}: the file {TOO_DEEP}") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = getattr(error, "problem", None) or str(error)
        raise ValidationError(f"{where}: not valid YAML: {problem}") from None
    try:
        check_document(document)
    except JsonRefused as error:
        raise ValidationError(f"{path}: {error.message('the file')}") from None
    return document


class _JobFileLoader(Yaml12Loader):
    """YAML's safe loader with YAML 1.2's scalars (:mod:`tunelab.service.yaml12`),
    refusing an integer too long to read at its line and column (Python's ``int`` raises
    a ``ValueError`` naming ``sys.set_int_max_str_digits``)."""

    def construct_yaml_int(self, node: yaml.ScalarNode) -> Any:
        try:
            return super().construct_yaml_int(node)
        except ValueError:
            digits = sum(c.isdigit() for c in str(node.value))
            raise yaml.constructor.ConstructorError(
                None, None, long_number(digits), node.start_mark
            ) from None


_JobFileLoader.add_constructor("tag:yaml.org,2002:int", _JobFileLoader.construct_yaml_int)


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
