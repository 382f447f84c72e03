"""Create-time channel checks (channel_checks.py) that staging could not get past."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.factories import make_document
from tunelab.domain.errors import ValidationError
from tunelab.service.settings import Settings
from tunelab.service.tuning import TuningService
from tunelab.store.sql.store import SqlStore

PROGRAM = Path(__file__).resolve().parents[1] / "e2e" / "programs" / "epochs.py"
WHERE = "TrainingJobDefinition"


@pytest.fixture
def service(tmp_path: Path) -> Iterator[TuningService]:
    store = SqlStore(f"sqlite:///{tmp_path / 'db.sqlite'}")
    yield TuningService(Settings(home=tmp_path, database_url=store.url), store)
    store.close()


def efs(directory: Path, **extra: Any) -> dict[str, Any]:
    source = {
        "FileSystemId": "fs-0123456789abcdef0",
        "FileSystemAccessMode": "ro",
        "FileSystemType": "EFS",
        "DirectoryPath": str(directory),
    }
    return {"ChannelName": "images", "DataSource": {"FileSystemDataSource": source}, **extra}


def request(mode: str, *channels: dict[str, Any]) -> dict[str, Any]:
    document = make_document(image=f"file://{PROGRAM}")
    document[WHERE]["AlgorithmSpecification"]["TrainingInputMode"] = mode
    document[WHERE]["InputDataConfig"] = list(channels)
    return document


def errors(service: TuningService, document: dict[str, Any]) -> list[str]:
    with pytest.raises(ValidationError) as error:
        service.validate(document)
    return [str(v) for v in error.value.violations]


def test_a_file_system_channel_is_not_streamed_in_pipe_mode(
    service: TuningService, tmp_path: Path
) -> None:
    assert errors(service, request("File", efs(tmp_path, InputMode="Pipe"))) == [
        f"{WHERE}.InputDataConfig[0]: channel 'images': Pipe input mode (InputMode) streams "
        "S3DataSource channels only; a FileSystemDataSource is mounted in place as a "
        "directory (File or FastFile)"
    ]
    assert errors(service, request("Pipe", efs(tmp_path))) == [
        f"{WHERE}.InputDataConfig[0]: channel 'images': Pipe input mode "
        "(AlgorithmSpecification.TrainingInputMode) streams S3DataSource channels only; a "
        "FileSystemDataSource is mounted in place as a directory (File or FastFile)"
    ]
    for mode in ("File", "FastFile"):
        service.validate(request("Pipe", efs(tmp_path, InputMode=mode)))
        service.validate(request(mode, efs(tmp_path)))
