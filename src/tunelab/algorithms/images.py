"""Which ``TrainingImage`` runs a built-in algorithm: ``tunelab/<name>`` (any tag) and
SageMaker's own image URIs for the same algorithm, ``<account>.dkr.ecr.<region>.<domain>/
<repository>:<tag>``, with the account SageMaker uses in that region (the tables of the
SageMaker Python SDK's ``image_uris``). SageMaker's LightGBM has no image of its own: it
is JumpStart's training script in a framework image, recognized by its
``sagemaker_submit_directory``. Pure data and a lookup, and why a near miss (an account,
region or tag that does not match) is not recognized."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass

FIRST_PARTY = {
    "af-south-1": "455444449433", "ap-east-1": "286214385809",
    "ap-northeast-1": "351501993468", "ap-northeast-2": "835164637446",
    "ap-northeast-3": "867004704886", "ap-south-1": "991648021394",
    "ap-south-2": "628508329040", "ap-southeast-1": "475088953585",
    "ap-southeast-2": "712309505854", "ap-southeast-3": "951798379941",
    "ap-southeast-4": "106583098589", "ca-central-1": "469771592824",
    "ca-west-1": "190319476487", "cn-north-1": "390948362332",
    "cn-northwest-1": "387376663083", "eu-central-1": "664544806723",
    "eu-central-2": "680994064768", "eu-north-1": "669576153137",
    "eu-south-1": "257386234256", "eu-south-2": "104374241257", "eu-west-1": "438346466558",
    "eu-west-2": "644912444149", "eu-west-3": "749696950732", "il-central-1": "898809789911",
    "me-central-1": "272398656194", "me-south-1": "249704162688",
    "sa-east-1": "855470959533", "us-east-1": "382416733822", "us-east-2": "404615174143",
    "us-gov-east-1": "237065988967", "us-gov-west-1": "226302683700",
    "us-iso-east-1": "490574956308", "us-isob-east-1": "765400339828",
    "us-isof-east-1": "108575199400", "us-isof-south-1": "124985052026",
    "us-west-1": "632365934929", "us-west-2": "174872318107",
}  # fmt: skip
XGBOOST_LEGACY = {
    "af-south-1": "455444449433", "ap-east-1": "286214385809",
    "ap-northeast-1": "501404015308", "ap-northeast-2": "306986355934",
    "ap-northeast-3": "867004704886", "ap-south-1": "991648021394",
    "ap-south-2": "628508329040", "ap-southeast-1": "475088953585",
    "ap-southeast-2": "544295431143", "ap-southeast-3": "951798379941",
    "ap-southeast-4": "106583098589", "ca-central-1": "469771592824",
    "cn-north-1": "390948362332", "cn-northwest-1": "387376663083",
    "eu-central-1": "813361260812", "eu-central-2": "680994064768",
    "eu-north-1": "669576153137", "eu-south-1": "257386234256", "eu-south-2": "104374241257",
    "eu-west-1": "685385470294", "eu-west-2": "644912444149", "eu-west-3": "749696950732",
    "me-central-1": "272398656194", "me-south-1": "249704162688",
    "sa-east-1": "855470959533", "us-east-1": "811284229777", "us-east-2": "825641698319",
    "us-gov-east-1": "237065988967", "us-gov-west-1": "226302683700",
    "us-iso-east-1": "490574956308", "us-isob-east-1": "765400339828",
    "us-west-1": "632365934929", "us-west-2": "433757028032",
}  # fmt: skip
SAGEMAKER_XGBOOST = {
    "af-south-1": "510948584623", "ap-east-1": "651117190479",
    "ap-northeast-1": "354813040037", "ap-northeast-2": "366743142698",
    "ap-northeast-3": "867004704886", "ap-south-1": "720646828776",
    "ap-south-2": "628508329040", "ap-southeast-1": "121021644041",
    "ap-southeast-2": "783357654285", "ap-southeast-3": "951798379941",
    "ap-southeast-4": "106583098589", "ca-central-1": "341280168497",
    "ca-west-1": "190319476487", "cn-north-1": "450853457545",
    "cn-northwest-1": "451049120500", "eu-central-1": "492215442770",
    "eu-central-2": "680994064768", "eu-north-1": "662702820516",
    "eu-south-1": "978288397137", "eu-south-2": "104374241257", "eu-west-1": "141502667606",
    "eu-west-2": "764974769150", "eu-west-3": "659782779980", "il-central-1": "898809789911",
    "me-central-1": "272398656194", "me-south-1": "801668240914",
    "sa-east-1": "737474898029", "us-east-1": "683313688378", "us-east-2": "257758044811",
    "us-gov-east-1": "237065988967", "us-gov-west-1": "414596584902",
    "us-iso-east-1": "833128469047", "us-isob-east-1": "281123927165",
    "us-isof-east-1": "108575199400", "us-isof-south-1": "124985052026",
    "us-west-1": "746614075791", "us-west-2": "246618743249",
}  # fmt: skip


@dataclass(frozen=True)
class Repository:
    """One ECR repository SageMaker publishes an algorithm in."""

    algorithm: str
    name: str
    tags: tuple[str, ...]
    registries: Mapping[str, str]


XGBOOST_VERSIONS = (
    "0.90-1",
    "0.90-2",
    "1.0-1",
    "1.2-1",
    "1.2-2",
    "1.3-1",
    "1.5-1",
    "1.7-1",
    "3.0-5",
)
REPOSITORIES = (
    Repository(
        "xgboost",
        "sagemaker-xgboost",
        (*XGBOOST_VERSIONS, *(f"{v}-cpu-py3" for v in XGBOOST_VERSIONS)),
        SAGEMAKER_XGBOOST,
    ),
    Repository("xgboost", "xgboost", ("1", "latest"), XGBOOST_LEGACY),
    Repository("linear-learner", "linear-learner", ("1", "latest"), FIRST_PARTY),
    Repository("knn", "knn", ("1", "latest"), FIRST_PARTY),
)
DOMAINS = ("amazonaws.com", "amazonaws.com.cn", "c2s.ic.gov", "sc2s.sgov.gov", "csp.hci.ic.gov")
MODULES = {
    "xgboost": "tunelab.algorithms.xgboost",
    "linear-learner": "tunelab.algorithms.linear_learner",
    "knn": "tunelab.algorithms.knn",
    "lightgbm": "tunelab.algorithms.lightgbm",
}
SCRIPT_MODE = ("sagemaker_program", "sagemaker_submit_directory")
JUMPSTART_SCRIPTS = {
    "lightgbm": re.compile(
        r"s3://jumpstart-cache-prod-[a-z0-9-]+/source-directory-tarballs/lightgbm/"
        r"transfer_learning/[^/]+/[^/]+/sourcedir\.tar\.gz"
    )
}
_ECR = re.compile(
    r"(?P<account>[0-9]{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.(?P<domain>[a-z0-9.]+)/"
    r"(?P<repository>[a-z0-9._/-]+):(?P<tag>[A-Za-z0-9._-]+)"
)
_ECR_LIKE = re.compile(
    r"(?P<account>[0-9]+)\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.(?P<domain>[a-z0-9.]+)/"
    r"(?P<repository>[a-z0-9._/-]+)(?::(?P<tag>[A-Za-z0-9._-]+))?"
)
"""What :func:`unrecognized_reason` takes for an attempt at an ECR URI: any account
length, and no tag."""
_TUNELAB = re.compile(r"tunelab/(?P<name>[a-z0-9-]+)(?::[A-Za-z0-9._-]+)?")


def builtin_for(image: str | None, hyperparameters: Mapping[str, str] | None = None) -> str | None:
    """The built-in algorithm ``image`` runs, or None. ``hyperparameters``: the
    definition's static ones; ``sagemaker_program`` makes a SageMaker XGBoost image run
    a user's script (script mode, not the built-in), and JumpStart's LightGBM script in
    ``sagemaker_submit_directory`` makes any image the built-in LightGBM."""
    hyperparameters = hyperparameters or {}
    script = hyperparameters.get("sagemaker_submit_directory", "")
    for name, pattern in JUMPSTART_SCRIPTS.items():
        if pattern.fullmatch(script.strip()):
            return name
    if not image:
        return None
    image = image.strip()
    own = _TUNELAB.fullmatch(image)
    if own is not None:
        return own["name"] if own["name"] in MODULES else None
    match = _ECR.fullmatch(image)
    if match is None or match["domain"] not in DOMAINS:
        return None
    if any(key in hyperparameters for key in SCRIPT_MODE):
        return None
    for repository in REPOSITORIES:
        if (
            match["repository"] == repository.name
            and match["tag"] in repository.tags
            and repository.registries.get(match["region"]) == match["account"]
        ):
            return repository.algorithm
    return None


def unrecognized_reason(
    image: str | None, hyperparameters: Mapping[str, str] | None = None
) -> str | None:
    """Why ``image``, which looks like SageMaker's image of a built-in algorithm (an ECR
    URI ``<account>.dkr.ecr.<region>.<domain>/<repository>:<tag>`` whose repository is one
    of :data:`REPOSITORIES`), is not recognized as that built-in: which of the domain, the
    region, the account for the region (naming the expected one) and the tag (naming the
    tags tunelab runs) does not match. None for a recognized image, one that runs a
    script (script mode) and any image that does not look like a built-in's."""
    hyperparameters = hyperparameters or {}
    if not image or any(key in hyperparameters for key in SCRIPT_MODE):
        return None
    match = _ECR_LIKE.fullmatch(image.strip())
    if match is None or builtin_for(image, hyperparameters) is not None:
        return None
    repository = next((r for r in REPOSITORIES if r.name == match["repository"]), None)
    if repository is None:
        return None
    problems = []
    if match["domain"] not in DOMAINS:
        problems.append(f"the domain {match['domain']!r} is not ECR's ({', '.join(DOMAINS)})")
    problems += _registry_problems(repository, match["region"], match["account"])
    if match["tag"] not in repository.tags:
        problems.append(_tag_problem(repository, match["tag"]))
    return (
        f"{image!r} looks like SageMaker's image of the built-in algorithm "
        f"{repository.algorithm}, but tunelab does not recognize it: " + "; ".join(problems)
    )


