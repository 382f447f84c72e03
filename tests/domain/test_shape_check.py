"""The shape check: botocore's SageMaker model as the schema of tunelab's requests."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from botocore.model import ListShape, MapShape, Shape, StructureShape

from tunelab.domain.errors import Violation
from tunelab.domain.sagemaker_model import input_shape
from tunelab.domain.shape_check import check_input, check_shape, compile_pattern

CREATE = "CreateHyperParameterTuningJob"
OPERATIONS = (
    "CreateHyperParameterTuningJob",
    "DescribeHyperParameterTuningJob",
    "ListHyperParameterTuningJobs",
    "StopHyperParameterTuningJob",
    "DeleteHyperParameterTuningJob",
    "ListTrainingJobsForHyperParameterTuningJob",
    "CreateTrainingJob",
    "DescribeTrainingJob",
    "ListTrainingJobs",
    "StopTrainingJob",
    "AddTags",
    "ListTags",
    "DeleteTags",
)
TAG_PATTERN = r"([\p{L}\p{Z}\p{N}_.:/=+\-@]*)"
S3_PATTERN = "(https|s3)://([^/]+)/?(.*)"
JOB_NAME_PATTERN = "[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}"


def definition(name: str | None = None) -> dict[str, Any]:
    """A training job definition as the SageMaker docs and SDK write them."""
    doc: dict[str, Any] = {
        "StaticHyperParameters": {"objective": "binary:logistic", "num_round": "100"},
        "AlgorithmSpecification": {
            "TrainingImage": "tunelab/xgboost:latest",
            "TrainingInputMode": "File",
            "MetricDefinitions": [
                {"Name": "validation:auc", "Regex": r"validation-auc:([0-9\.]+)"},
                {"Name": "train:auc", "Regex": r"train-auc:([0-9\.]+)"},
            ],
        },
        "RoleArn": "arn:aws:iam::123456789012:role/SageMakerRole",
        "InputDataConfig": [
            {
                "ChannelName": "train",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": "s3://bucket/train/",
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
                "ContentType": "text/csv",
                "CompressionType": "None",
            }
        ],
        "OutputDataConfig": {"S3OutputPath": "s3://bucket/output/"},
        "ResourceConfig": {
            "InstanceType": "ml.m5.xlarge",
            "InstanceCount": 1,
            "VolumeSizeInGB": 10,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "CheckpointConfig": {"S3Uri": "s3://bucket/checkpoints/", "LocalPath": "/opt/ml/ckpt"},
        "Environment": {"OMP_NUM_THREADS": "1"},
        "RetryStrategy": {"MaximumRetryAttempts": 2},
        "EnableManagedSpotTraining": False,
    }
    if name is not None:
        doc["DefinitionName"] = name
        doc["TuningObjective"] = {"Type": "Maximize", "MetricName": "validation:auc"}
        doc["HyperParameterRanges"] = {
            "IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "2", "MaxValue": "10"}]
        }
        del doc["ResourceConfig"]
        doc["HyperParameterTuningResourceConfig"] = {
            "InstanceConfigs": [
                {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10}
            ]
        }
    return doc


def single() -> dict[str, Any]:
    """A valid request with one ``TrainingJobDefinition``."""
    return {
        "HyperParameterTuningJobName": "xgb-tune-1",
        "HyperParameterTuningJobConfig": {
            "Strategy": "Bayesian",
            "HyperParameterTuningJobObjective": {
                "Type": "Maximize",
                "MetricName": "validation:auc",
            },
            "ResourceLimits": {
                "MaxNumberOfTrainingJobs": 20,
                "MaxParallelTrainingJobs": 2,
                "MaxRuntimeInSeconds": 3600,
            },
            "ParameterRanges": {
                "IntegerParameterRanges": [
                    {"Name": "max_depth", "MinValue": "2", "MaxValue": "10", "ScalingType": "Auto"}
                ],
                "ContinuousParameterRanges": [
                    {
                        "Name": "eta",
                        "MinValue": "0.01",
                        "MaxValue": "0.5",
                        "ScalingType": "Logarithmic",
                    }
                ],
                "CategoricalParameterRanges": [{"Name": "booster", "Values": ["gbtree", "dart"]}],
            },
            "TrainingJobEarlyStoppingType": "Off",
            "TuningJobCompletionCriteria": {
                "TargetObjectiveMetricValue": 0.95,
                "BestObjectiveNotImproving": {"MaxNumberOfTrainingJobsNotImproving": 5},
            },
            "RandomSeed": 42,
        },
        "TrainingJobDefinition": definition(),
        "Tags": [{"Key": "team", "Value": "ml"}],
    }


def multi() -> dict[str, Any]:
    """A valid request with two ``TrainingJobDefinitions`` (the SDK's ``create`` shape)."""
    return {
        "HyperParameterTuningJobName": "multi-algo",
        "HyperParameterTuningJobConfig": {
            "Strategy": "Random",
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 10, "MaxParallelTrainingJobs": 2},
        },
        "TrainingJobDefinitions": [definition("xgb"), definition("lgbm")],
    }


