"""YAML's plain scalars as YAML 1.2 reads them: only true/false are booleans; times and
dates stay strings; numbers, nulls, anchors and merge keys as before."""

from __future__ import annotations

import math

import pytest
import yaml

from tunelab.service.yaml12 import load_yaml


@pytest.mark.parametrize(
    "text", ["Off", "off", "OFF", "On", "yes", "No", "y", "n", "1:30", "-1:30.5", "2026-11-30"]
)
def test_words_times_and_dates_stay_strings(text: str) -> None:
    assert load_yaml(f"value: {text}") == {"value": text}


def test_yaml_1_1_read_them_otherwise() -> None:
    assert yaml.safe_load("[Off, yes, 1:30]") == [False, True, 90]
    assert load_yaml("[Off, yes, 1:30]") == ["Off", "yes", "1:30"]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("true", True),
        ("False", False),
        ("TRUE", True),
        ("3", 3),
        ("-0x1f", -31),
        ("1_000", 1000),
        ("0.5", 0.5),
        ("-1.5e+3", -1500.0),
        ("~", None),
        ("null", None),
        ("'Off'", "Off"),
    ],
)
def test_booleans_numbers_and_nulls_read_as_before(text: str, value: object) -> None:
    assert load_yaml(f"value: {text}") == {"value": value} == yaml.safe_load(f"value: {text}")


def test_infinity_anchors_and_merge_keys_still_work() -> None:
    loaded = load_yaml("a: .inf\nbase: &b {x: 1}\nmerged: {<<: *b, y: 2}\n")
    assert math.isinf(loaded["a"]) and loaded["merged"] == {"x": 1, "y": 2}
