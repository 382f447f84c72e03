"""Pure early-stopping rules: the tuning loop asks them after each batch of
intermediate reports and gets explicit decisions with a reason."""

from tunelab.stopping.base import Decision, EarlyStopper, StopDecision
from tunelab.stopping.median import MedianRuleSettings, MedianStoppingRule

__all__ = ["Decision", "EarlyStopper", "MedianRuleSettings", "MedianStoppingRule", "StopDecision"]
