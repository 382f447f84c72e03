"""Which TrainingImage runs which built-in: tunelab/<name>, and SageMaker's image URIs
for the same algorithm in every region, checked against the SageMaker Python SDK's
own ``image_uris.retrieve``; how the executor and the service treat them."""

from __future__ import annotations

import dataclasses
import os
import sys

import pytest

from tests.execution.test_contract import make_definition
from tunelab.algorithms.images import (
    REPOSITORIES,
    builtin_for,
    module_for,
    sagemaker_images,
    unrecognized_reason,
)
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


XGB_TAGS = (
    "tunelab runs sagemaker-xgboost with the tags 0.90-1, 0.90-2, 1.0-1, 1.2-1, 1.2-2, 1.3-1, "
    "1.5-1, 1.7-1, 3.0-5 (each also as <tag>-cpu-py3)"
)


@pytest.mark.parametrize(
    ("image", "why"),
    [
        (  # us-east-1's account in eu-west-1
            "683313688378.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1",
            "the account of sagemaker-xgboost in eu-west-1 is 141502667606, not 683313688378 "
            "(683313688378 is its account in us-east-1)",
        ),
        (
            "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:9.9-9",
            f"{XGB_TAGS}, not '9.9-9'",
        ),
        (
            "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost",
            f"it names no tag: {XGB_TAGS}",
        ),
        (
            "683313688378.dkr.ecr.us-east-9.amazonaws.com/sagemaker-xgboost:1.7-1",
            "tunelab knows no sagemaker-xgboost image in the region 'us-east-9'; "
            "683313688378 is its account in us-east-1",
        ),
        (
            "123456789012.dkr.ecr.eu-wst-1.amazonaws.com/sagemaker-xgboost:1.7-1",
            "tunelab knows no sagemaker-xgboost image in the region 'eu-wst-1' "
            "(did you mean eu-west-1?)",
        ),
        (
            "683313688378.dkr.ecr.us-east-1.example.com/sagemaker-xgboost:1.7-1",
            "the domain 'example.com' is not ECR's (amazonaws.com, amazonaws.com.cn, "
            "c2s.ic.gov, sc2s.sgov.gov, csp.hci.ic.gov)",
        ),
        (
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/knn:2",
            "the account of knn in us-east-1 is 382416733822, not 123456789012; "
            "tunelab runs knn with the tags 1, latest, not '2'",
        ),
        (
            "811284229777.dkr.ecr.us-east-1.amazonaws.com/xgboost:1.7-1",
            "tunelab runs xgboost with the tags 1, latest, not '1.7-1' "
            "(1.7-1 is a tag of sagemaker-xgboost)",
        ),
    ],
)
def test_a_near_miss_of_a_builtin_image_says_which_part_does_not_match(
    image: str, why: str
) -> None:
    """A SageMaker built-in image URI with one wrong part was not recognized, and nothing
    said so: the user only learnt that no MetricDefinition named the objective."""
    assert builtin_for(image) is None
    algorithm = "knn" if "/knn:" in image else "xgboost"
    assert unrecognized_reason(image) == (
        f"{image!r} looks like SageMaker's image of the built-in algorithm {algorithm}, but "
        f"tunelab does not recognize it: {why}"
    )


@pytest.mark.parametrize(
    "image",
    [
        "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",  # recognized
        "tunelab/xgboost",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-algorithm:1",  # not a built-in's
        "763104351884.dkr.ecr.eu-west-1.amazonaws.com/pytorch-training:1.9.0-cpu-py38",
        "file:///opt/train.py",
        None,
    ],
)
def test_other_images_need_no_reason(image: str | None) -> None:
    assert unrecognized_reason(image) is None


def test_an_image_in_script_mode_is_not_a_near_miss() -> None:
    near = "683313688378.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1"
    assert unrecognized_reason(near, {"sagemaker_program": "train.py"}) is None
