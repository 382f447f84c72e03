"""Hyperband's ``gp`` sampler (MOBSTER-style): valid typed proposals, pending jobs as
fantasies, exact state round trips, uniform draws until the model has enough data."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tunelab.domain.enums import ObjectiveType, ScalingType, TrainingJobStatus
from tunelab.domain.search_space import (
    CategoricalRange,
    ContinuousRange,
    IntegerRange,
    ParamValue,
    SearchSpace,
)
from tunelab.domain.trial import Suggestion, TrialEvent
from tunelab.strategies.base import DefinitionSpace
from tunelab.strategies.hyperband import HyperbandProblem, HyperbandStrategy
from tunelab.strategies.hyperband_gp import (
    MIN_PAIRS,
    GpFit,
    Observation,
    ResourceGP,
    lowest_fitted_level,
    min_points,
    rank_correlation,
    same_value_ranges,
)

MIN = ObjectiveType.MINIMIZE
MIXED = SearchSpace(
    (
        ContinuousRange("lr", 1e-4, 1e-1, ScalingType.LOGARITHMIC),
        IntegerRange("depth", 2, 12),
        CategoricalRange("kind", ("a", "b", "c")),
    )
)
LINE = SearchSpace((ContinuousRange("x", 0.0, 1.0),))


def problem(
    space: SearchSpace = MIXED, sampler: str = "gp", brackets: int | None = None
) -> HyperbandProblem:
    return HyperbandProblem(
        (DefinitionSpace(None, space),), MIN, max_resource=9, sampler=sampler, brackets=brackets
    )


def loss(params: dict[str, ParamValue], step: int) -> float:
    """Lower near lr = 1e-2, depth 6, kind "b"; improves with the resource."""
    if "x" in params:
        return (float(params["x"]) - 0.2) ** 2 + 0.3 / (step + 1)
    lr, depth = float(params["lr"]), int(params["depth"])
    kind = 0.0 if params["kind"] == "b" else 0.3
    return (np.log10(lr) + 2) ** 2 + ((depth - 6) / 5) ** 2 + kind + 0.5 / (step + 1)


def run(strategy: HyperbandStrategy, jobs: int, start: int = 0, steps: int = 9) -> None:
    """``jobs`` suggestions, one at a time, each reporting until its verdict stops it."""
    for i in range(start, start + jobs):
        [suggestion] = strategy.suggest(1)
        params = dict(suggestion.params)
        for step in range(steps):
            event = TrialEvent(
                f"t{i}", None, params, TrainingJobStatus.IN_PROGRESS, loss(params, step), step
            )
            strategy.observe([event])
            if any(d.stop for d in strategy.decide([event])):
                break


def start(strategy: HyperbandStrategy, suggestion: Suggestion, trial: str) -> None:
    params = dict(suggestion.params)
    event = TrialEvent(trial, None, params, TrainingJobStatus.IN_PROGRESS, loss(params, 0), 0)
    strategy.observe([event])


def test_proposals_are_valid_typed_configurations_of_the_space() -> None:
    strategy = HyperbandStrategy.create(problem(), np.random.default_rng(0))
    run(strategy, 16)
    assert strategy.state()["gp"]["fits"], "the model has started"
    for suggestion in strategy.suggest(8):
        params = suggestion.params
        assert MIXED.contains(params)
        assert isinstance(params["lr"], float) and 1e-4 <= params["lr"] <= 1e-1
        assert type(params["depth"]) is int and 2 <= params["depth"] <= 12
        assert params["kind"] in ("a", "b", "c")


def test_uniform_draws_until_enough_observations() -> None:
    """Before ``min_points`` values the gp sampler draws exactly what the random one does
    (one bracket, whose first rung is the first report: each job gives one value)."""
    gp = HyperbandStrategy.create(problem(brackets=1), np.random.default_rng(4))
    uniform = HyperbandStrategy.create(
        problem(sampler="random", brackets=1), np.random.default_rng(4)
    )
    needed = min_points(MIXED)
    run(gp, needed - 1, steps=1)
    run(uniform, needed - 1, steps=1)
    assert gp.suggest(3) == uniform.suggest(3)
    assert gp.state()["gp"]["fits"] == []
    run(gp, 1, start=needed, steps=1)
    run(uniform, 1, start=needed, steps=1)
    assert gp.suggest(3) != uniform.suggest(3)
    assert len(gp.state()["gp"]["fits"]) == 1


def test_a_batch_has_no_duplicates_and_pending_jobs_are_fantasies() -> None:
    strategy = HyperbandStrategy.create(problem(LINE), np.random.default_rng(1))
    run(strategy, 20)
    batch = strategy.suggest(4)
    xs = [s.params["x"] for s in batch]
    assert len(set(xs)) == 4
    assert len(strategy.state()["gp"]["pending"]) == 4
    # the next batch knows the four are pending: it proposes none of them again
    again = [s.params["x"] for s in strategy.suggest(4)]
    assert not set(again) & set(xs)
    # a pending suggestion whose job reports is no longer pending
    start(strategy, batch[0], "late")
    pending = [point for _, point in strategy.state()["gp"]["pending"]]
    assert len(pending) == 7 and [LINE.encode(batch[0].params)[0]] not in pending


def test_a_fantasy_leaves_only_the_noise_s_improvement_at_its_point() -> None:
    rng = np.random.default_rng(1)
    data = [Observation((float(u),), 3, float(np.sin(6 * u))) for u in rng.random(6)]
    model = ResourceGP(LINE, (1, 9), data, MIN, None)
    candidates = np.linspace(0.0, 1.0, 201)[:, None]
    before = model.score(candidates)
    best = candidates[int(np.argmax(before))]
    model.pending(best)
    after = model.score(candidates)
    # log EI e^4 times smaller: what is left there is the fitted noise's own chance
    assert after[int(np.argmax(before))] < before.max() - 4.0
    assert np.argmax(after) != np.argmax(before)


def test_rugged_values_keep_the_search_near_the_good_ones() -> None:
    """Values scattered around a bowl at 0.3 (the GP calls the scatter noise): the best
    reported value is a lucky draw far below the posterior mean, and a job reports
    the value with its scatter, so the next configuration is drawn near the bowl's
    bottom, not out in the unexplored end where only the model is unsure."""
    for seed in range(4):
        rng = np.random.default_rng(seed)
        u = rng.random(60) * 0.7
        values = 4 * (u - 0.3) ** 2 + 0.15 * rng.normal(size=len(u))
        data = [Observation((float(x),), 3, float(v)) for x, v in zip(u, values, strict=True)]
        model = ResourceGP(LINE, (1, 9), data, MIN, None)
        candidates = np.linspace(0.0, 1.0, 201)[:, None]
        assert abs(candidates[int(np.argmax(model.score(candidates)))][0] - 0.3) < 0.15


def test_the_model_concentrates_on_the_good_region() -> None:
    strategy = HyperbandStrategy.create(problem(LINE), np.random.default_rng(2))
    run(strategy, 24)
    picks = np.array([s.params["x"] for s in strategy.suggest(30)])
    # two thirds come from the model; uniform draws land this close 10% of the time
    assert np.mean(np.abs(picks - 0.2) < 0.05) > 0.5


def test_state_round_trip_restores_identical_next_suggestions() -> None:
    original = HyperbandStrategy.create(problem(), np.random.default_rng(3))
    run(original, 14)
    original.suggest(2)  # pending at the time of the state
    state = json.loads(json.dumps(original.state(), allow_nan=False))
    restored = HyperbandStrategy.restore(problem(), state)
    assert restored.state() == original.state()
    assert restored.suggest(4) == original.suggest(4)
    run(original, 5, start=100)
    run(restored, 5, start=100)
    assert restored.suggest(3) == original.suggest(3)
    assert restored.state() == original.state()


def test_acquisition_level_is_the_highest_with_enough_values() -> None:
    rng = np.random.default_rng(0)
    data = [Observation((float(u),), 1, float(u)) for u in rng.random(10)]
    data += [Observation((float(u),), 3, float(u) / 2) for u in rng.random(min_points(LINE))]
    data += [Observation((0.5,), 9, 0.1), Observation((0.4,), 9, float("inf"))]
    model = ResourceGP(LINE, (1, 9), data, MIN, None)
    assert model.level == 3
    assert model.score(rng.random((5, 1))).shape == (5,)
    with pytest.raises(ValueError, match="more finite"):
        ResourceGP(LINE, (1, 9), data[:3], MIN, None)


def staged(ranks_at: dict[int, float], points: int = 8) -> list[Observation]:
    """``points`` jobs on LINE reaching level 9; at each level the value is x (sign
    +1: low x ranks first) or 1 - x (sign -1), plus the level's offset."""
    xs = np.linspace(0.05, 0.95, points)
    return [
        Observation((float(x),), level, (x if sign > 0 else 1.0 - x) + 1.0 / level)
        for level, sign in ranks_at.items()
        for x in xs
    ]


