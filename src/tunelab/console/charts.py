"""The data of a tuning job's charts (drawn by Plotly in the browser), decimated so
that a job of thousands of training jobs stays light:

- objective per training job (launch order) with the best-so-far line: at most
  ``MAX_POINTS`` points, every improvement and the best ones always kept;
- parallel coordinates over the tuned hyperparameters, one set per definition: at
  most ``MAX_LINES`` jobs, the best ones always kept;
- intermediate curves (the objective metric at each report, i.e. per epoch) of the
  best and the most recent jobs, at most ``MAX_CURVES``, each thinned to about
  ``MAX_CURVE_POINTS`` reports (the first, the latest and the best always kept);
  early-stopped jobs marked;
- hyperparameter importance (:mod:`tunelab.console.importance`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from tunelab.console.importance import MIN_JOBS, importances
from tunelab.domain.enums import ObjectiveType, ScalingType
from tunelab.domain.search_space import CategoricalRange
from tunelab.domain.trial import MetricPoint, TrainingJob
from tunelab.domain.tuning_job import TuningJobSpec
from tunelab.orchestrator.stoppers import stopped_early

MAX_POINTS = 1500
MAX_LINES = 300
MAX_CURVES = 30
MAX_CURVE_POINTS = 1000
BEST_KEPT = 50

Points = Callable[[str, str], Sequence[MetricPoint]]
"""The stored points of (training job, metric)."""


def decimate(count: int, keep: set[int], cap: int) -> list[int]:
    """Indices ``0..count-1`` thinned to about ``cap``: every index of ``keep`` and an
    even stride through the rest."""
    if count <= cap:
        return list(range(count))
    room = max(cap - len(keep), 1)
    stride = count / room
    chosen = {min(count - 1, int(i * stride)) for i in range(room)} | keep
    return sorted(chosen)


def _best_indices(values: Sequence[float], objective: ObjectiveType, n: int) -> set[int]:
    order = sorted(range(len(values)), key=lambda i: values[i], reverse=objective == "Maximize")
    return set(order[:n])


def objective_chart(spec: TuningJobSpec, jobs: Sequence[TrainingJob]) -> dict[str, Any]:
    """Final objective per training job in launch order, and the best so far."""
    done = sorted(
        (
            j
            for j in jobs
            if j.final_objective_value is not None and math.isfinite(j.final_objective_value)
        ),
        key=lambda j: j.sequence,
    )
    values = [j.final_objective_value or 0.0 for j in done]
    direction = spec.objective_type
    best_x: list[int] = []
    best_y: list[float] = []
    improvements: set[int] = set()
    for i, job in enumerate(done):
        value = values[i]
        if not best_y or direction.better(value, best_y[-1]):
            improvements.add(i)
            best_x.append(job.sequence)
            best_y.append(value)
    if done:  # the line runs on to the last job
        best_x.append(done[-1].sequence)
        best_y.append(best_y[-1])
    keep = improvements | _best_indices(values, direction, BEST_KEPT)
    shown = decimate(len(done), keep, MAX_POINTS)
    return {
        "type": str(direction),
        "x": [done[i].sequence for i in shown],
        "y": [values[i] for i in shown],
        "job": [done[i].name for i in shown],
        "definition": [done[i].definition_name or "" for i in shown],
        "best_x": best_x,
        "best_y": best_y,
        "total": len(done),
        "shown": len(shown),
    }


def _dimension(spec: TuningJobSpec, definition: str | None, name: str, raw: list[str]) -> dict:
    try:
        parameter = spec.definition(definition).search_space[name]
    except KeyError:
        parameter = None
    if not isinstance(parameter, CategoricalRange):
        try:
            numbers = [float(v) for v in raw]
        except ValueError:
            numbers = None
        if numbers is not None:
            scaling = getattr(parameter, "scaling", None)
            if scaling is ScalingType.LOGARITHMIC and all(x > 0 for x in numbers):
                return {"label": f"log10({name})", "values": [math.log10(x) for x in numbers]}
            return {"label": name, "values": numbers}
    labels = sorted(set(raw)) if parameter is None else [str(v) for v in parameter.values]
    labels += sorted(set(raw) - set(labels))
    index = {v: i for i, v in enumerate(labels)}
    return {
        "label": name,
        "values": [index[v] for v in raw],
        "tickvals": list(range(len(labels))),
        "ticktext": labels,
    }


def parallel_chart(spec: TuningJobSpec, jobs: Sequence[TrainingJob]) -> list[dict[str, Any]]:
    """One parallel-coordinates data set per definition with finished jobs."""
    found = []
    for definition in spec.definitions:
        done = [
            j
            for j in jobs
            if j.definition_name == definition.name and j.final_objective_value is not None
        ]
        names = [r.name for r in definition.search_space.ranges]
        done = [j for j in done if all(n in j.tuned_hyperparameters for n in names)]
        if not done or not names:
            continue
        done.sort(key=lambda j: j.sequence)
        values = [j.final_objective_value or 0.0 for j in done]
        shown = decimate(
            len(done), _best_indices(values, spec.objective_type, BEST_KEPT), MAX_LINES
        )
        picked = [done[i] for i in shown]
        dimensions = [
            _dimension(spec, definition.name, n, [j.tuned_hyperparameters[n] for j in picked])
            for n in names
        ]
        objective = definition.objective.metric_name if definition.objective else "objective"
        dimensions.append({"label": objective, "values": [values[i] for i in shown]})
        found.append(
            {
                "definition": definition.label,
                "dimensions": dimensions,
                "color": [values[i] for i in shown],
                "total": len(done),
                "shown": len(shown),
            }
        )
    return found


def curves_chart(
    spec: TuningJobSpec, jobs: Sequence[TrainingJob], points: Points
) -> dict[str, Any]:
    """The objective metric at each report of the best and the latest jobs."""
    scored = [j for j in jobs if j.final_objective_value is not None]
    direction = spec.objective_type
    scored.sort(key=lambda j: j.final_objective_value or 0.0, reverse=direction == "Maximize")
    best = scored[: MAX_CURVES // 3]
    recent = sorted(jobs, key=lambda j: -j.sequence)
    chosen: dict[str, TrainingJob] = {j.name: j for j in best}
    for job in recent:
        if len(chosen) >= MAX_CURVES:
            break
        chosen.setdefault(job.name, job)
    best_names = {j.name for j in best[:1]}
    series = []
    for job in sorted(chosen.values(), key=lambda j: j.sequence):
        objective = spec.definition(job.definition_name).objective
        if objective is None:
            continue
        found = sorted(points(job.name, objective.metric_name), key=lambda p: p.step)
        if not found:
            continue
        values = [p.value for p in found]
        ends = {0, len(found) - 1} | _best_indices(values, direction, 1)
        found = [found[i] for i in decimate(len(found), ends, MAX_CURVE_POINTS)]
        series.append(
            {
                "job": job.name,
                "x": [p.step + 1 for p in found],
                "y": [p.value for p in found],
                "status": str(job.status),
                "early": stopped_early(job),
                "best": job.name in best_names,
            }
        )
    return {"series": series, "total": len(jobs), "shown": len(series)}


def importance_chart(jobs: Sequence[TrainingJob]) -> dict[str, Any]:
    found = importances(
        [
            (j.definition_name, j.tuned_hyperparameters, j.final_objective_value)
            for j in jobs
            if j.final_objective_value is not None
        ]
    )
    return {
        "items": [{"name": i.name, "value": i.value, "jobs": i.jobs} for i in found],
        "min_jobs": MIN_JOBS,
    }


def charts(spec: TuningJobSpec, jobs: Sequence[TrainingJob], points: Points) -> dict[str, Any]:
    """Everything the job page's charts draw."""
    metric = next((d.objective.metric_name for d in spec.definitions if d.objective), "objective")
    return {
        "metric": metric,
        "objective": objective_chart(spec, jobs),
        "parallel": parallel_chart(spec, jobs),
        "curves": curves_chart(spec, jobs, points),
        "importance": importance_chart(jobs),
    }
