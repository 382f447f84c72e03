"""MetricExtractor: literal log lines in, exact metric points out."""

from __future__ import annotations

import math
import threading
import time

import pytest

from tunelab.domain.definition import MetricDefinition
from tunelab.domain.trial import MetricPoint
from tunelab.metrics.extract import MetricExtractor, latest, parse_number, validate_regex

ACCURACY = MetricDefinition("validation:accuracy", r"validation-accuracy=([0-9\.]+)")
AUC = MetricDefinition(
    "validation:auc",
    r".*\[[0-9]+\].*#011validation-auc:([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?).*",
)
TRAIN_AUC = MetricDefinition("train:auc", r"#011train-auc:([-+]?[0-9]*\.?[0-9]+)")
LOSS = MetricDefinition("loss", r"loss: (\S+)")


def test_sagemaker_style_regexes_give_exact_points() -> None:
    extractor = MetricExtractor([ACCURACY, AUC, TRAIN_AUC, LOSS])
    lines = [
        "Starting training",
        "[0]#011train-auc:0.81250#011validation-auc:0.79375",
        "epoch 1 validation-accuracy=0.8125 loss: 0.693",
        "[1]#011train-auc:0.9#011validation-auc:8.125e-01",
        "epoch 2 validation-accuracy=0.875 loss: -1.5E+2",
    ]
    assert extractor.feed(lines, 100.0) == [
        MetricPoint("validation:auc", 0.79375, 100.0, 0),
        MetricPoint("train:auc", 0.8125, 100.0, 0),
        MetricPoint("validation:accuracy", 0.8125, 100.0, 0),
        MetricPoint("loss", 0.693, 100.0, 0),
        MetricPoint("validation:auc", 0.8125, 100.0, 1),
        MetricPoint("train:auc", 0.9, 100.0, 1),
        MetricPoint("validation:accuracy", 0.875, 100.0, 1),
        MetricPoint("loss", -150.0, 100.0, 1),
    ]
    assert extractor.counts == {
        "validation:auc": 2,
        "train:auc": 2,
        "validation:accuracy": 2,
        "loss": 2,
    }


def test_steps_continue_across_feeds_with_each_feed_timestamp() -> None:
    extractor = MetricExtractor([LOSS])
    assert extractor.feed(["loss: 3"], 10.0) == [MetricPoint("loss", 3.0, 10.0, 0)]
    assert extractor.feed([], 11.0) == []
    assert extractor.feed(["loss: 2", "noise", "loss: 1"], 12.5) == [
        MetricPoint("loss", 2.0, 12.5, 1),
        MetricPoint("loss", 1.0, 12.5, 2),
    ]


@pytest.mark.parametrize(
    ("line", "value"),
    [
        ("loss: 1.5e-03", 0.0015),
        ("loss: -2.5", -2.5),
        ("loss: +7", 7.0),
        ("loss: .5", 0.5),
        ("loss: 3.", 3.0),
        ("loss: 6E2", 600.0),
        ("loss: inf", math.inf),
        ("loss: -Infinity", -math.inf),
    ],
)
def test_numbers_in_every_notation(line: str, value: float) -> None:
    assert MetricExtractor([LOSS]).feed([line], 0.0) == [MetricPoint("loss", value, 0.0, 0)]


@pytest.mark.parametrize(
    "line",
    ["loss: abc", "loss: nan", "loss: NaN", "loss: 1_000", "loss: 0x10", "loss: 0.5,", "loss:"],
)
def test_non_numbers_and_nan_are_ignored_without_using_a_step(line: str) -> None:
    extractor = MetricExtractor([LOSS])
    assert extractor.feed([line], 0.0) == []
    assert extractor.feed(["loss: 4"], 1.0) == [MetricPoint("loss", 4.0, 1.0, 0)]


def test_version_like_text_is_not_a_number() -> None:
    extractor = MetricExtractor([ACCURACY])
    assert extractor.feed(["validation-accuracy=1.2.3", "validation-accuracy=0.5"], 0.0) == [
        MetricPoint("validation:accuracy", 0.5, 0.0, 0)
    ]