def check(document: Any) -> list[Violation]:
    return check_input(CREATE, document)


def v(path: str, message: str) -> Violation:
    return Violation(path, message)


# -- valid documents ---------------------------------------------------------------------


def test_valid_single_definition_document_has_no_violations() -> None:
    assert check(single()) == []


def test_valid_multi_definition_document_has_no_violations() -> None:
    assert check(multi()) == []


def test_valid_warm_start_and_numbers_given_as_int_for_floats() -> None:
    doc = single()
    doc["WarmStartConfig"] = {
        "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": "parent-1"}],
        "WarmStartType": "IdenticalDataAndAlgorithm",
    }
    doc["HyperParameterTuningJobConfig"]["TuningJobCompletionCriteria"] = {
        "TargetObjectiveMetricValue": 1
    }
    assert check(doc) == []


# -- document and required members ----------------------------------------------------


def test_non_mapping_document_gives_one_violation_with_empty_path() -> None:
    assert check([]) == [
        v("", "the CreateHyperParameterTuningJob request must be an object; got [] (a list)")
    ]
    assert check("x") == [
        v("", "the CreateHyperParameterTuningJob request must be an object; got 'x' (a string)")
    ]


def test_missing_tuning_job_config_is_required() -> None:
    doc = single()
    del doc["HyperParameterTuningJobConfig"]
    assert check(doc) == [v("HyperParameterTuningJobConfig", "is required")]


def test_missing_nested_required_member() -> None:
    doc = single()
    del doc["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxParallelTrainingJobs"]
    assert check(doc) == [
        v("HyperParameterTuningJobConfig.ResourceLimits.MaxParallelTrainingJobs", "is required")
    ]


# -- types ---------------------------------------------------------------------------------


def test_string_given_for_an_integer() -> None:
    doc = single()
    doc["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxParallelTrainingJobs"] = "10"
    assert [str(x) for x in check(doc)] == [
        "HyperParameterTuningJobConfig.ResourceLimits.MaxParallelTrainingJobs: "
        "must be an integer; got '10' (a string)"
    ]


def test_bool_given_for_an_integer() -> None:
    doc = single()
    doc["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxParallelTrainingJobs"] = True
    assert check(doc) == [
        v(
            "HyperParameterTuningJobConfig.ResourceLimits.MaxParallelTrainingJobs",
            "must be an integer; got True (a boolean)",
        )
    ]


def test_float_given_for_an_integer_and_string_for_a_float() -> None:
    doc = single()
    config = doc["HyperParameterTuningJobConfig"]
    config["RandomSeed"] = 4.0
    config["TuningJobCompletionCriteria"]["TargetObjectiveMetricValue"] = "0.9"
    assert check(doc) == [
        v(
            "HyperParameterTuningJobConfig.TuningJobCompletionCriteria.TargetObjectiveMetricValue",
            "must be a number; got '0.9' (a string)",
        ),
        v("HyperParameterTuningJobConfig.RandomSeed", "must be an integer; got 4.0 (a number)"),
    ]


def test_bool_structure_list_and_null_types() -> None:
    doc = single()
    doc["TrainingJobDefinition"]["EnableManagedSpotTraining"] = "false"
    doc["TrainingJobDefinition"]["StoppingCondition"] = None
    doc["Tags"] = {"Key": "team", "Value": "ml"}
    assert check(doc) == [
        v("TrainingJobDefinition.StoppingCondition", "must be an object; got null"),
        v(
            "TrainingJobDefinition.EnableManagedSpotTraining",
            "must be a boolean; got 'false' (a string)",
        ),
        v("Tags", "must be a list; got {'Key': 'team', 'Value': 'ml'} (an object)"),
    ]


