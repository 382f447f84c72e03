"""Which TrainingImage runs which built-in: tunelab/<name>, and SageMaker's image URIs
for the same algorithm in every region, checked against the SageMaker Python SDK's
own ``image_uris.retrieve``; how the executor and the service treat them."""

from __future__ import annotations

import dataclasses
import os
import sys

import pytest

from tests.execution.test_contract import make_definition
from tunelab.algorithms.images import REPOSITORIES, builtin_for, module_for, sagemaker_images
from tunelab.execution.contract import resolve_argv
from tunelab.service.capabilities import unsupported_definition

JUMPSTART_LIGHTGBM = (
    "s3://jumpstart-cache-prod-eu-west-1/source-directory-tarballs/lightgbm/"
    "transfer_learning/regression/v1.2.0/sourcedir.tar.gz"
)


def sdk_images() -> list[tuple[str, str]]:
    """(image URI, algorithm) for every region and version the SageMaker SDK knows: the
    SDK's ``retrieve`` gives each version's URI in us-east-1, its registry table and
    endpoint resolver the other regions' accounts and hosts."""
    os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    image_uris = pytest.importorskip("sagemaker.image_uris")
    from sagemaker import utils

    resolver = utils._botocore_resolver()
    found = []
    for repository in REPOSITORIES:
        config = image_uris.config_for_framework(repository.algorithm)
        config = config.get("training", config)
        for version, details in config["versions"].items():
            if details.get("repository", repository.name) != repository.name:
                continue
            base = image_uris.retrieve(repository.algorithm, "us-east-1", version)
            path = base.split("/", 1)[1]
            for region, account in details["registries"].items():
                endpoint = resolver.construct_endpoint("ecr", region) or {}
                host = endpoint.get("hostname", f"ecr.{region}.amazonaws.com")
                found.append((f"{account}.dkr.{host}/{path}", repository.algorithm))
    return found


def test_every_sagemaker_image_uri_maps_to_its_builtin() -> None:
    images = sdk_images()
    assert len(images) > 400  # 9 XGBoost versions and 3 other repositories in ~37 regions
    wrong = [(uri, name) for uri, name in images if builtin_for(uri) != name]
    assert wrong == []
    assert "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1" in {
        uri for uri, _ in images
    }


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("tunelab/xgboost", "xgboost"),
        ("tunelab/xgboost:latest", "xgboost"),
        ("tunelab/linear-learner", "linear-learner"),
        ("tunelab/knn:1", "knn"),
        ("tunelab/lightgbm", "lightgbm"),
        ("tunelab/catboost", None),
        ("683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1", "xgboost"),
        (
            "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:0.90-1-cpu-py3",
            "xgboost",
        ),
        ("246618743249.dkr.ecr.us-west-2.amazonaws.com/sagemaker-xgboost:1.5-1", "xgboost"),
        ("450853457545.dkr.ecr.cn-north-1.amazonaws.com.cn/sagemaker-xgboost:1.7-1", "xgboost"),
        ("811284229777.dkr.ecr.us-east-1.amazonaws.com/xgboost:latest", "xgboost"),
        ("382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1", "linear-learner"),
        ("174872318107.dkr.ecr.us-west-2.amazonaws.com/knn:1", "knn"),
        # another account, region or version is not SageMaker's image
        ("123456789012.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1", None),
        ("683313688378.dkr.ecr.us-west-2.amazonaws.com/sagemaker-xgboost:1.7-1", None),
        ("683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:9.9-9", None),
        ("683313688378.dkr.ecr.us-east-1.example.com/sagemaker-xgboost:1.7-1", None),
        ("file:///opt/train.py", None),
    ],
)
def test_image_mapping(image: str, expected: str | None) -> None:
    assert builtin_for(image) == expected


def test_script_mode_and_jumpstart_follow_the_hyperparameters() -> None:
    xgb = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
    assert builtin_for(xgb, {"sagemaker_program": "train.py"}) is None  # the user's script
    pytorch = "763104351884.dkr.ecr.eu-west-1.amazonaws.com/pytorch-training:1.9.0-cpu-py38"
    assert builtin_for(pytorch) is None
    assert builtin_for(pytorch, {"sagemaker_submit_directory": JUMPSTART_LIGHTGBM}) == "lightgbm"
    assert module_for("tunelab/knn") == "tunelab.algorithms.knn"
    assert sagemaker_images("linear-learner", "eu-west-1") == [
        "438346466558.dkr.ecr.eu-west-1.amazonaws.com/linear-learner:1"
    ]


def test_a_builtin_image_runs_its_program_with_this_interpreter() -> None:
    definition = make_definition("382416733822.dkr.ecr.us-east-1.amazonaws.com/knn:1")
    assert resolve_argv(definition) == [sys.executable, "-m", "tunelab.algorithms.knn", "train"]
    registered = dataclasses.replace(make_definition(None), algorithm_name="my-xgb")  # type: ignore[arg-type]
    assert resolve_argv(registered, {"my-xgb": "tunelab/xgboost"}.get)[2] == (
        "tunelab.algorithms.xgboost"
    )
    assert list(unsupported_definition(definition, "TrainingJobDefinition")) == []
    other = make_definition("123456789012.dkr.ecr.us-east-1.amazonaws.com/knn:1")
    assert [v.path for v in unsupported_definition(other, "TrainingJobDefinition")] == [
        "TrainingJobDefinition.AlgorithmSpecification.TrainingImage"
    ]