def test_regex_without_group_reads_the_whole_match() -> None:
    extractor = MetricExtractor([MetricDefinition("score", r"-?[0-9]+\.[0-9]+")])
    assert extractor.feed(["score is -0.25 today", "no number"], 5.0) == [
        MetricPoint("score", -0.25, 5.0, 0)
    ]


def test_first_group_wins_and_optional_group_that_did_not_match_is_ignored() -> None:
    two_groups = MetricDefinition("rmse", r"rmse=([0-9.]+) \(best ([0-9.]+)\)")
    optional = MetricDefinition("lr", r"lr(?:=([0-9.]+))?")
    extractor = MetricExtractor([two_groups, optional])
    assert extractor.feed(["rmse=0.4 (best 0.3)", "lr", "lr=0.01"], 1.0) == [
        MetricPoint("rmse", 0.4, 1.0, 0),
        MetricPoint("lr", 0.01, 1.0, 0),
    ]


def test_first_match_in_a_line_is_the_point() -> None:
    extractor = MetricExtractor([LOSS])
    assert extractor.feed(["loss: 1 then loss: 2"], 0.0) == [MetricPoint("loss", 1.0, 0.0, 0)]


def test_counts_resume_numbering_after_a_restart() -> None:
    extractor = MetricExtractor([LOSS, ACCURACY], counts={"loss": 5, "other": 2})
    assert extractor.feed(["loss: 0.1", "validation-accuracy=0.9"], 3.0) == [
        MetricPoint("loss", 0.1, 3.0, 5),
        MetricPoint("validation:accuracy", 0.9, 3.0, 0),
    ]
    counts = extractor.counts
    assert counts == {"loss": 6, "other": 2, "validation:accuracy": 1}
    counts["loss"] = 100  # a copy: the extractor is not affected
    assert extractor.feed(["loss: 0.2"], 4.0) == [MetricPoint("loss", 0.2, 4.0, 6)]


def test_latest_is_the_last_point_not_the_best() -> None:
    extractor = MetricExtractor([ACCURACY, LOSS])
    points = extractor.feed(
        ["validation-accuracy=0.9 loss: 1", "validation-accuracy=0.95", "validation-accuracy=0.7"],
        0.0,
    )
    assert latest(points, "validation:accuracy") == MetricPoint("validation:accuracy", 0.7, 0.0, 2)
    assert latest(points, "loss") == MetricPoint("loss", 1.0, 0.0, 0)
    assert latest(points, "missing") is None
    assert latest([], "loss") is None
    assert latest(list(reversed(points)), "validation:accuracy") == points[-1]


def test_validate_regex_messages() -> None:
    assert validate_regex(r"loss: (\S+)") is None
    assert validate_regex("no group at all") is None
    assert validate_regex("loss: [0-9") == (
        "is not a valid regular expression: unterminated character set at position 6"
    )
    assert validate_regex("acc=(abc") == (
        "is not a valid regular expression: missing ), unterminated subpattern at position 4"
    )
    assert validate_regex("*x") == (
        "is not a valid regular expression: nothing to repeat at position 0"
    )


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("a{99999999999}", "the repetition number is too large"),  # OverflowError in re
        ("a{1,4294967296}", "the repetition number is too large"),
        ("(?u)(?a)x", "ASCII and UNICODE flags are incompatible"),  # ValueError in re
        ("(" * 600 + ")" * 600, "its groups are nested too deeply"),  # RecursionError
        ("(?a)(?L)x", "bad inline flags: cannot use 'L' flag with a str pattern at position 7"),
    ],
)
def test_validate_regex_answers_for_every_pattern_without_raising(
    pattern: str, reason: str
) -> None:
    assert validate_regex(pattern) == f"is not a valid regular expression: {reason}"
    with pytest.raises(ValueError, match="metric 'm'"):
        MetricExtractor([MetricDefinition("m", pattern)])


def test_invalid_regex_is_refused_at_construction() -> None:
    with pytest.raises(ValueError, match=r"metric 'bad'.*missing \), unterminated subpattern"):
        MetricExtractor([MetricDefinition("bad", "x(")])