def test_integer_outside_32_bits() -> None:
    doc = single()
    doc["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxParallelTrainingJobs"] = 2**31
    assert check(doc) == [
        v(
            "HyperParameterTuningJobConfig.ResourceLimits.MaxParallelTrainingJobs",
            "must be between -2147483648 and 2147483647; got 2147483648",
        )
    ]


def test_map_value_type_path_names_the_key() -> None:
    doc = single()
    doc["TrainingJobDefinition"]["StaticHyperParameters"]["lr"] = 0.1
    assert check(doc) == [
        v(
            "TrainingJobDefinition.StaticHyperParameters['lr']",
            "must be a string; got 0.1 (a number)",
        )
    ]


def test_a_lone_surrogate_is_refused_in_any_string_key_or_value() -> None:
    doc = single()
    static = doc["TrainingJobDefinition"]["StaticHyperParameters"]
    static["s"], static["k\udfff"] = "a\ud800b", "1"
    doc["Tags"] = [{"Key": "team", "Value": "\udc80"}]
    rule = "must be text that can be encoded as UTF-8 (a JSON \\ud800-\\udfff escape alone is "
    assert check(doc) == [
        v(
            "TrainingJobDefinition.StaticHyperParameters['s']",
            rule + "not a character); got a lone surrogate U+D800 at position 1 of 'a\\ud800b'",
        ),
        v(
            "TrainingJobDefinition.StaticHyperParameters['k\\udfff']",
            "key " + rule + "not a character); got a lone surrogate U+DFFF at position 1 of "
            "'k\\udfff'",
        ),
        v(
            "Tags[0].Value",
            rule + "not a character); got a lone surrogate U+DC80 at position 0 of '\\udc80'",
        ),
    ]
    static.update(s="😀 \U0001f600 a\u202eb", k="x")  # pairs and other characters are text
    del static["k\udfff"]
    doc["Tags"] = [{"Key": "team", "Value": "é"}]
    assert check(doc) == []


def test_timestamps_accept_numbers_and_iso_8601_strings() -> None:
    good = {"CreationTimeAfter": 1_700_000_000, "CreationTimeBefore": "2024-01-01T00:00:00Z"}
    assert check_input("ListTrainingJobs", good) == []
    assert check_input("ListTrainingJobs", {"CreationTimeAfter": "yesterday"}) == [
        v(
            "CreationTimeAfter",
            "must be a timestamp (epoch seconds or an ISO-8601 string); "
            "got 'yesterday' (a string)",
        )
    ]


def test_numbers_and_timestamps_must_be_finite() -> None:
    """1e400 reads as infinity, YAML's .nan as NaN: no double or timestamp holds them."""
    document = single()
    config = document["HyperParameterTuningJobConfig"]
    finite = "must be a finite number (JSON has no NaN or Infinity; a double is at most 1.8e308)"
    target = "HyperParameterTuningJobConfig.TuningJobCompletionCriteria.TargetObjectiveMetricValue"
    for value, shown in ((float("nan"), "nan"), (float("-inf"), "-inf")):
        config["TuningJobCompletionCriteria"] = {"TargetObjectiveMetricValue": value}
        assert check_input(CREATE, document) == [v(target, f"{finite}; got {shown}")]
    config["TuningJobCompletionCriteria"] = {"TargetObjectiveMetricValue": 10**400}
    assert check_input(CREATE, document) == [
        v(target, f"{finite}; got a number beyond a double's range")
    ]
    window = {"CreationTimeAfter": float("inf"), "LastModifiedTimeBefore": 1.5e9}
    assert check_input("ListTrainingJobs", window) == [
        v("CreationTimeAfter", f"{finite}; got inf")
    ]


def test_a_relative_file_training_image_is_refused_with_where_it_works() -> None:
    document = single()
    spec = document["TrainingJobDefinition"]["AlgorithmSpecification"]
    for good in ("file:///opt/train.py", "file:/opt/train.py", "tunelab/xgboost:latest"):
        spec["TrainingImage"] = good
        assert check_input(CREATE, document) == [], good
    spec["TrainingImage"] = "file:../x/train.py"
    assert check_input(CREATE, document) == [
        v(
            "TrainingJobDefinition.AlgorithmSpecification.TrainingImage",
            "got 'file:../x/train.py': a relative path is resolved only in a job file, against "
            "its folder, by `tunelab run` and `tunelab validate`; here write an absolute one "
            "(file:///path/to/../x/train.py)",
        )
    ]


