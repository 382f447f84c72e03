"""The wizard's state <-> the request: every member survives a round trip (what
the form does not show is kept as JSON), posted fields are read back, and the
buttons add, clone and delete definitions and rows."""

from __future__ import annotations

import copy
import json

import pytest

from tests.factories import make_document, make_multi_document
from tunelab.console.wizard_actions import ActionError, apply_action
from tunelab.console.wizard_build import build, fid, form_for_document
from tunelab.console.wizard_form import JobForm, job_form_from_form


def without_default_early_stopping(document: dict) -> dict:
    found = copy.deepcopy(document)
    found["HyperParameterTuningJobConfig"].setdefault("TrainingJobEarlyStoppingType", "Off")
    return found


def as_fields(form: JobForm) -> dict[str, str]:
    """The fields a browser posts for ``form`` (as the templates name them)."""
    fields: dict[str, str] = {
        "name": form.name,
        "strategy": form.strategy,
        "hb_min": form.hb_min,
        "hb_max": form.hb_max,
        "early_stopping": form.early_stopping,
        "seed": form.seed,
        "target": form.target,
        "not_improving": form.not_improving,
        "warm_type": form.warm_type,
        "max_parallel": form.max_parallel,
        "max_jobs": form.max_jobs,
        "max_runtime": form.max_runtime,
        "extra": form.extra,
        "step": str(form.step),
    }
    if form.convergence:
        fields["convergence"] = "on"
    for k, parent in enumerate(form.warm_parents):
        fields[f"ws_parent.{k}.name"] = parent
    for k, tag in enumerate(form.tags):
        fields[f"tag.{k}.key"], fields[f"tag.{k}.value"] = tag.key, tag.value
    for i, d in enumerate(form.definitions):
        p = f"d{i}."
        for key in ("name", "role", "source", "image", "algorithm", "input_mode"):
            fields[p + key] = getattr(d, key)
        for key in ("objective_metric", "objective_type", "checkpoint", "output", "kms"):
            fields[p + key] = getattr(d, key)
        for key in ("instance_type", "instance_count", "volume", "max_wait", "max_runtime"):
            fields[p + key] = getattr(d, key)
        fields[p + "extra"] = d.extra
        if d.isolation:
            fields[p + "isolation"] = "on"
        if d.spot:
            fields[p + "spot"] = "on"
        for k, m in enumerate(d.metrics):
            fields.update({f"{p}metric.{k}.name": m.name, f"{p}metric.{k}.regex": m.regex})
        for k, h in enumerate(d.hyperparameters):
            for key in ("name", "kind", "min", "max", "values", "scaling"):
                fields[f"{p}hp.{k}.{key}"] = getattr(h, key)
        for k, c in enumerate(d.channels):
            for key in ("name", "uri", "content_type", "extra"):
                fields[f"{p}channel.{k}.{key}"] = getattr(c, key)
        for k, e in enumerate(d.environment):
            fields[f"{p}env.{k}.key"], fields[f"{p}env.{k}.value"] = e.key, e.value
    return fields


@pytest.mark.parametrize("document", [make_document(), make_multi_document()], ids=["one", "two"])
def test_a_request_survives_the_wizard(document: dict) -> None:
    document["Tags"] = [{"Key": "team", "Value": "vision"}, {"Key": "flag", "Value": ""}]
    assert build(form_for_document(document)).document == without_default_early_stopping(document)


