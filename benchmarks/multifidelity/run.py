"""Multi-fidelity benchmark: tunelab's Hyperband (random, TPE-like density model and
Gaussian process samplers), Random with and without median stopping, against
Optuna's TPE with its pruners, on real and synthetic learning curves, at equal
total resource with 4 workers.

    python benchmarks/multifidelity/run.py [--seeds 8] [--seed0 0] [--jobs 40]
        [--pools 500,300] [--unique | --live] [--methods gp,MedianPruner]
        [--min-resource 1] [--problems mlp]

Budget per problem: ``--jobs`` full-length training jobs (B = jobs x MaxResource
reports). Prints one table and writes ``anytime.png``. See README.md.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
sys.path.insert(0, str(Path(__file__).parent))

import numpy as np  # noqa: E402
from problems import Problem, problems  # noqa: E402
from runners import TunelabMethod, run_optuna, run_tunelab  # noqa: E402
from traces import Trace  # noqa: E402

HERE = Path(__file__).parent
PROBLEMS = ("xgboost-digits", "mlp-digits", "synthetic")
TUNELAB = {
    "tunelab Hyperband (random)": TunelabMethod("Hyperband"),
    "tunelab Hyperband (model)": TunelabMethod("Hyperband", sampler="model"),
    "tunelab Hyperband (gp)": TunelabMethod("Hyperband", sampler="gp"),
    "tunelab Random + median stopping": TunelabMethod("Random", "Auto"),
    "tunelab Random": TunelabMethod("Random"),
}
OPTUNA = {
    "Optuna TPE + HyperbandPruner": "HyperbandPruner",
    "Optuna TPE + SuccessiveHalvingPruner": "SuccessiveHalvingPruner",
    "Optuna TPE + MedianPruner": "MedianPruner",
}
METHODS = [*TUNELAB, *OPTUNA]
MEDIAN_SAME_JOBS = "median stopping, same jobs as Random"
HYPERBANDS = ("tunelab Hyperband (random)", "tunelab Hyperband (model)", "tunelab Hyperband (gp)")

DEFAULT_POOLS = (500, 300)
BOOTSTRAP = 2000
"""Resamples of the seeds for the intervals of the resource to reach Random's best."""
_PROBLEMS: dict[tuple[int, int], dict[str, Problem]] = {}


def _problem(name: str, pools: tuple[int, int] = DEFAULT_POOLS) -> Problem:
    if pools not in _PROBLEMS:
        _PROBLEMS[pools] = {p.name: p for p in problems(pools)}
    return _PROBLEMS[pools][name]


def _run(task: tuple[str, str, int, argparse.Namespace]) -> tuple[str, str, int, Trace]:
    problem_name, method, seed, args = task
    problem = _problem(problem_name, args.pools)
    budget = args.jobs * problem.max_resource
    options = {"unique": args.unique, "live": args.live, "min_resource": args.min_resource}
    if method == MEDIAN_SAME_JOBS:
        median = TUNELAB["tunelab Random + median stopping"]
        trace = run_tunelab(problem, median, seed, math.inf, max_jobs=args.jobs, **options)
    elif method in TUNELAB:
        trace = run_tunelab(problem, TUNELAB[method], seed, budget, **options)
    else:
        trace = run_optuna(problem, OPTUNA[method], seed, budget, **options)
    return problem_name, method, seed, trace


def _pools(text: str) -> tuple[int, int]:
    sizes = tuple(int(part) for part in text.split(","))
    if len(sizes) != 2 or min(sizes) < 1:
        raise argparse.ArgumentTypeError("two positive sizes, e.g. 5000,3000")
    return sizes  # type: ignore[return-value]


def _methods(text: str) -> list[str]:
    parts = [part.strip() for part in text.split(",") if part.strip()]
    chosen = [m for m in METHODS if any(part in m for part in parts)]
    if not chosen:
        raise argparse.ArgumentTypeError(f"no method name contains any of {parts}")
    return [m for m in METHODS if m in chosen or m == "tunelab Random"]


def _problem_names(text: str) -> list[str]:
    parts = [part.strip() for part in text.split(",") if part.strip()]
    chosen = [name for name in PROBLEMS if any(part in name for part in parts)]
    if not chosen:
        raise argparse.ArgumentTypeError(f"no problem name contains any of {parts}")
    return chosen


def _with_companions(methods: list[str]) -> list[str]:
    """The runs ``methods`` need: the median rule's row also needs its run with
    Random's jobs."""
    median = "tunelab Random + median stopping" in methods
    return [*methods, MEDIAN_SAME_JOBS] if median else list(methods)


def _per_seed(traces: list[Trace], resource: float, stopped: bool = False) -> np.ndarray:
    """Each seed's best final objective after ``resource`` (NaN: no job finished); with
    ``stopped``, its best objective if the tuning job were stopped there (running jobs
    with their latest report; NaN: no report yet)."""
    values = np.array(
        [t.best_if_stopped_at(resource) if stopped else t.best_at(resource) for t in traces]
    )
    values[np.isinf(values)] = np.nan
    return values


