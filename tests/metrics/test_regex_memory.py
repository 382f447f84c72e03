"""A metric regex whose repeats the ``regex`` package would build out in memory (one stored
before create time refused it) is refused by validate_regex and the extractor with the
create-time message, without being compiled: checking it takes no memory to speak of."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from tunelab.domain.definition import MetricDefinition
from tunelab.domain.metric_regex import regex_problem
from tunelab.metrics.extract import MetricExtractor, validate_regex

WORST = [
    "a{10000000}",  # MemoryError under a 2 GB limit
    "a{2147483648}",
    "(?:ab){4000000000}",  # compiled for minutes
    "(?:(?:a{100}){100}){100}",  # ~280 MB
    "(?x)a{ 1000000 }",  # re reads text, the regex package a repeat: ~250 MB
]

CHECK = textwrap.dedent(
    """
    import json, resource, sys
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
    from tunelab.domain.definition import MetricDefinition
    from tunelab.metrics.extract import MetricExtractor, validate_regex
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    answer = validate_regex(sys.argv[1])
    try:
        MetricExtractor([MetricDefinition("m", sys.argv[1])])
        refused = None
    except ValueError as error:
        refused = str(error)
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    print(json.dumps({"answer": answer, "refused": refused, "grown_kib": grown}))
    """
)


@pytest.mark.parametrize("pattern", WORST)
def test_checking_a_regex_that_would_fill_memory_refuses_it_without_compiling(
    pattern: str,
) -> None:
    """In a child process under a 1 GiB address-space limit: the answer is the create-time
    rule's, and the peak resident memory grows by less than 16 MiB."""
    try:
        done = subprocess.run(
            [sys.executable, "-c", CHECK, pattern], capture_output=True, text=True, timeout=60
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"checking {pattern!r} took over 60 s")
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    problem = regex_problem(pattern)
    assert problem is not None
    assert result["answer"] == problem
    assert result["refused"] == f"metric 'm': regex {pattern!r} {problem}"
    assert result["grown_kib"] < 16 * 1024


def test_a_regex_at_the_cap_still_compiles_and_reads_metrics() -> None:
    pattern = r"step (\d+)" + "x{9990}"
    assert validate_regex(pattern) is None
    extractor = MetricExtractor([MetricDefinition("m", pattern)])
    points = extractor.feed(["step 7" + "x" * 9990, "step 8 x"], 1.0)
    assert [p.value for p in points] == [7.0]
