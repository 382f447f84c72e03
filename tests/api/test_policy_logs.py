"""Access key policies and the CloudWatch Logs actions (``logs:<Operation>``)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tunelab.api.policy import KNOWN, LOGS_ACTIONS, Policy, PolicyError
from tunelab.api.sigv4 import AuthError


def test_logs_actions_are_named_with_or_without_their_prefix() -> None:
    policy = Policy.parse("DescribeTrainingJob, logs:GetLogEvents, DescribeLogStreams")
    assert policy.operations == {
        "DescribeTrainingJob",
        "logs:GetLogEvents",
        "logs:DescribeLogStreams",
    }
    assert policy.allows("logs:GetLogEvents") and not policy.allows("logs:FilterLogEvents")
    assert str(policy) == "DescribeTrainingJob,logs:DescribeLogStreams,logs:GetLogEvents"


def test_read_only_and_full_allow_every_logs_action() -> None:
    assert all(Policy.parse("read-only").allows(action) for action in LOGS_ACTIONS)
    assert all(Policy.parse("full").allows(action) for action in LOGS_ACTIONS)


def test_a_logs_action_under_sagemaker_is_unknown() -> None:
    with pytest.raises(
        PolicyError, match=r"unknown operation 'GetLogEvents' \(did you mean logs:GetLogEvents\?\)"
    ):
        Policy.parse("sagemaker:GetLogEvents")
    with pytest.raises(PolicyError, match=r"'logs:GetLogEvent' \(did you mean logs:GetLogEvents"):
        Policy.parse("logs:GetLogEvent")


def test_the_refusal_names_the_logs_action() -> None:
    with pytest.raises(AuthError) as caught:
        Policy.parse("CreateTrainingJob").check("logs:GetLogEvents", "AKIDLOGS")
    assert caught.value.message == (
        "User: AKIDLOGS is not authorized to perform: logs:GetLogEvents because no "
        "identity-based policy allows the logs:GetLogEvents action"
    )


@given(st.sets(st.sampled_from(KNOWN), min_size=1))
def test_text_round_trips(operations: set[str]) -> None:
    policy = Policy.parse(",".join(sorted(operations)))
    assert Policy.parse(str(policy)) == policy
    assert {op for op in KNOWN if policy.allows(op)} == operations