def test_low_levels_that_rank_the_jobs_otherwise_are_left_out() -> None:
    # levels 3 and 9 agree; level 1 ranks the same jobs the other way round
    model = ResourceGP(LINE, (1, 9), staged({1: -1, 3: +1, 9: +1}), MIN, None)
    assert (model.level, model.lowest) == (9, 3)
    # the walk stops at the first level that disagrees, whatever lies below it
    assert lowest_fitted_level(staged({1: +1, 3: -1, 9: +1}), 9) == 9
    assert lowest_fitted_level(staged({1: +1, 3: +1, 9: +1}), 9) == 1
    # with fewer than MIN_PAIRS jobs at both levels the level is used
    few = staged({1: -1, 9: +1}, points=MIN_PAIRS - 1) + staged({9: +1})
    assert lowest_fitted_level(few, 9) == 1


def test_the_model_follows_the_acquisition_level_where_the_first_level_misleads() -> None:
    # many first reports favour x near 0.9; the jobs that went on to level 9 show
    # that x near 0.2 ends best
    rng = np.random.default_rng(4)
    data = [Observation((float(u),), 1, abs(u - 0.9)) for u in rng.random(40)]
    xs = np.linspace(0.0, 1.0, 9)
    data += [Observation((float(x),), 3, 0.5 + abs(x - 0.9) / 4) for x in xs]
    data += [Observation((float(x),), 9, 0.1 + abs(x - 0.2)) for x in xs]
    model = ResourceGP(LINE, (1, 9), data, MIN, None)
    assert model.lowest == 9
    candidates = np.linspace(0.0, 1.0, 201)[:, None]
    assert abs(candidates[int(np.argmax(model.score(candidates)))][0] - 0.2) < 0.1