def test_parse_number() -> None:
    assert parse_number(" 1.25 ") == 1.25
    assert parse_number("-3e2") == -300.0
    assert parse_number("nan") is None
    assert parse_number("1e") is None
    assert parse_number("") is None


def test_a_match_that_reads_no_number_is_remembered() -> None:
    extractor = MetricExtractor(
        [MetricDefinition("loss", r"loss=(\S*)"), MetricDefinition("acc", r"acc=[0-9.]+")]
    )
    assert extractor.feed(["loss=nan acc=0.5", "loss=abc"], 1.0) == []
    assert extractor.unreadable == {"acc": "acc=0.5", "loss": "abc"}
    assert [p.value for p in extractor.feed(["loss=0.25"], 2.0)] == [0.25]


RUNAWAY = MetricDefinition("m1", r"(a|aa)+$")
"""Catastrophic backtracking: ~1.6**n steps on ``"a" * n + "b"``."""


def test_a_runaway_regex_is_disabled_for_the_job_and_the_other_metrics_go_on() -> None:
    extractor = MetricExtractor([LOSS, RUNAWAY])
    line = "a" * 34 + "b"  # ~5 s with re and with regex; hours at 50
    points = extractor.feed(["loss: 1", line, "loss: 2", "aaa"], 0.0)
    assert points == [MetricPoint("loss", 1.0, 0.0, 0), MetricPoint("loss", 2.0, 0.0, 1)]
    assert extractor.disabled == {
        "m1": "MetricRegexTooSlow: metric 'm1': its regex '(a|aa)+$' took longer than 100 ms "
        "on a log line of 35 characters, so the metric is no longer read for this training "
        "job (a regex such as (a|aa)+$ backtracks for hours on a line it does not match)"
    }
    assert extractor.feed(["a" * 60 + "b", "loss: 3"], 1.0) == [MetricPoint("loss", 3.0, 1.0, 2)]


def test_a_runaway_regex_lets_other_threads_run() -> None:
    """The match releases the GIL: the server's API threads answer meanwhile (with ``re``,
    the other thread got no turn for the seconds the match took)."""
    turns: list[float] = []
    stop = threading.Event()

    def other_thread() -> None:
        while not stop.wait(0.001):
            turns.append(time.monotonic())

    thread = threading.Thread(target=other_thread)
    thread.start()
    try:
        started = time.monotonic()
        MetricExtractor([RUNAWAY]).feed(["a" * 34 + "b"], 0.0)
        ended = time.monotonic()
    finally:
        stop.set()
        thread.join()
    assert len([t for t in turns if started < t < ended]) >= 5


def test_sagemaker_regexes_on_a_line_at_the_cap_stay_within_the_budget() -> None:
    long_line = "x" * (256 * 1024 - 40) + " loss: 0.5 #011validation-auc:0.75"
    extractor = MetricExtractor([ACCURACY, AUC, TRAIN_AUC, LOSS])
    assert [p.metric_name for p in extractor.feed([long_line] * 3, 0.0)] == ["loss"] * 3
    assert extractor.disabled == {}


@pytest.mark.parametrize(
    ("regex", "line", "value"),
    [
        (r"(?i)LOSS=([0-9.]+)", "epoch 1 loss=0.5", 0.5),  # case-insensitive: no shortcut
        (r"(?x) loss \s* = \s* ([0-9.]+)", "loss = 0.5", 0.5),  # verbose: blanks ignored
        (r"[[:alpha:]]=([0-9.]+)", "loss=0.5", 0.5),  # a POSIX class: no literal "]="
        (r"val{1,2}=([0-9.]+)", "vall=0.5", 0.5),
        (r".*\[[0-9]+\].*#011validation-auc:([0-9.]+)", "[3]#011validation-auc:0.5", 0.5),
    ],
)
def test_lines_skipped_for_a_missing_literal_are_only_those_that_cannot_match(
    regex: str, line: str, value: float
) -> None:
    extractor = MetricExtractor([MetricDefinition("m", regex)])
    assert [p.value for p in extractor.feed([line, "nothing here"], 0.0)] == [value]