def test_tag_keys_may_not_start_with_aws() -> None:
    tags = {"ResourceArn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/t"}
    tags["Tags"] = [{"Key": "awsome", "Value": ""}, {"Key": "AWS:owner", "Value": ""}]
    assert check_input("AddTags", tags) == [
        v(
            "Tags[1].Key",
            "tag keys starting with 'aws:' (in any case) are reserved for AWS's own use; got "
            "'AWS:owner'",
        )
    ]


# -- min / max -----------------------------------------------------------------------------


def test_name_of_33_characters_breaks_length_and_pattern() -> None:
    doc = single()
    doc["HyperParameterTuningJobName"] = "a" * 33
    assert check(doc) == [
        v("HyperParameterTuningJobName", "must be at most 32 characters long; got 33"),
        v(
            "HyperParameterTuningJobName",
            f"must match the pattern {JOB_NAME_PATTERN}; got '{'a' * 33}'",
        ),
    ]


def test_empty_metric_regex_in_second_definition() -> None:
    doc = multi()
    doc["TrainingJobDefinitions"][1]["AlgorithmSpecification"]["MetricDefinitions"][0]["Regex"] = (
        ""
    )
    path = "TrainingJobDefinitions[1].AlgorithmSpecification.MetricDefinitions[0].Regex"
    assert check(doc) == [
        v(path, "must be at least 1 character long; got 0"),
        v(path, "must match the pattern .+; got ''"),
    ]


def test_eleven_definitions() -> None:
    doc = multi()
    doc["TrainingJobDefinitions"] = [definition(f"algo-{i}") for i in range(11)]
    assert check(doc) == [v("TrainingJobDefinitions", "must have at most 10 items; got 11")]


def test_empty_definitions_list() -> None:
    doc = multi()
    doc["TrainingJobDefinitions"] = []
    assert check(doc) == [v("TrainingJobDefinitions", "must have at least 1 item; got 0")]


def test_six_warm_start_parents() -> None:
    doc = single()
    doc["WarmStartConfig"] = {
        "ParentHyperParameterTuningJobs": [
            {"HyperParameterTuningJobName": f"parent-{i}"} for i in range(6)
        ],
        "WarmStartType": "TransferLearning",
    }
    assert check(doc) == [
        v("WarmStartConfig.ParentHyperParameterTuningJobs", "must have at most 5 items; got 6")
    ]


def test_41_metric_definitions() -> None:
    doc = single()
    doc["TrainingJobDefinition"]["AlgorithmSpecification"]["MetricDefinitions"] = [
        {"Name": f"m{i}", "Regex": f"m{i}=([0-9.]+)"} for i in range(41)
    ]
    assert check(doc) == [
        v(
            "TrainingJobDefinition.AlgorithmSpecification.MetricDefinitions",
            "must have at most 40 items; got 41",
        )
    ]


def test_map_entry_count() -> None:
    doc = single()
    doc["TrainingJobDefinition"]["Environment"] = {f"VAR_{i}": "x" for i in range(49)}
    assert check(doc) == [
        v("TrainingJobDefinition.Environment", "must have at most 48 entries; got 49")
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (119, "must be at least 120; got 119"),
        (20_000_000, "must be at most 15768000; got 20000000"),
    ],
)
def test_max_runtime_in_resource_limits(value: int, message: str) -> None:
    doc = single()
    doc["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxRuntimeInSeconds"] = value
    assert check(doc) == [
        v("HyperParameterTuningJobConfig.ResourceLimits.MaxRuntimeInSeconds", message)
    ]


def test_random_seed_minus_one() -> None:
    doc = single()
    doc["HyperParameterTuningJobConfig"]["RandomSeed"] = -1
    assert check(doc) == [
        v("HyperParameterTuningJobConfig.RandomSeed", "must be at least 0; got -1")
    ]


def test_list_tags_max_results_minimum() -> None:
    arn = "arn:aws:sagemaker:us-east-1:123456789012:hyper-parameter-tuning-job/xgb-tune-1"
    assert check_input("ListTags", {"ResourceArn": arn, "MaxResults": 50}) == []
    assert check_input("ListTags", {"ResourceArn": arn, "MaxResults": 10}) == [
        v("MaxResults", "must be at least 50; got 10")
    ]


# -- enum ----------------------------------------------------------------------------------


