"""Fixtures of the execution tests: a real S3 API (moto's server)."""

from tests.execution.s3server import s3, s3_server  # noqa: F401  (fixtures)
