"""The SageMaker Python SDK v3 against a real ``tunelab serve``: v3 needs botocore older
than the project's, so it lives in its own virtual environment, named by
``TUNELAB_SAGEMAKER_V3_PYTHON`` (its ``python``); the test is skipped without it. Make one
(about 3 minutes, from PyPI):

    python -m venv /tmp/sm3
    /tmp/sm3/bin/pip install sagemaker "boto3<1.43.118" "botocore<1.43.118"
    TUNELAB_SAGEMAKER_V3_PYTHON=/tmp/sm3/bin/python pytest tests/api/test_sagemaker_sdk_v3.py

v3 ignores a ``sagemaker_client`` given to its session; ``AWS_ENDPOINT_URL_SAGEMAKER``
(botocore's per-service endpoint) is the route, with the access key in the environment
and ``SAGEMAKER_VALIDATE_ROLE=false`` (else it asks IAM about the role)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.api import jobs
from tests.api.conftest import FULL_KEY, wait_tuning_job
from tests.api.serve import Serve, create_key
from tunelab.service.object_store import LocalObjectStore

V3_PYTHON = os.environ.get("TUNELAB_SAGEMAKER_V3_PYTHON")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not V3_PYTHON, reason="TUNELAB_SAGEMAKER_V3_PYTHON (a python with sagemaker>=3) not set"
    ),
]


def test_sdk_v3_tunes_against_tunelab(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    create_key(home)
    data = tmp_path / "train.csv"
    data.write_text("1,2\n3,4\n")
    LocalObjectStore(home / "s3").put(data, "s3://sdk-bucket/train/")
    server = Serve(home)
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(
            AWS_ENDPOINT_URL_SAGEMAKER=server.url,
            AWS_ACCESS_KEY_ID=FULL_KEY[0],
            AWS_SECRET_ACCESS_KEY=FULL_KEY[1],
            AWS_DEFAULT_REGION="us-east-1",
            AWS_EC2_METADATA_DISABLED="true",
            SAGEMAKER_VALIDATE_ROLE="false",
        )
        probe = Path(__file__).parent / "programs" / "sdk_v3_probe.py"
        result = subprocess.run(
            [str(V3_PYTHON), str(probe), str(jobs.TRAIN), jobs.ROLE],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        seen = json.loads(result.stdout.strip().splitlines()[-1])
        client = server.client()
        described = client.describe_hyper_parameter_tuning_job(
            HyperParameterTuningJobName="v3-job"
        )
        stopped = wait_tuning_job(client, "v3-stop", timeout=30)
    finally:
        assert server.stop() == 0
    assert seen["status_after_tune"] in ("InProgress", "Completed")
    assert seen["status"] == "Completed"
    assert seen["best"] == described["BestTrainingJob"]["TrainingJobName"]
    assert seen["rows"] == 4
    assert {"x", "TrainingJobName", "FinalObjectiveValue"} <= set(seen["columns"])
    assert (
        min(seen["values"])
        == (described["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"])
    )
    assert seen["stop_status"] in ("Stopping", "Stopped")
    assert stopped["HyperParameterTuningJobStatus"] == "Stopped"
    assert "Traceback" not in server.output()