def test_members_the_form_does_not_show_are_kept() -> None:
    document = make_document()
    definition = document["TrainingJobDefinition"]
    definition["VpcConfig"] = {"SecurityGroupIds": ["sg-1"], "Subnets": ["subnet-1"]}
    definition["RetryStrategy"] = {"MaximumRetryAttempts": 2}
    definition["OutputDataConfig"]["CompressionType"] = "NONE"
    definition["InputDataConfig"] = [
        {
            "ChannelName": "train",
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri": "s3://bucket/train/",
                    "S3DataDistributionType": "ShardedByS3Key",
                }
            },
            "CompressionType": "Gzip",
        }
    ]
    document["Autotune"] = {"Mode": "Enabled"}
    form = form_for_document(document)
    assert json.loads(form.definitions[0].extra) == {
        "OutputDataConfig": {"CompressionType": "NONE"},
        "VpcConfig": {"SecurityGroupIds": ["sg-1"], "Subnets": ["subnet-1"]},
        "RetryStrategy": {"MaximumRetryAttempts": 2},
    }
    assert json.loads(form.extra) == {"Autotune": {"Mode": "Enabled"}}
    rebuilt = build(job_form_from_form(as_fields(form))).document
    assert rebuilt == without_default_early_stopping(document)


def test_posted_fields_read_back_into_the_same_request() -> None:
    document = make_multi_document()
    document["HyperParameterTuningJobConfig"]["TuningJobCompletionCriteria"] = {
        "TargetObjectiveMetricValue": 0.9,
        "BestObjectiveNotImproving": {"MaxNumberOfTrainingJobsNotImproving": 5},
    }
    document["TrainingJobDefinitions"][1]["EnableManagedSpotTraining"] = True
    document["TrainingJobDefinitions"][1]["StoppingCondition"]["MaxWaitTimeInSeconds"] = 120
    document["TrainingJobDefinitions"][0]["Environment"] = {"SEED": "1"}
    form = form_for_document(document)
    assert build(job_form_from_form(as_fields(form))).document == (
        without_default_early_stopping(document)
    )


def test_text_that_is_not_a_number_goes_to_the_api_as_typed() -> None:
    form = form_for_document(make_document())
    form.max_parallel = "two"
    built = build(form)
    limits = built.document["HyperParameterTuningJobConfig"]["ResourceLimits"]
    assert limits["MaxParallelTrainingJobs"] == "two"
    assert built.fields[
        "HyperParameterTuningJobConfig.ResourceLimits.MaxParallelTrainingJobs"
    ] == ("max_parallel")


def test_an_extra_field_that_is_not_json_is_a_problem_of_that_field() -> None:
    form = form_for_document(make_document())
    form.definitions[0].extra = "{not json"
    assert "d0-extra" in build(form).local


def test_two_definitions_become_a_list_with_their_own_objective_and_ranges() -> None:
    form = form_for_document(make_document())
    form = apply_action(form, "clone-def:0")
    document = build(form).document
    assert "TrainingJobDefinition" not in document
    first, second = document["TrainingJobDefinitions"]
    assert first["DefinitionName"] == "definition-1"
    assert second["DefinitionName"] == "definition-1-2"
    assert second["TuningObjective"] == first["TuningObjective"]
    assert second["HyperParameterRanges"] == first["HyperParameterRanges"]
    assert "ParameterRanges" not in document["HyperParameterTuningJobConfig"]
    form = apply_action(form, "del-def:0")
    assert list(build(form).document) == list(build(form_for_document(make_document())).document)


def test_rows_are_added_and_deleted() -> None:
    form = JobForm.new()
    for action in ("add:d0.metric", "add:d0.hp", "add:d0.channel", "add:d0.env", "add:tag"):
        form = apply_action(form, action)
    d = form.definitions[0]
    assert (len(d.metrics), len(d.hyperparameters), len(d.channels), len(d.environment)) == (
        2,
        2,
        1,
        1,
    )
    form = apply_action(form, "del:d0.hp.0")
    form = apply_action(form, "del:tag.0")
    assert len(d.hyperparameters) == 1 and form.tags == []
    for _ in range(7):
        form = apply_action(form, "add:ws_parent")
    assert len(form.warm_parents) == 5
    with pytest.raises(ActionError):
        apply_action(form, "del:d3.hp.0")
    with pytest.raises(ActionError):
        apply_action(form, "rm -rf")


def test_field_ids() -> None:
    assert fid("d0.hp.2.min") == "d0-hp-2-min"