def _seed_curves(traces: list[Trace], grid: np.ndarray, stopped: bool = False) -> np.ndarray:
    """:func:`_per_seed` at each grid point: one row per grid point, one column per
    seed. Its mean over the columns is the mean curve (NaN until every seed has a
    value)."""
    return np.array([_per_seed(traces, x, stopped) for x in grid])


def _reach(curve: np.ndarray, target: float, grid: np.ndarray) -> float:
    """Share of the budget (``grid[-1]``) where ``curve`` first reaches ``target``
    (inf: never)."""
    hit = np.nonzero(curve <= target + 1e-12)[0]
    return float(grid[hit[0]] / grid[-1]) if hit.size else math.inf


def _share(reach: float) -> str:
    return "never" if math.isinf(reach) else f"{reach:.2f} B"


def _reach_interval(mine: np.ndarray, final: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """A 90% bootstrap interval of :func:`_reach` for a method's :func:`_seed_curves`
    ``mine`` against Random's mean final best (``final``: per seed): seeds are drawn
    with replacement, the same ones for both (both are in seed order)."""
    rng = np.random.default_rng(0)
    reaches = []
    seeds = mine.shape[1]
    for _ in range(BOOTSTRAP):
        pick = rng.integers(seeds, size=seeds)
        reaches.append(_reach(mine[:, pick].mean(axis=1), final[pick].mean(), grid))
    return np.percentile(reaches, [5, 95], method="nearest")  # inf (never) stays inf


def _intervals(spans: dict[str, np.ndarray]) -> str:
    """``gp 0.30 B-0.45 B, ...`` for each Hyperband variant's interval."""
    return ", ".join(
        f"{m.split('(')[1][:-1]} {_share(low)}-{_share(high)}" for m, (low, high) in spans.items()
    )


def _se(values: np.ndarray) -> float:
    """Standard error of the mean over the finite values (NaN for fewer than two)."""
    finite = values[np.isfinite(values)]
    return float(finite.std(ddof=1) / np.sqrt(finite.size)) if finite.size > 1 else math.nan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--seed0", type=int, default=0, help="first seed (seeds seed0, ...)")
    parser.add_argument("--jobs", type=int, default=40, help="Random's full-length jobs")
    parser.add_argument("--workers", type=int, default=2, help="processes")
    parser.add_argument(
        "--pools",
        type=_pools,
        default=DEFAULT_POOLS,
        help="tabulated configurations of xgboost-digits and mlp-digits (default 500,300)",
    )
    parser.add_argument(
        "--unique",
        action="store_true",
        help="a job whose nearest tabulated configuration was used already in the run "
        "gets the nearest unused one (default: the nearest, replayed)",
    )
    parser.add_argument(
        "--live",
        action="store_true",
        help="train XGBoost and the MLP for every proposed configuration, one step per "
        "report, instead of looking curves up in the tables",
    )
    parser.add_argument(
        "--min-resource",
        type=int,
        default=1,
        help="Hyperband's MinResource, and the reports before Optuna's pruners may prune",
    )
    parser.add_argument(
        "--methods",
        type=_methods,
        default=METHODS,
        help="comma-separated parts of method names to run (e.g. 'gp,MedianPruner'); "
        "tunelab Random always runs, as the other figures are relative to it",
    )
    parser.add_argument(
        "--problems",
        type=_problem_names,
        default=list(PROBLEMS),
        help="comma-separated parts of problem names to run (e.g. 'mlp')",
    )
    args = parser.parse_args()
    started = time.perf_counter()
    known = [p.name for p in problems(args.pools)]  # computes and caches the curves once
    names = [name for name in known if name in args.problems]
    tasks = [
        (name, method, seed, args)
        for name in names
        for method in _with_companions(args.methods)
        for seed in range(args.seed0, args.seed0 + args.seeds)
    ]
    traces: dict[tuple[str, str], list[Trace]] = {}
    with ProcessPoolExecutor(args.workers) as pool:
        for name, method, _, trace in pool.map(_run, tasks, chunksize=1):
            traces.setdefault((name, method), []).append(trace)
    report(names, traces, args)
    print(
        f"\nwall time {time.perf_counter() - started:.0f} s "
        f"({len(tasks)} runs, {args.workers} processes)"
    )


def report(names: list[str], traces: dict[tuple[str, str], list[Trace]], args) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(names), figsize=(6 * len(names), 4.5))
    header = (
        "| problem | method | best at B/3 | best at B (± s.e.) | resource to reach Random's best "
        "| the same, stopped there | compute saved | best vs Random | jobs started "
        "| nearest taken |"
    )
    rows = [header, "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    verdicts: list[str] = []
    for axis, name in zip(np.atleast_1d(axes), names, strict=True):
        budget = args.jobs * _problem(name, args.pools).max_resource
        grid = np.linspace(0, budget, 401)
        by_seed = {m: _seed_curves(traces[(name, m)], grid) for m in args.methods}
        curves = {m: values.mean(axis=1) for m, values in by_seed.items()}
        if_stopped = {m: _seed_curves(traces[(name, m)], grid, True) for m in args.methods}
        target = curves["tunelab Random"][-1]
        reached: dict[str, float] = {}
        for method in args.methods:
            curve = curves[method]
            reached[method] = _reach(curve, target, grid)
            stopped_share = _share(_reach(if_stopped[method].mean(axis=1), target, grid))
            at_third = curve[np.searchsorted(grid, budget / 3)]
            saved = loss = ""
            if method == "tunelab Random + median stopping":
                same = traces[(name, MEDIAN_SAME_JOBS)]
                full = traces[(name, "tunelab Random")]
                used = np.mean([t.resource for t in same]) / np.mean([t.resource for t in full])
                best_med = np.mean([t.best() for t in same])
                best_full = np.mean([t.best() for t in full])
                rel = (best_med - best_full) / abs(best_full)
                saved, loss = f"{1 - used:.1%}", f"{rel:+.2%}"
                verdicts.append(
                    f"{name}: median stopping saves {1 - used:.1%} (target >= 28%) with the "
                    f"best {rel:+.2%} off Random's (target within 1%)"
                )
            share = _share(reached[method])
            runs = traces[(name, method)]
            mean_jobs = np.mean([t.jobs for t in runs])
            taken = sum(t.taken for t in runs) / sum(t.jobs for t in runs)
            taken_share = f"{taken:.0%}" if _problem(name, args.pools).table else ""
            rows.append(
                f"| {name} | {method} | {at_third:.4f} "
                f"| {curve[-1]:.4f} ± {_se(by_seed[method][-1]):.4f} | {share} "
                f"| {stopped_share} | {saved} | {loss} | {mean_jobs:.0f} | {taken_share} |"
            )
            style = "-" if method.startswith("tunelab") else "--"
            axis.plot(grid, curve, style, label=method)
        hyperbands = [m for m in HYPERBANDS if m in curves]
        peers = {m: curves[m][-1] for m in OPTUNA if m in curves}
        if hyperbands:
            final = by_seed["tunelab Random"][-1]
            spans = {m: _reach_interval(by_seed[m], final, grid) for m in hyperbands}
            verdicts.append(
                f"{name}: Hyperband reaches Random's final best with "
                + ", ".join(f"{m.split('(')[1][:-1]} {_share(reached[m])}" for m in hyperbands)
                + " (target <= 0.33 B); 90% bootstrap intervals over the seeds: "
                + _intervals(spans)
            )
            spans = {m: _reach_interval(if_stopped[m], final, grid) for m in hyperbands}
            verdicts.append(
                f"{name}: the same if the tuning job were stopped there (running jobs with "
                f"their latest report), 90% bootstrap intervals: {_intervals(spans)}"
            )
        if hyperbands and peers:
            best_hb = min(hyperbands, key=lambda m: curves[m][-1])
            beaten = [m for m, v in peers.items() if curves[best_hb][-1] < v]
            verdicts.append(
                f"{name}: {best_hb} ({curves[best_hb][-1]:.4f}) beats "
                f"{len(beaten)}/{len(peers)} Optuna combinations at B"
                + (
                    ""
                    if len(beaten) == len(peers)
                    else " (loses to "
                    + ", ".join(f"{m} {peers[m]:.4f}" for m in peers if m not in beaten)
                    + ")"
                )
            )
            mine = by_seed[best_hb][-1]
            for peer in peers:  # same seeds: the paired difference says what is noise
                gap = mine - by_seed[peer][-1]
                verdicts.append(
                    f"  against {peer}: {np.nanmean(gap):+.4f} "
                    f"(paired standard error {_se(gap):.4f}, better on "
                    f"{int(np.sum(gap < 0))} of {int(np.sum(np.isfinite(gap)))} seeds)"
                )
        axis.axhline(target, color="grey", linewidth=0.8)
        axis.set_title(f"{name} (B = {budget} reports, mean of {args.seeds} seeds)")
        axis.set_xlabel("resource spent (reports of the objective, all jobs)")
        axis.set_ylabel(
            "best validation log-loss so far" if name != "synthetic" else "best objective so far"
        )
        finite = np.concatenate([c[np.isfinite(c)] for c in curves.values()])
        if finite.size:
            low, high = finite.min(), np.percentile(finite, 90)
            axis.set_ylim(low - 0.05 * (high - low), high)
    np.atleast_1d(axes)[0].legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(HERE / "anytime.png", dpi=110)
    print("\n".join(rows))
    print()
    print("\n".join(verdicts))


if __name__ == "__main__":
    main()