def test_hyperparameters_are_refitted_when_the_fitted_data_shrinks() -> None:
    data = staged({1: -1, 3: +1, 9: +1})
    stale = GpFit(ResourceGP(LINE, (1, 9), data, MIN, None).fit.theta, observations=30)
    model = ResourceGP(LINE, (1, 9), data, MIN, stale)
    assert model.fit.observations == 16  # levels 3 and 9 only


def test_rank_correlation() -> None:
    assert rank_correlation([1, 2, 3], [10, 20, 30]) == pytest.approx(1.0)
    assert rank_correlation([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert rank_correlation([1, 1, 2], [1, 2, 3]) == pytest.approx(np.sqrt(3) / 2)
    assert rank_correlation([1, 1, 1], [1, 2, 3]) == 0.0


def test_unknown_sampler_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown Hyperband sampler"):
        HyperbandStrategy.create(problem(sampler="bogus"), np.random.default_rng(0))


WIDTH = SearchSpace((ContinuousRange("x", 0.0, 1.0), IntegerRange("width", 1, 1000)))


def luck_of_widths(seed: int) -> tuple[list[Observation], dict[int, float], np.ndarray]:
    """Jobs of WIDTH at levels 3 and 9 whose value is a bowl in x plus an offset of the
    exact width (a network's initialization): 40 jobs over 8 neighbouring widths (too
    close for the range's smooth lengthscale to tell apart). Returns the data,
    the offsets and the unit-cube points of a fresh x at each of the 8 widths."""
    rng = np.random.default_rng(seed)
    widths = list(range(first := int(rng.integers(1, 990)), first + 8))
    offset = {w: float(rng.normal(0.0, 0.3)) for w in widths}
    data = []
    for _ in range(40):
        params = {"x": float(rng.random()), "width": widths[int(rng.integers(8))]}
        value = (params["x"] - 0.5) ** 2 + offset[int(params["width"])]
        point = tuple(WIDTH.encode(params))
        data += [Observation(point, 3, value + 0.2), Observation(point, 9, value)]
    fresh = np.array([WIDTH.encode({"x": 0.43, "width": w}) for w in widths])
    return data, offset, fresh


def width_errors(seed: int) -> float:
    """Mean absolute error of the model's prediction at level 9 of a fresh x at each
    observed width."""
    data, offset, fresh = luck_of_widths(seed)
    model = ResourceGP(WIDTH, (1, 9), data, MIN, None)
    truth = np.array([(0.43 - 0.5) ** 2 + v for v in offset.values()])
    x = model._features(fresh, np.full(len(fresh), 9))
    mean = model.posterior.predict(x)[0]
    fitted = np.array([o.value for o in data])
    y = np.sort(model.posterior.y[: len(data)])
    # back to the objective's units through the sorted pairs of the monotone transform
    predicted = np.interp(mean, y, np.sort(fitted))
    return float(np.abs(predicted - truth).mean())


def test_a_value_of_the_exact_integer_carries_over_to_other_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What a job reports hangs on its exact width, not on where the width lies in the
    range: the same-value feature learns that, so a fresh x at a width seen before is
    predicted with that width's offset; without it the offsets look like noise."""
    with_feature = [width_errors(seed) for seed in range(3)]
    monkeypatch.setattr("tunelab.strategies.hyperband_gp.SAME_VALUE_LIMIT", 0)
    without = [width_errors(seed) for seed in range(3)]
    assert np.mean(with_feature) < 0.05 < 0.5 * np.mean(without)


def test_half_the_local_candidates_keep_their_anchor_s_integer_values() -> None:
    data, _, _ = luck_of_widths(0)
    model = ResourceGP(WIDTH, (1, 9), data, MIN, None)
    local = model.candidates(np.random.default_rng(0))[512:]
    anchors = np.repeat(model.anchors, len(local) // len(model.anchors), axis=0)
    same_width = local[:, 1] == anchors[:, 1]
    assert 0.4 < same_width.mean() < 0.7
    assert np.all(local[same_width, 0] != anchors[same_width, 0])  # x moved


def test_only_integer_ranges_of_at_most_the_limit_get_a_same_value_feature() -> None:
    space = SearchSpace(
        (
            IntegerRange("small", 1, 10_000),
            ContinuousRange("x", 0.0, 1.0),
            IntegerRange("large", 0, 10_000),
            CategoricalRange("kind", ("a", "b")),
        )
    )
    assert [(j, r.name) for j, r in same_value_ranges(space)] == [(0, "small")]
    data = [Observation((u, 0.5, 0.5, 0.25), 9, u) for u in np.linspace(0, 1, 8)]
    model = ResourceGP(space, (1, 9), data, MIN, None)
    assert model.enc.dimension == 4 + 1 + 1  # the ranges, the resource, "small"'s value
