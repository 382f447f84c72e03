"""SageMaker's ``Bayesian`` strategy: Gaussian-process Bayesian optimization.

Contract:

- One GP per training job definition (Matérn-5/2 ARD on the unit-cube features, MAP
  hyperparameters, learned log-warping of Auto ranges: :mod:`.gp`, :mod:`.encoding`),
  all fitted to one output transform of every definition's results
  (:mod:`.transform`), so their expected improvements below the overall best are
  comparable: each job goes to the definition and configuration with the highest
  log-EI, which shifts the budget toward the better algorithm.
- Initial design: each definition first gets ``initial_points(d)`` scrambled Sobol
  points (fewer when warm-start observations exist); the model takes over once a
  definition has that many configurations and at least two results.
- The acquisition is augmented log-EI (:func:`.acquisition.log_aei`): EI discounted
  where the latent variance is small against the fitted noise, so neither a re-run of
  a finished configuration's neighbourhood nor a twin of a pending job looks
  attractive on a noisy (rugged) objective; ~plain EI on a noise-free one.
- The incumbent of expected improvement is the lowest posterior mean at a finite
  result of any definition (the observed best when the model is noise-free; with a
  noisy fit, one lucky value does not make every neighbour look hopeless).
- Pending jobs (suggested or seen running, not finished) enter the model as kriging
  believer fantasies (their predicted mean), and the incumbent is lowered to the best
  fantasy: a batch of suggestions spreads out instead of piling onto one point.
- Failed jobs (and jobs without a finite objective) enter the model at the worst
  observed value, so the region around them looks bad.
- Never a duplicate: a configuration finished, pending or running is never proposed;
  a discrete definition whose configurations are all used is exhausted, and
  ``suggest`` returns fewer (or none) when every definition is.
- Warm start: events of other jobs' finished trials (e.g. a parent tuning job's) may
  be observed before any suggest; their definition name may be unknown when their
  hyperparameter names match one definition; configurations outside this job's ranges
  are remembered but not modelled.
- ``state()`` is versioned JSON: the generator state, the Sobol seeds and positions,
  every observation and configuration in flight, and the last fitted hyperparameters
  (the next fit starts from them); ``restore`` continues exactly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Self

import numpy as np

from tunelab.domain.enums import ObjectiveType
from tunelab.domain.trial import Suggestion, TrialEvent
from tunelab.strategies.base import StrategyState, TuningProblem, rng_from_state, rng_state
from tunelab.strategies.bayesian.history import History
from tunelab.strategies.bayesian.model import DefinitionModel, Targets
from tunelab.strategies.bayesian.transform import OutputTransform

STATE_VERSION = 1
CONVERGENCE_THRESHOLD = 0.01
"""``CompleteOnConvergence``: 1% (see :meth:`BayesianStrategy.converged`)."""


class BayesianStrategy:
    """Gaussian-process Bayesian optimization (see the module doc)."""

    def __init__(
        self,
        problem: TuningProblem,
        rng: np.random.Generator,
        sobol_seeds: Sequence[int],
        sobol_positions: Sequence[int] | None = None,
        history: History | None = None,
        thetas: Sequence[Sequence[float] | None] | None = None,
    ) -> None:
        self._problem = problem
        self._rng = rng
        self._history = history or History(problem)
        n = len(problem.definitions)
        self._models = [
            DefinitionModel(
                d.space,
                int(sobol_seeds[i]),
                int(sobol_positions[i]) if sobol_positions else 0,
                None if thetas is None or thetas[i] is None else np.array(thetas[i]),
            )
            for i, d in enumerate(problem.definitions)
        ]
        if len(self._models) != n:
            raise ValueError("one model per definition")

    @classmethod
    def create(cls, problem: TuningProblem, rng: np.random.Generator) -> Self:
        seeds = [int(s) for s in rng.integers(2**31, size=len(problem.definitions))]
        return cls(problem, rng, seeds)

    @classmethod
    def restore(cls, problem: TuningProblem, state: Mapping[str, Any]) -> Self:
        """Continue from ``state()``. Raises ValueError for an unknown version or a
        state saved for other definitions."""
        if state.get("version") != STATE_VERSION:
            raise ValueError(
                f"unknown BayesianStrategy state version {state.get('version')!r} "
                f"(this tunelab reads version {STATE_VERSION})"
            )
        history = History.from_json(problem, state["history"])
        return cls(
            problem,
            rng_from_state(state["rng"]),
            state["sobol_seeds"],
            state["sobol_positions"],
            history,
            state["thetas"],
        )

    def state(self) -> StrategyState:
        return {
            "version": STATE_VERSION,
            "rng": rng_state(self._rng),
            "sobol_seeds": [m.sobol_seed for m in self._models],
            "sobol_positions": [m.sobol_position for m in self._models],
            "thetas": [_floats(m.theta) for m in self._models],
            "history": self._history.to_json(),
        }

    def observe(self, events: Sequence[TrialEvent]) -> None:
        self._history.observe(events)

    # -- suggestions --------------------------------------------------------------------

    def _values(self) -> np.ndarray:
        """Every finite result so far in internal units (minimized: ``sign * value``)."""
        sign = -1.0 if self._problem.objective_type is ObjectiveType.MAXIMIZE else 1.0
        return np.array(
            [sign * v for h in self._history.definitions for _, v in h.observations
             if v is not None]
        )  # fmt: skip

    def _targets(self) -> Targets | None:
        sign = -1.0 if self._problem.objective_type is ObjectiveType.MAXIMIZE else 1.0
        values = self._values()
        if len(values) == 0:
            return None
        transform = OutputTransform(values)
        mapped = transform.forward(values)
        return Targets(transform, sign, float(mapped.min()), float(mapped.max()),
                       float(values.min()))  # fmt: skip

    def suggest(self, count: int) -> list[Suggestion]:
        suggestions: list[Suggestion] = []
        targets = self._targets() if count > 0 else None
        prepared: set[int] = set()
        for _ in range(max(count, 0)):
            choice = self._suggest_one(targets, prepared)
            if choice is None:
                break
            index, params = choice
            self._history.definitions[index].pending.append(self._models[index].key(params))
            suggestions.append(Suggestion(self._problem.definitions[index].name, params))
        return suggestions

    def _suggest_one(
        self, targets: Targets | None, prepared: set[int]
    ) -> tuple[int, dict[str, Any]] | None:
        histories, models = self._history.definitions, self._models
        live = [i for i, m in enumerate(models) if not m.exhausted(histories[i])]
        if not live:
            return None
        starting = [i for i in live if not models[i].model_ready(histories[i])]
        if starting or targets is None:
            for pick in sorted(starting or live, key=lambda i: len(histories[i].used())):
                params = models[pick].initial(histories[pick], self._rng)
                if params is not None:
                    return pick, params
            live = [i for i in live if i not in starting]
            if targets is None or not live:  # e.g. a tiny continuous range's few values used
                return None
        best: tuple[float, int, dict[str, Any]] | None = None
        for i in live:
            if i not in prepared:
                models[i].prepare(histories[i], targets)
                prepared.add(i)
        incumbent = min(models[i].mean_best for i in live)
        for i in live:
            found = models[i].propose(histories[i], incumbent, self._rng)
            if found is not None and (best is None or found[0] > best[0]):
                best = (found[0], i, found[1])
        if best is None:
            return None
        _, index, params = best
        models[index].add_fantasy(params)
        return index, params

    # -- convergence ----------------------------------------------------------------------

    def expected_improvement(self) -> float | None:
        """The largest expected improvement over the best value so far, in the
        objective's units, over every definition (jobs in flight ignored); None while
        a definition is still in its initial design. Pure: changes no state and draws
        from its own generator."""
        targets = self._targets()
        histories = self._history.definitions
        if targets is None or not all(
            m.model_ready(h) for m, h in zip(self._models, histories, strict=True)
        ):
            return None
        count = sum(len(h.observations) for h in histories)
        rng = np.random.default_rng(count)
        return max(
            m.expected_gain(h, targets, rng) for m, h in zip(self._models, histories, strict=True)
        )

    def converged(self, threshold: float = CONVERGENCE_THRESHOLD) -> bool:
        """SageMaker's ``CompleteOnConvergence`` signal ("no significant improvement, 1%
        or less"): True when the model expects no configuration to improve on the best
        value by more than ``threshold`` (1%) of the larger of ``|best|`` and the spread
        of the results so far (:func:`_spread`: a standard deviation that a diverged job
        does not inflate). The spread keeps the rule meaningful when the best value is
        near 0 (a loss or error whose optimum is 0), where 1% of ``|best|`` is no amount
        at all; when ``|best|`` exceeds the spread, 1% of it rules as before. False while
        :meth:`expected_improvement` is None. Pure."""
        gain = self.expected_improvement()
        targets = self._targets()
        if gain is None or targets is None:
            return False
        return gain <= threshold * max(abs(targets.best_raw), _spread(self._values()))


def _spread(values: np.ndarray) -> float:
    """Interquartile range / 1.349 (the standard deviation of a normal sample); the
    standard deviation when most values are equal."""
    q1, q3 = np.percentile(values, [25, 75])
    return float(q3 - q1) / 1.349 if q3 > q1 else float(np.std(values))


def _floats(theta: np.ndarray | None) -> list[float] | None:
    return None if theta is None else [float(t) for t in theta]
