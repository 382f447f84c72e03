"""Response bodies are strict JSON: a metric's infinite value is written as botocore
writes one, never as a bare ``Infinity`` token a strict parser refuses."""

from __future__ import annotations

import json

from tunelab.api.wire import encode


def strict(body: bytes) -> object:
    def refuse(token: str) -> object:
        raise ValueError(f"non-standard JSON constant {token}")

    return json.loads(body, parse_constant=refuse)


def test_non_finite_numbers_are_strings_and_the_rest_is_kept() -> None:
    payload = {
        "FinalMetricDataList": [
            {"MetricName": "loss", "Value": float("inf"), "Timestamp": 1.5},
            {"MetricName": "gain", "Value": float("-inf")},
            {"MetricName": "odd", "Value": float("nan")},
        ],
        "Count": 3,
    }
    assert strict(encode(payload)) == {
        "FinalMetricDataList": [
            {"MetricName": "loss", "Value": "Infinity", "Timestamp": 1.5},
            {"MetricName": "gain", "Value": "-Infinity"},
            {"MetricName": "odd", "Value": "NaN"},
        ],
        "Count": 3,
    }
    assert encode({"a": [1.0, "x"]}) == b'{"a":[1.0,"x"]}'
