"""Metric extraction (pure): SageMaker ``MetricDefinitions`` regexes applied to the
new log lines of a training job, giving numbered metric points.

No I/O and no clock: the caller passes the lines and their timestamp.
"""

from tunelab.metrics.extract import MetricExtractor, latest, parse_number, validate_regex

__all__ = ["MetricExtractor", "latest", "parse_number", "validate_regex"]