def test_bad_strategy_enum() -> None:
    doc = single()
    doc["HyperParameterTuningJobConfig"]["Strategy"] = "Sobol"
    assert check(doc) == [
        v(
            "HyperParameterTuningJobConfig.Strategy",
            "must be one of Bayesian, Random, Hyperband, Grid; got 'Sobol'",
        )
    ]


def test_enum_in_wrong_case_gets_a_suggestion() -> None:
    doc = single()
    doc["HyperParameterTuningJobConfig"]["TrainingJobEarlyStoppingType"] = "OFF"
    assert check(doc) == [
        v(
            "HyperParameterTuningJobConfig.TrainingJobEarlyStoppingType",
            "must be one of Off, Auto; got 'OFF' (did you mean 'Off'?)",
        )
    ]


def test_long_enum_is_summarised_with_a_suggestion() -> None:
    doc = single()
    doc["TrainingJobDefinition"]["ResourceConfig"]["InstanceType"] = "ml.m5.xlargee"
    (violation,) = check(doc)
    assert violation.path == "TrainingJobDefinition.ResourceConfig.InstanceType"
    assert re.fullmatch(
        r"must be one of the \d{3} values of TrainingInstanceType "
        r"\(e\.g\. ml\.m4\.xlarge, ml\.m4\.2xlarge, ml\.m4\.4xlarge, \.\.\.\); "
        r"got 'ml\.m5\.xlargee' \(did you mean 'ml\.m5\.xlarge'\?\)",
        violation.message,
    ), violation.message


# -- pattern -------------------------------------------------------------------------------


def test_name_with_underscore() -> None:
    doc = single()
    doc["HyperParameterTuningJobName"] = "my_job"
    assert [str(x) for x in check(doc)] == [
        "HyperParameterTuningJobName: must match the pattern "
        "[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}; got 'my_job'"
    ]


def test_name_with_leading_hyphen_is_refused_because_the_match_is_full() -> None:
    doc = single()
    doc["HyperParameterTuningJobName"] = "job-"
    assert check(doc) == [
        v("HyperParameterTuningJobName", f"must match the pattern {JOB_NAME_PATTERN}; got 'job-'")
    ]


def test_tag_with_bad_character() -> None:
    doc = single()
    doc["Tags"] = [{"Key": "owner", "Value": "café 1"}, {"Key": "cost", "Value": "a;b"}]
    assert check(doc) == [v("Tags[1].Value", f"must match the pattern {TAG_PATTERN}; got 'a;b'")]


@pytest.mark.parametrize(
    "value", ["café 1", "日本語", "Ünïcødé", "x\u00a0y", "٣٤", "a_b.c:d/e=f+g-h@i", ""]
)
def test_tag_values_with_unicode_letters_digits_and_spaces_are_valid(value: str) -> None:
    doc = single()
    doc["Tags"] = [{"Key": "k", "Value": value}]
    assert check(doc) == []


@pytest.mark.parametrize("value", ["a;b", "tab\there", "new\nline", "emoji🙂", "50%"])
def test_tag_values_outside_the_classes_are_refused(value: str) -> None:
    doc = single()
    doc["Tags"] = [{"Key": "k", "Value": value}]
    assert check(doc) == [
        v("Tags[0].Value", f"must match the pattern {TAG_PATTERN}; got {value!r}")
    ]


def test_environment_key_with_a_dash() -> None:
    doc = single()
    doc["TrainingJobDefinition"]["Environment"] = {"MY-VAR": "1", "OK_VAR": "2"}
    assert check(doc) == [
        v(
            "TrainingJobDefinition.Environment['MY-VAR']",
            "key must match the pattern [a-zA-Z_][a-zA-Z0-9_]*; got 'MY-VAR'",
        )
    ]


# -- unknown members -----------------------------------------------------------------------


def test_unknown_field_typo_with_suggestion() -> None:
    doc = single()
    limits = doc["HyperParameterTuningJobConfig"]["ResourceLimits"]
    limits["MaxParallelTraningJobs"] = limits.pop("MaxParallelTrainingJobs")
    assert [str(x) for x in check(doc)] == [
        "HyperParameterTuningJobConfig.ResourceLimits.MaxParallelTrainingJobs: is required",
        "HyperParameterTuningJobConfig.ResourceLimits.MaxParallelTraningJobs: is not a field "
        "of ResourceLimits (likely a typo; did you mean 'MaxParallelTrainingJobs'?)",
    ]


