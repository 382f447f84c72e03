"""Warm start: the combinations a discrete search space has left to run after its
parents (tunelab's rule, after SageMaker's "enough combinations").

Random, Bayesian and Grid never run a configuration the parents evaluated under the
child's conditions (``IdenticalDataAndAlgorithm`` and the same static values, see
:mod:`.warm_start_events`; with ``TransferLearning`` none counts), so in a discrete
space Random and Bayesian need at least ``MaxNumberOfTrainingJobs`` combinations the
parents left untried, and Grid (which runs the untried grid points) at least one, with
``MaxNumberOfTrainingJobs``, when given, equal to their number.

Contract: :func:`check_untried_combinations` yields a :class:`Violation` for each
broken rule and nothing for another strategy, a continuous space or no parents; it
reads only the child's first definition and each parent's single definition and
training jobs.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from tunelab.domain.definition import TrainingJobDefinition
from tunelab.domain.enums import StrategyType
from tunelab.domain.errors import Violation
from tunelab.domain.paths import CONFIG, ranges_path
from tunelab.domain.trial import TrainingJob
from tunelab.domain.tuning_job import TuningJobSpec
from tunelab.domain.warm_start_events import evaluated_configurations, parent_events

__all__ = ["SKIPS_EVALUATED", "ParentRuns", "check_untried_combinations"]

SKIPS_EVALUATED = (StrategyType.RANDOM, StrategyType.BAYESIAN, StrategyType.GRID)
"""Strategies that never run a configuration a parent evaluated."""

ParentRuns = tuple[TrainingJobDefinition, Sequence[TrainingJob]]
"""A parent's single training job definition and the training jobs it launched."""


def check_untried_combinations(
    spec: TuningJobSpec, parents: Sequence[ParentRuns]
) -> Iterator[Violation]:
    """Random, Bayesian and Grid skip what the parents evaluated under the child's
    conditions: in a discrete space enough combinations must be left, and a Grid's
    ``MaxNumberOfTrainingJobs`` is the number left (see the module doc)."""
    assert spec.warm_start is not None
    child = spec.definitions[0]
    space = child.search_space
    cardinality = space.cardinality
    if spec.strategy not in SKIPS_EVALUATED or cardinality is None or not parents:
        return
    tried: set[tuple[object, ...]] = set()
    for definition, jobs in parents:
        events = parent_events(
            space, definition, jobs, spec.warm_start.type, child.static_hyperparameters
        )
        tried |= evaluated_configurations(space, events)
    left = cardinality - len(tried)
    evaluated = (
        f"the parent jobs already evaluated {len(tried)} of the {cardinality} combinations "
        f"of the hyperparameter ranges, and the {spec.strategy} strategy never runs one twice"
    )
    wanted = spec.limits.max_number_of_training_jobs
    limit_path = f"{CONFIG}.ResourceLimits.MaxNumberOfTrainingJobs"
    if spec.strategy is StrategyType.GRID:
        if left == 0:
            yield Violation(
                f"{ranges_path(spec, 0)}.CategoricalParameterRanges",
                f"{evaluated}: no grid point is left to run; add values to the ranges, or "
                "leave out WarmStartConfig to run the whole grid again",
            )
        elif wanted is not None and wanted != left:
            yield Violation(
                limit_path,
                f"{evaluated}: must equal the number of grid points left to run ({left}) "
                f"with the Grid strategy, or be left out; got {wanted}",
            )
        return
    if left < (wanted or 0):
        rest = (
            f"the {left} left are fewer than MaxNumberOfTrainingJobs ({wanted}); lower it "
            f"to at most {left} or provide additional ranges"
            if left
            else "none is left to run; provide additional ranges"
        )
        yield Violation(limit_path, f"{evaluated}: {rest}")
