"""Metric points from training-job log lines, as SageMaker reads them from CloudWatch.

Contract of :class:`MetricExtractor`:

- Every definition's regex is applied to every line with ``re.search``; the first
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

As in SageMaker, the final value of the objective is the *latest* point, not the best:
see :func:`latest`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence

from tunelab.domain.definition import MetricDefinition
from tunelab.domain.trial import MetricPoint

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


def validate_regex(regex: str) -> str | None:
    """None when ``regex`` compiles, else an error text for a message naming the field,
    e.g. ``is not a valid regular expression: missing ), unterminated subpattern at
    position 5``."""
    try:
        re.compile(regex)
    except re.error as error:
        return f"is not a valid regular expression: {error}"
    return None


class MetricExtractor:
    """Turns new log lines of one training job into metric points (pure, no I/O).

    Args:
        definitions: the job's metric definitions; their regexes are compiled once
            (ValueError for one that does not compile).
        counts: points already extracted per metric name, to resume step numbering.
    """

    def __init__(
        self,
        definitions: Sequence[MetricDefinition],
        counts: Mapping[str, int] | None = None,
    ) -> None:
        compiled: list[tuple[str, re.Pattern[str]]] = []
        for d in definitions:
            error = validate_regex(d.regex)
            if error is not None:
                raise ValueError(f"metric {d.name!r}: regex {d.regex!r} {error}")
            compiled.append((d.name, re.compile(d.regex)))
        self._patterns = tuple(compiled)
        self._counts: dict[str, int] = dict(counts or {})
        self.unreadable: dict[str, str] = {}
        """The latest matched text of each metric that was not a number."""

    @property
    def counts(self) -> dict[str, int]:
        """Points extracted so far per metric name (a copy), including the initial counts."""
        return dict(self._counts)

    def feed(self, lines: Sequence[str], timestamp: float) -> list[MetricPoint]:
        """Points found in ``lines`` (new lines only), all stamped ``timestamp``."""
        points: list[MetricPoint] = []
        for line in lines:
            for name, pattern in self._patterns:
                match = pattern.search(line)
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


def latest(points: Iterable[MetricPoint], metric_name: str) -> MetricPoint | None:
    """The point of ``metric_name`` with the highest step (the latest emitted; later in
    ``points`` wins a tie), or None. SageMaker's final objective value is this one."""
    found: MetricPoint | None = None
    for point in points:
        if point.metric_name == metric_name and (found is None or point.step >= found.step):
            found = point
    return found