def test_unknown_field_without_close_match_lists_valid_fields() -> None:
    doc = single()
    doc["HyperParameterTuningJobConfig"]["ResourceLimits"]["Priority"] = 1
    assert check(doc) == [
        v(
            "HyperParameterTuningJobConfig.ResourceLimits.Priority",
            "is not a field of ResourceLimits (valid fields: MaxNumberOfTrainingJobs, "
            "MaxParallelTrainingJobs, MaxRuntimeInSeconds)",
        )
    ]


# -- tunelab's local extension for S3 URIs ----------------------------------------------


def _with_channel_uri(uri: str) -> dict[str, Any]:
    doc = single()
    doc["TrainingJobDefinition"]["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] = uri
    return doc


@pytest.mark.parametrize(
    "uri", ["s3://bucket/train/", "https://host/x", "file:///data/train", "/data/train"]
)
def test_channel_s3_uri_accepts_local_paths(uri: str) -> None:
    assert check(_with_channel_uri(uri)) == []


LOCAL_RULE = f"must match the pattern {S3_PATTERN}, or be a file:// URI or an absolute local path"


@pytest.mark.parametrize("uri", ["ftp://x", "file://"])
def test_channel_s3_uri_refuses_other_schemes(uri: str) -> None:
    path = "TrainingJobDefinition.InputDataConfig[0].DataSource.S3DataSource.S3Uri"
    assert check(_with_channel_uri(uri)) == [v(path, f"{LOCAL_RULE}; got {uri!r}")]


@pytest.mark.parametrize(
    ("uri", "absolute"),
    [("data/train", "file:///path/to/data/train"), ("file:data/", "file:///path/to/data/"),
     ("C:\\data", "file:///path/to/C:\\data")],
)  # fmt: skip
def test_a_relative_channel_s3_uri_is_told_where_relative_paths_work(
    uri: str, absolute: str
) -> None:
    path = "TrainingJobDefinition.InputDataConfig[0].DataSource.S3DataSource.S3Uri"
    assert check(_with_channel_uri(uri)) == [
        v(
            path,
            f"{LOCAL_RULE}; got {uri!r}: a relative path is resolved only in a job file, "
            "against its folder, by `tunelab run` and `tunelab validate`; here write an "
            f"absolute one ({absolute})",
        )
    ]


def test_checkpoint_and_output_paths_accept_local_paths() -> None:
    doc = single()
    doc["TrainingJobDefinition"]["CheckpointConfig"]["S3Uri"] = "/var/tunelab/ckpt"
    doc["TrainingJobDefinition"]["OutputDataConfig"]["S3OutputPath"] = "file:///var/tunelab/out"
    assert check(doc) == []


def test_local_extension_does_not_leak_to_other_strings() -> None:
    doc = single()
    doc["TrainingJobDefinition"]["RoleArn"] = "/local/role/for/tunelab"
    role_pattern = r"arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+"
    assert check(doc) == [
        v(
            "TrainingJobDefinition.RoleArn",
            f"must match the pattern {role_pattern}; got '/local/role/for/tunelab'",
        )
    ]


# -- several violations, other operations, check_shape -------------------------------------


def test_all_violations_are_reported_in_document_order() -> None:
    doc = single()
    doc["HyperParameterTuningJobName"] = "bad name"
    doc["HyperParameterTuningJobConfig"]["Strategy"] = "Sobol"
    doc["TrainingJobDefinition"]["StoppingCondition"]["MaxRuntimeInSeconds"] = 0
    doc["Tags"][0]["Value"] = "a;b"
    assert [x.path for x in check(doc)] == [
        "HyperParameterTuningJobName",
        "HyperParameterTuningJobConfig.Strategy",
        "TrainingJobDefinition.StoppingCondition.MaxRuntimeInSeconds",
        "Tags[0].Value",
    ]


def test_other_operations_use_their_own_input_shape() -> None:
    arn = "arn:aws:sagemaker:us-east-1:123456789012:training-job/xgb-tune-1-001-abc"
    tags = [{"Key": "team", "Value": "ml"}]
    assert check_input("AddTags", {"ResourceArn": arn, "Tags": tags}) == []
    assert check_input("DeleteTags", {"ResourceArn": arn, "TagKeys": []}) == [
        v("TagKeys", "must have at least 1 item; got 0")
    ]
    assert check_input("StopTrainingJob", {}) == [v("TrainingJobName", "is required")]


def test_check_shape_on_a_sub_shape_prefixes_the_path() -> None:
    shape = input_shape(CREATE).members["HyperParameterTuningJobConfig"]
    doc = copy.deepcopy(single()["HyperParameterTuningJobConfig"])
    assert check_shape(doc, shape, "Config") == []
    doc["ResourceLimits"]["MaxParallelTrainingJobs"] = 0
    assert check_shape(doc, shape, "Config") == [
        v("Config.ResourceLimits.MaxParallelTrainingJobs", "must be at least 1; got 0")
    ]


def test_violations_carry_the_validation_code() -> None:
    doc = single()
    del doc["HyperParameterTuningJobName"]
    assert [x.code for x in check(doc)] == ["ValidationException"]


# -- Java patterns -------------------------------------------------------------------------


def _reachable_patterns() -> dict[str, str]:
    """Every model pattern reachable from the input shapes of OPERATIONS -> a shape name."""
    patterns: dict[str, str] = {}
    seen: set[str] = set()
    stack: list[Shape] = [input_shape(op) for op in OPERATIONS]
    while stack:
        shape = stack.pop()
        if shape.name in seen:
            continue
        seen.add(shape.name)
        if "pattern" in shape.metadata:
            patterns.setdefault(shape.metadata["pattern"], shape.name)
        if isinstance(shape, StructureShape):
            stack.extend(shape.members.values())
        elif isinstance(shape, ListShape):
            stack.append(shape.member)
        elif isinstance(shape, MapShape):
            stack.extend((shape.key, shape.value))
    return patterns


def test_every_reachable_model_pattern_compiles() -> None:
    patterns = _reachable_patterns()
    # the walk must really reach the patterns that need translation
    assert TAG_PATTERN in patterns
    assert any(r"\p{Alnum}" in p for p in patterns)
    assert len(patterns) >= 20
    failures = {}
    for pattern, shape_name in patterns.items():
        try:
            compile_pattern(pattern)
        except ValueError as error:
            failures[shape_name] = str(error)
    assert failures == {}


def test_posix_alnum_is_ascii_like_java() -> None:
    pattern = compile_pattern(r"arn:[\p{Alnum}\-]+:lambda:[\p{Alnum}\-]+:[0-9]{12}:function:.*")
    assert pattern.fullmatch("arn:aws:lambda:us-east-1:123456789012:function:creds")
    assert not pattern.fullmatch("arn:aws:lambda:us-éast-1:123456789012:function:creds")


def test_java_semantics_of_dot_and_shorthand_classes() -> None:
    assert not compile_pattern(".+").fullmatch("a\rb")
    assert compile_pattern("[.]").fullmatch(".")
    assert not compile_pattern("[.]").fullmatch("x")
    assert not compile_pattern(r"\d+").fullmatch("٣")  # Java's \d is ASCII
    assert compile_pattern(r"[\S\s]*").fullmatch("any\nthing é")
    assert compile_pattern(r"[^\p{L}]+").fullmatch("123 ;")
    assert not compile_pattern(r"[^\p{L}]+").fullmatch("é")
    assert compile_pattern(r"\P{N}+").fullmatch("abc")
    assert not compile_pattern(r"\P{N}+").fullmatch("a1")


@pytest.mark.parametrize(
    "pattern", [r"[a-z&&[^b]]", r"[a[bc]]", r"\Qa.b\E", r"a\Z", r"\v", r"\p{InGreek}", r"\p{C}"]
)
def test_untranslatable_constructs_raise_instead_of_changing_meaning(pattern: str) -> None:
    with pytest.raises(ValueError):
        compile_pattern(pattern)


def test_21_channels() -> None:
    doc = single()
    channel = doc["TrainingJobDefinition"]["InputDataConfig"][0]
    doc["TrainingJobDefinition"]["InputDataConfig"] = [
        dict(copy.deepcopy(channel), ChannelName=f"c{i}") for i in range(21)
    ]
    assert check(doc) == [
        v("TrainingJobDefinition.InputDataConfig", "must have at most 20 items; got 21")
    ]


@pytest.mark.parametrize("member", ["MaxParallelTrainingJobs", "MaxNumberOfTrainingJobs"])
def test_resource_limits_start_at_one(member: str) -> None:
    doc = single()
    doc["HyperParameterTuningJobConfig"]["ResourceLimits"][member] = 0
    assert check(doc) == [
        v(f"HyperParameterTuningJobConfig.ResourceLimits.{member}", "must be at least 1; got 0")
    ]
