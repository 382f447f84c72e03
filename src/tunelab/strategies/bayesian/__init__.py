"""Gaussian-process Bayesian optimization: SageMaker's ``Bayesian`` strategy.

Pure numpy/scipy modules: :mod:`.encoding` (model features, Auto warping),
:mod:`.transform` (output transform), :mod:`.gp` (Matérn-5/2 GP, MAP fit),
:mod:`.acquisition` (augmented log-EI), :mod:`.optimize` (acquisition maximization over mixed
spaces), :mod:`.history` (observations, jobs in flight), :mod:`.model` (one
definition's model), :mod:`.strategy` (the ``Strategy`` adapter).
"""

from tunelab.strategies.bayesian.strategy import BayesianStrategy

__all__ = ["BayesianStrategy"]
