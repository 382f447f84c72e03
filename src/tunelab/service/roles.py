"""``RoleArn`` -> what the role may read and write, from ``$TUNELAB_HOME/roles.yaml``:

```yaml
roles:
  data-scientist:                 # a role name: any RoleArn .../role/data-scientist
    read: [s3://datasets/, /srv/data]
    write: [s3://models/, s3://checkpoints/]
  arn:aws:iam::123456789012:role/admin:   # or a full ARN (wins over the name)
    read: ["*"]
    write: ["*"]
```

A location is allowed when it equals an entry or lies below it (``s3://datasets`` covers
``s3://datasets/x``; local paths and ``file://`` URIs are compared as absolute paths);
``"*"`` allows everything; a role may read what it may write. An ``s3://`` location with a
``.``, ``..`` or empty key segment is never allowed (it could leave the bucket). Without
``roles.yaml`` every role may read and write everything (so existing set-ups keep working);
with it, a role it does not list may do nothing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from threading import Lock
from typing import Any

from tunelab.domain.errors import ValidationError
from tunelab.execution.uris import local_path, s3_key_problem
from tunelab.service.documents import parse_document

ROLES_FILE = "roles.yaml"


@dataclass(frozen=True)
class Role:
    name: str
    read: tuple[str, ...]
    write: tuple[str, ...]


def _normal(location: str) -> str:
    if location == "*" or location.startswith("s3://"):
        return location
    path = local_path(location)
    return os.path.normpath(path) if path is not None else location


def _covers(entry: str, location: str) -> bool:
    if entry == "*":
        return True
    base = entry.rstrip("/")
    return location in (base, entry) or location.startswith(base + "/")


class Roles:
    """The roles of one ``roles.yaml`` (None from :meth:`load` when there is no file)."""

    def __init__(self, roles: Mapping[str, Role], path: str) -> None:
        self.roles, self.path = dict(roles), path

    @classmethod
    def parse(cls, document: Any, path: str) -> Roles:
        entries = (document or {}).get("roles") if isinstance(document, Mapping) else None
        if not isinstance(entries, Mapping):
            raise ValidationError(f"{path}: expected a mapping 'roles:' of role -> read/write")
        roles = {}
        for name, rules in entries.items():
            rules = rules or {}
            if not isinstance(rules, Mapping) or set(rules) - {"read", "write"}:
                raise ValidationError(f"{path}: role {name!r} takes only 'read' and 'write' lists")
            lists = []
            for key in ("read", "write"):
                value = rules.get(key) or []
                if isinstance(value, str) or not all(isinstance(v, str) for v in value):
                    raise ValidationError(
                        f"{path}: role {name!r}: {key} must be a list of strings"
                    )
                lists.append(tuple(_normal(v) for v in value))
            roles[str(name)] = Role(str(name), lists[0], lists[1])
        return cls(roles, path)

    @classmethod
    def load(cls, home: Path) -> Roles | None:
        """The home's ``roles.yaml`` (re-read when it changes), None when there is none."""
        path = Path(home) / ROLES_FILE
        try:
            stamp = path.stat().st_mtime_ns
        except FileNotFoundError:
            return None
        with _LOCK:
            cached = _CACHE.get(str(path))
            if cached is not None and cached[0] == stamp:
                return cached[1]
            document = parse_document(str(path), path.read_text())  # ValidationError
            roles = cls.parse(document, str(path))
            _CACHE[str(path)] = (stamp, roles)
            return roles

    def role(self, role_arn: str) -> Role | None:
        """The role an ARN names: by its full ARN, else by its name (after ``role/``)."""
        if role_arn in self.roles:
            return self.roles[role_arn]
        return self.roles.get(role_arn.rsplit("/", 1)[-1])

    def check(self, role_arn: str, location: str, access: str) -> str | None:
        """Why ``role_arn`` may not ``access`` ("read" | "write") ``location``, or None."""
        problem = s3_key_problem(location)
        if problem is not None:
            return f"role {role_arn} may not {access} {problem}"
        role = self.role(role_arn)
        if role is None:
            return f"role {role_arn} is not defined in {self.path}"
        allowed = role.write if access == "write" else role.read + role.write
        target = _normal(location)
        if any(_covers(entry, target) for entry in allowed):
            return None
        listed = ", ".join(allowed) or "nothing"
        return (
            f"role {role_arn} may not {access} {location} ({self.path} lets it {access}: {listed})"
        )


_LOCK = Lock()
_CACHE: dict[str, tuple[int, Roles]] = {}


def authorizer(home: Path):  # type: ignore[no-untyped-def]
    """A :data:`tunelab.execution.storage.Authorize` over the home's ``roles.yaml``."""

    def authorize(role_arn: str, location: str, access: str) -> str | None:
        roles = Roles.load(home)
        return None if roles is None else roles.check(role_arn, location, access)

    return authorize
