"""A metric regex whose repeats the ``regex`` package would build out in memory is refused at
create time, naming the field and the rule; real metric regexes pass."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.domain.test_definition_rules import training_messages, tuning_messages
from tunelab.algorithms.catalog import BUILTINS
from tunelab.domain.metric_regex import regex_problem

EXAMPLES = Path(__file__).parents[2] / "examples"


def too_long(size: str) -> str:
    return (
        "a metric regex, its repeats written out in full ((?:ab){2,3} as ababab), is at most "
        f"10000 characters long (here: {size}): the regex package that reads metrics builds "
        "every repeat out in memory"
    )


def spaced_count(braces: str) -> str:
    return (
        "a verbose ((?x)) metric regex writes a repeat count without blanks or comments "
        f"inside its braces (here: {braces!r}): the regex package that reads metrics takes "
        "it as a repeat, re as text"
    )


def algorithm(regex: str) -> dict[str, Any]:
    return {
        "TrainingImage": "file:///bin/true",
        "TrainingInputMode": "File",
        "MetricDefinitions": [
            {"Name": "validation:accuracy", "Regex": "validation:accuracy=([0-9.]+)"},
            {"Name": "loss", "Regex": regex},
        ],
    }


@pytest.mark.parametrize("messages", [tuning_messages, training_messages])
@pytest.mark.parametrize(
    ("regex", "size"),
    [
        ("a{10000000}", "10000000"),
        ("a{2147483648}", "2147483648"),
        ("(?:ab){4000000000}", "8000000000"),  # two characters, 4e9 times
        ("(?:(?:a{100}){100}){100}", "1000000"),  # nested counts multiply
        ("x{9999}" * 20, "199980"),  # side by side they add up
        ("a{10001}", "10001"),
        ("a{10001,}", "10001"),  # unbounded: its minimum
        ("a{2,10001}", "10001"),  # the larger bound
        ("a{10001}+", "10001"),  # possessive
        ("(?:a{10001})?", "10001"),
        ("x|(?:y{5001}){2}", "10003"),  # every alternative counts
        ("(a)(?(1)b{20000}|c)", "20002"),  # and both branches of a condition
        ("(?=a{10001})", "10001"),  # and lookarounds
        ("(?:(?:(?:a{1000000}){1000000}){1000000}){1000000}", "over 1e+18"),
    ],
)
def test_a_regex_whose_repeats_come_to_over_the_cap_is_refused_naming_the_field(
    messages: Any, regex: str, size: str
) -> None:
    assert messages(AlgorithmSpecification=algorithm(regex)) == [
        f"AlgorithmSpecification.MetricDefinitions[1].Regex: {too_long(size)}"
    ]


@pytest.mark.parametrize(
    ("regex", "braces"),
    [
        ("(?x)a{ 1000000 }", "{ 1000000 }"),
        ("(?x:loss=([0-9]{1, 3}))", "{1, 3}"),
        ("(?ix)a{10#ten\n00000}", "{10#ten\n00000}"),
        ("(?x)a\\\\{\t1000000}", "{\t1000000}"),  # an escaped backslash, then a real brace
    ],
)
def test_a_verbose_regex_with_blanks_inside_a_count_is_refused(regex: str, braces: str) -> None:
    """``re`` reads such braces as text, so their count goes unmeasured; the ``regex``
    package reads them as a repeat (``(?x)a{ 1000000 }`` builds ~250 MB)."""
    assert regex_problem(regex) == spaced_count(braces)


@pytest.mark.parametrize(
    "regex",
    [
        "a{10000}",  # at the cap
        "x{5000}y{4999}z",
        r"loss=(\d{0,5000})",
        "a{ 1000000 }",  # not verbose: text for both re and the regex package
        "(?x)a\\{ 5 }",  # an escaped brace is text for both
        "(?x) loss \\s* = \\s* ([0-9.]+)",
        "Train_error=(.*?);",
        r"validation:rmse=([0-9\.]+)",
        r"Epoch\s+([0-9]+)/\d+",
        r"test_acc: ([0-9]{1,3}\.[0-9]+)%",
        r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}.*loss: ([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?\d+)?)",
        "x" * 500,  # SageMaker's longest regex, without repeats
    ],
)
def test_real_metric_regexes_pass(regex: str) -> None:
    assert regex_problem(regex) is None


def repository_regexes() -> list[str]:
    """The built-in algorithms' predefined metric regexes and the examples'."""
    found = [m.regex for spec in BUILTINS.values() for m in spec.metrics]
    for path in EXAMPLES.glob("*.json"):
        found += _regexes(json.loads(path.read_text()))
    return found


def _regexes(document: Any) -> list[str]:
    if isinstance(document, dict):
        own = [document["Regex"]] if isinstance(document.get("Regex"), str) else []
        return own + [r for value in document.values() for r in _regexes(value)]
    if isinstance(document, list):
        return [r for value in document for r in _regexes(value)]
    return []


def test_every_metric_regex_of_the_repository_passes() -> None:
    regexes = repository_regexes()
    assert len(regexes) > 50
    assert [r for r in regexes if regex_problem(r) is not None] == []
