"""Access key policies: parsing, what each allows, the refusal, and the text round trip."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tunelab.api.policy import SERVED_OPERATIONS, Policy, PolicyError
from tunelab.api.sigv4 import AuthError

WRITES = {
    "CreateHyperParameterTuningJob",
    "StopHyperParameterTuningJob",
    "DeleteHyperParameterTuningJob",
    "CreateTrainingJob",
    "StopTrainingJob",
    "AddTags",
    "DeleteTags",
    "CreateAlgorithm",
}


def test_full_allows_everything() -> None:
    policy = Policy.parse("full")
    assert all(policy.allows(op) for op in SERVED_OPERATIONS)
    assert str(policy) == "full"


def test_read_only_allows_describe_and_list_only() -> None:
    policy = Policy.parse(" Read-Only ")
    allowed = {op for op in SERVED_OPERATIONS if policy.allows(op)}
    assert allowed == set(SERVED_OPERATIONS) - WRITES
    assert "ListTags" in allowed
    assert str(policy) == "read-only"


def test_listed_operations_only() -> None:
    policy = Policy.parse("DescribeTrainingJob, sagemaker:CreateTrainingJob,")
    assert policy.operations == {"DescribeTrainingJob", "CreateTrainingJob"}
    assert policy.allows("CreateTrainingJob")
    assert not policy.allows("CreateHyperParameterTuningJob")
    assert not policy.allows("ListTrainingJobs")
    assert str(policy) == "CreateTrainingJob,DescribeTrainingJob"


def test_an_unknown_operation_is_named_with_a_suggestion_and_the_valid_list() -> None:
    with pytest.raises(PolicyError) as caught:
        Policy.parse("DescribeTrainingJob,describetrainingjobs,Frobnicate")
    message = str(caught.value)
    assert "'describetrainingjobs' (did you mean DescribeTrainingJob?)" in message
    assert "'Frobnicate' in policy" in message  # no suggestion for a name close to nothing
    assert all(op in message for op in SERVED_OPERATIONS)


@pytest.mark.parametrize("text", ["", "  ", ",", " , ,"])
def test_an_empty_policy_is_refused(text: str) -> None:
    with pytest.raises(PolicyError, match="empty policy"):
        Policy.parse(text)


def test_full_inside_a_list_is_not_a_wildcard() -> None:
    with pytest.raises(PolicyError, match="unknown operation 'full'"):
        Policy.parse("full,ListTags")


def test_the_refusal_is_access_denied_naming_key_and_operation() -> None:
    policy = Policy.parse("read-only")
    policy.check("DescribeHyperParameterTuningJob", "TLAKREADER0000000001")
    with pytest.raises(AuthError) as caught:
        policy.check("CreateHyperParameterTuningJob", "TLAKREADER0000000001")
    error = caught.value
    assert (error.code, error.status) == ("AccessDeniedException", 400)
    assert error.message == (
        "User: TLAKREADER0000000001 is not authorized to perform: "
        "sagemaker:CreateHyperParameterTuningJob because no identity-based policy allows "
        "the sagemaker:CreateHyperParameterTuningJob action"
    )


@given(st.sets(st.sampled_from(SERVED_OPERATIONS), min_size=1))
def test_text_round_trips(operations: set[str]) -> None:
    for policy in (
        Policy.parse(",".join(sorted(operations))),
        Policy("full"),
        Policy("read-only"),
    ):
        again = Policy.parse(str(policy))
        assert again == policy
        assert {op for op in SERVED_OPERATIONS if again.allows(op)} == {
            op for op in SERVED_OPERATIONS if policy.allows(op)
        }