def _registry_problems(repository: Repository, region: str, account: str) -> list[str]:
    """How ``account`` in ``region`` differs from the account ``repository`` is in there."""
    expected = repository.registries.get(region)
    if expected == account:
        return []
    elsewhere = sorted(r for r, a in repository.registries.items() if a == account)
    known = f"{account} is its account in {', '.join(elsewhere)}" if elsewhere else ""
    if expected is not None:
        where = f" ({known})" if known else ""
        return [
            f"the account of {repository.name} in {region} is {expected}, not {account}{where}"
        ]
    unknown = f"tunelab knows no {repository.name} image in the region {region!r}"
    if known:
        return [f"{unknown}; {known}"]
    close = difflib.get_close_matches(region, repository.registries, n=1)
    if close:
        return [f"{unknown} (did you mean {close[0]}?)"]
    return [f"{unknown}; its regions: {', '.join(sorted(repository.registries))}"]


def _tag_problem(repository: Repository, tag: str | None) -> str:
    """Why ``tag`` (None: no tag) is not one of ``repository``'s, naming the tags it has
    and another repository of the same algorithm that has ``tag``."""
    suffix = "-cpu-py3"
    tags = repository.tags
    short = [t for t in tags if not (t.endswith(suffix) and t.removesuffix(suffix) in tags)]
    folded = f" (each also as <tag>{suffix})" if len(short) < len(tags) else ""
    runs = f"tunelab runs {repository.name} with the tags {', '.join(short)}{folded}"
    if tag is None:
        return f"it names no tag: {runs}"
    other = next(
        (r for r in REPOSITORIES if r.algorithm == repository.algorithm and tag in r.tags), None
    )
    moved = f" ({tag} is a tag of {other.name})" if other is not None else ""
    return f"{runs}, not {tag!r}{moved}"


def module_for(image: str | None, hyperparameters: Mapping[str, str] | None = None) -> str | None:
    """The Python module of the built-in ``image`` runs (``python -m <module> train``)."""
    name = builtin_for(image, hyperparameters)
    return None if name is None else MODULES[name]


def sagemaker_images(algorithm: str, region: str = "us-east-1") -> list[str]:
    """SageMaker's image URIs of ``algorithm`` in ``region`` (newest tag first)."""
    domain = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    images = []
    for repository in REPOSITORIES:
        account = repository.registries.get(region)
        if repository.algorithm == algorithm and account is not None:
            tag = next(t for t in reversed(repository.tags) if not t.endswith(("-py3", "latest")))
            images.append(f"{account}.dkr.ecr.{region}.{domain}/{repository.name}:{tag}")
    return images
