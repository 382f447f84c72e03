"""Metric points from training-job log lines, as SageMaker reads them from CloudWatch.

Contract of :class:`MetricExtractor`:

- Every definition's regex is applied to every line with ``search`` (the ``regex``
  package, whose default syntax is ``re``'s, with a time budget: see below); the first
  capture group (the whole match when the regex has no group) read as a number is
  one point. A line may give points of several metrics; points come in line order,
  then definition order.
- A match whose text is not a plain decimal number (``1.5``, ``-2``, ``.5``, ``3e-4``,
  ``inf``, ``-Infinity``; surrounding blanks allowed) is ignored, and so is NaN and a
  group that did not take part in the match. ``+/-inf`` is kept.
- ``step`` counts the points of a metric in this job from 0; ``counts`` resumes the
  numbering after a restart.
- ``unreadable`` keeps, per metric, the latest text a match gave that is not a number
  (NaN included), so that a job whose regex matched but never gave a number can say so.
- Bounded work: a regex gets :data:`MATCH_BUDGET_SECONDS` of CPU time per line
  (catastrophic backtracking, e.g. ``(a|aa)+$`` on ``"a" * 40 + "b"``, would otherwise
  run for hours). A regex that exceeds it is *disabled* for the rest of the job:
  ``disabled`` maps its metric name to a reason naming the metric, its regex and the
  rule; the other definitions go on. The match releases the GIL (``concurrent``), so
  other threads run meanwhile. A line that lacks text every match must contain (the
  longest run of plain characters at the top level of the regex, e.g. ``loss=``) is
  skipped without running the regex: the budget's clock costs a system call per match.

As in SageMaker, the final value of the objective is the *latest* point, not the best:
see :func:`latest`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence

import regex

from tunelab.domain.definition import MetricDefinition
from tunelab.domain.metric_regex import regex_problem
from tunelab.domain.trial import MetricPoint

MATCH_BUDGET_SECONDS = 0.1
"""CPU time one regex may take on one log line. A metric regex scans a typical line in
microseconds and a line at the 256 KiB cap (:mod:`tunelab.execution.log_lines`) in about
a millisecond; only runaway backtracking gets near 100 ms. With at most 20 definitions,
a job costs the thread that reads its metrics at most ~2 s before all are disabled."""

_NUMBER = re.compile(
    r"[-+]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|inf(?:inity)?|nan)",
    re.IGNORECASE,
)


def parse_number(text: str) -> float | None:
    """``text`` as a float, or None when it is not a plain decimal number or is NaN.
    Stricter than ``float()``: no underscores (``1_000``)."""
    text = text.strip()
    if not _NUMBER.fullmatch(text):
        return None
    value = float(text)
    return None if math.isnan(value) else value


def validate_regex(pattern: str) -> str | None:
    """None when ``pattern`` compiles (with ``re``, whose messages users know, and with the
    ``regex`` package that matches it), else an error text for a message naming the
    field, e.g. ``is not a valid regular expression: missing ), unterminated subpattern
    at position 5``. Never raises for a pattern: ``re``'s errors are
    :func:`~tunelab.domain.metric_regex.regex_problem`'s, and the ``regex`` package's
    (its error, OverflowError, ValueError, RecursionError) are caught too. The ``regex``
    package only compiles what ``regex_problem`` accepts: a regex whose repeats it would
    build out in memory (``a{10000000}``, from a store written before that rule) is
    refused with the create-time message, without being compiled."""
    problem = regex_problem(pattern)
    if problem is not None:
        return problem
    try:
        regex.compile(pattern)
    except RecursionError:
        return "is not a valid regular expression: its groups are nested too deeply"
    except (regex.error, OverflowError, ValueError) as error:
        return f"is not a valid regular expression: {error}"
    return None


class MetricExtractor:
    """Turns new log lines of one training job into metric points (pure, no I/O).

    Args:
        definitions: the job's metric definitions; their regexes are compiled once
            (ValueError for one that does not compile).
        counts: points already extracted per metric name, to resume step numbering.
        budget: CPU seconds a regex may take on one line (see the module docstring).
    """

    def __init__(
        self,
        definitions: Sequence[MetricDefinition],
        counts: Mapping[str, int] | None = None,
        budget: float = MATCH_BUDGET_SECONDS,
    ) -> None:
        compiled: list[tuple[MetricDefinition, regex.Pattern[str], str]] = []
        for d in definitions:
            error = validate_regex(d.regex)
            if error is not None:
                raise ValueError(f"metric {d.name!r}: regex {d.regex!r} {error}")
            compiled.append((d, regex.compile(d.regex), _required_text(d.regex)))
        self._patterns = tuple(compiled)
        self._budget = budget
        self._counts: dict[str, int] = dict(counts or {})
        self.unreadable: dict[str, str] = {}
        """The latest matched text of each metric that was not a number."""
        self.disabled: dict[str, str] = {}
        """Why a metric is no longer read (its regex ran over the budget on a line)."""

    @property
    def counts(self) -> dict[str, int]:
        """Points extracted so far per metric name (a copy), including the initial counts."""
        return dict(self._counts)

    def feed(self, lines: Sequence[str], timestamp: float) -> list[MetricPoint]:
        """Points found in ``lines`` (new lines only), all stamped ``timestamp``."""
        points: list[MetricPoint] = []
        for line in lines:
            for definition, pattern, required in self._patterns:
                name = definition.name
                if required not in line or name in self.disabled:
                    continue
                try:
                    match = pattern.search(line, concurrent=True, timeout=self._budget)
                except TimeoutError:
                    self.disabled[name] = self._over_budget(definition, line)
                    continue
                if match is None:
                    continue
                text = match.group(1) if pattern.groups else match.group(0)
                if text is None:
                    continue
                value = parse_number(text)
                if value is None:
                    self.unreadable[name] = text
                    continue
                step = self._counts.get(name, 0)
                self._counts[name] = step + 1
                points.append(MetricPoint(name, value, timestamp, step))
        return points

    def _over_budget(self, definition: MetricDefinition, line: str) -> str:
        return (
            f"MetricRegexTooSlow: metric {definition.name!r}: its regex {definition.regex!r} "
            f"took longer than {self._budget * 1000:g} ms on a log line of {len(line)} "
            "characters, so the metric is no longer read for this training job "
            "(a regex such as (a|aa)+$ backtracks for hours on a line it does not match)"
        )


_QUANTIFIER = re.compile(r"\{\d*(?:,\d*)?\}")


def _required_text(pattern: str) -> str:
    """The longest run of characters every match of ``pattern`` contains as they are
    (consecutive literals at its top level), or "" when unsure: case-insensitive, or
    syntax the ``regex`` package reads otherwise than ``re`` (``[[:alpha:]]``, fuzzy
    ``{e<=1}``), or ``re``'s parser unavailable."""
    if "[:" in pattern or "{" in _QUANTIFIER.sub("", pattern):
        return ""
    try:
        from re import _constants, _parser  # type: ignore[attr-defined]

        parsed = _parser.parse(pattern)
    except Exception:  # another Python's re: no shortcut
        return ""
    if parsed.state.flags & (re.IGNORECASE | re.LOCALE):
        return ""
    best, run = "", ""
    for op, argument in [*parsed, (None, None)]:
        if op is _constants.LITERAL:
            run += chr(argument)
        else:
            best, run = max(best, run, key=len), ""
    return best


def latest(points: Iterable[MetricPoint], metric_name: str) -> MetricPoint | None:
    """The point of ``metric_name`` with the highest step (the latest emitted; later in
    ``points`` wins a tie), or None. SageMaker's final objective value is this one."""
    found: MetricPoint | None = None
    for point in points:
        if point.metric_name == metric_name and (found is None or point.step >= found.step):
            found = point
    return found
