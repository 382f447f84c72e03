"""The training job page names the model artifact Describe names: the prefix of the
uncompressed files when OutputDataConfig.CompressionType is NONE."""

from __future__ import annotations

from tests.console.conftest import Console
from tests.console.jobs import add_training_jobs
from tests.console.server import request


def test_uncompressed_output_shows_the_model_prefix(console: Console) -> None:
    document = request(console.home / "runs.log", "plain-output")
    document["TrainingJobDefinition"]["OutputDataConfig"]["CompressionType"] = "NONE"
    console.services.tuning.create(document)
    add_training_jobs(console.store, "plain-output", 1)
    job = console.services.tuning.training_jobs_of("plain-output")[0]
    page = console.client.get(f"/console/training-jobs/{job.name}")
    assert page.status_code == 200
    assert f"/{job.name}/output/model/" in page.text
    assert f"/{job.name}/output/model.tar.gz" not in page.text
