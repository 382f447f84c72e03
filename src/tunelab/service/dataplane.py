"""The data side of a tunelab installation: the :class:`DataPlane` its executors use (the
local object store or an S3 endpoint, the key store, the role rules) and the create-time
checks of a definition against the roles (``RoleArn``) and the key store (``KmsKeyId``)."""

from __future__ import annotations

from collections.abc import Iterator

from tunelab.domain.definition import TrainingJobDefinition
from tunelab.domain.errors import Violation
from tunelab.domain.paths import definition_path
from tunelab.domain.tuning_job import TuningJobSpec
from tunelab.execution.outputs import kms_key_of
from tunelab.execution.script_mode import SUBMIT_DIRECTORY, is_script_mode, script_of
from tunelab.execution.storage import DataPlane, clash_message, object_in_the_way
from tunelab.execution.uris import UnsafeS3Uri, local_path
from tunelab.service.kms import KeyStore
from tunelab.service.roles import Roles, authorizer
from tunelab.service.settings import Settings


def key_store(settings: Settings) -> KeyStore:
    return KeyStore(settings.home, settings.region, settings.account)


def data_plane(settings: Settings, s3_root: str | None = None) -> DataPlane:
    """How this installation's executors reach data (``s3_root`` overrides the settings')."""
    root = s3_root if s3_root is not None else settings.s3_root
    return DataPlane(
        s3_root=root,
        s3_endpoint=None if root else settings.s3_endpoint,
        kms=key_store(settings).data_key,
        authorize=authorizer(settings.home),
    )


def spec_problems(spec: TuningJobSpec, settings: Settings) -> list[Violation]:
    """Role and key problems of every definition of a tuning job."""
    found: list[Violation] = []
    for index, definition in enumerate(spec.definitions):
        found += definition_problems(definition, definition_path(spec, index), settings)
    return found


def definition_problems(
    definition: TrainingJobDefinition, where: str, settings: Settings
) -> list[Violation]:
    """``where``: the definition's field path (empty for a ``CreateTrainingJob`` request)."""
    prefix = f"{where}." if where else ""
    found = list(_key_problems(definition, prefix, settings))
    found += _store_problems(definition, prefix, settings)
    roles = Roles.load(settings.home)
    if roles is not None:
        found += _role_problems(definition, prefix, where, roles)
    return found


def _key_problems(
    definition: TrainingJobDefinition, prefix: str, settings: Settings
) -> Iterator[Violation]:
    key_id = kms_key_of(definition)
    if key_id and key_store(settings).find(key_id) is None:
        yield Violation(
            f"{prefix}OutputDataConfig.KmsKeyId",
            f"no key {key_id!r} in tunelab's key store (create one with "
            "`tunelab kms create-key NAME`, list them with `tunelab kms list`)",
        )


def _store_problems(
    definition: TrainingJobDefinition, prefix: str, settings: Settings
) -> Iterator[Violation]:
    """An output or checkpoint location below an object of the local object store (which
    keeps keys as files, so ``s3://b/k`` cannot be an object and a prefix at once)."""
    locations = [("OutputDataConfig.S3OutputPath", definition.output_path)]
    if definition.checkpoint is not None:
        locations.append(("CheckpointConfig.S3Uri", definition.checkpoint.uri))
    for field, uri in locations:
        if not uri.startswith("s3://") or settings.s3_root is None:
            continue
        try:
            path = local_path(uri.rstrip("/"), settings.s3_root)
        except UnsafeS3Uri:
            continue  # refused with its reason by capabilities.py
        held = object_in_the_way(path or "", uri.rstrip("/"))
        if held is not None:
            yield Violation(f"{prefix}{field}", clash_message(uri, f"the object {held}"))


def _role_problems(
    definition: TrainingJobDefinition, prefix: str, where: str, roles: Roles
) -> Iterator[Violation]:
    role = definition.role_arn
    if roles.role(role) is None:
        yield Violation(f"{prefix}RoleArn", f"role {role} is not defined in {roles.path}")
        return
    for i, channel in enumerate(definition.channels):
        denied = roles.check(role, channel.uri, "read")
        if denied:
            yield Violation(f"{prefix}InputDataConfig[{i}]", f"channel '{channel.name}': {denied}")
    denied = roles.check(role, definition.output_path, "write")
    if denied:
        yield Violation(f"{prefix}OutputDataConfig.S3OutputPath", denied)
    if definition.checkpoint is not None:
        denied = roles.check(role, definition.checkpoint.uri, "write")
        if denied:
            yield Violation(f"{prefix}CheckpointConfig.S3Uri", denied)
    image, static = definition.training_image, definition.static_hyperparameters
    submit = script_of(static)[1]
    if submit and is_script_mode(image, static):
        denied = roles.check(role, submit, "read")
        if denied:
            field = "StaticHyperParameters" if where else "HyperParameters"
            yield Violation(f"{prefix}{field}.{SUBMIT_DIRECTORY}", denied)
