"""Black-box optimization benchmark: tunelab's Bayesian strategy against its peers.

    python benchmarks/bbo/run.py                 # everything, one table at the end
    python benchmarks/bbo/run.py --optimizers tunelab random --problems branin

Every optimizer runs every problem under two budgets, ``50x1`` (50 sequential
evaluations) and ``16x8`` (16 rounds of 8 parallel suggestions, as in the NeurIPS
2020 BBO challenge), on the same seeds. Score (Bayesmark's normalized score):
``100 * (1 - (best - optimum) / (median_random - optimum))`` where ``best`` is the
run's best value, ``optimum`` the known minimum (or the best value seen anywhere in
the benchmark for the scikit-learn tasks) and ``median_random`` the median best
value of random search at that budget, computed exactly from a pool of random
evaluations. 100 is the optimum, 0 is median random search. Latency: milliseconds
of one ask + tell cycle on hartmann6 after 50, 200 and 500 observations
(median of 3 cycles, after one warm-up cycle).

Each finished run is appended to ``results/runs.jsonl`` keyed by optimizer version
(tunelab: a hash of its strategy sources), problem, budget and seed, so an
interrupted benchmark resumes; ``--fresh`` ignores that cache.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"  # every process single-threaded: peers compared fairly

import argparse  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ProcessPoolExecutor, as_completed  # noqa: E402
from importlib import metadata  # noqa: E402
from multiprocessing import get_context  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from problems import PROBLEMS, random_config  # noqa: E402

BUDGETS = {"50x1": (50, 1), "16x8": (16, 8)}
LATENCY_PROBLEM = "hartmann6"
LATENCY_SIZES = (50, 200, 500)
POOL_SIZE = 1000
DEFAULT_OPTIMIZERS = [
    "tunelab", "random", "optuna-tpe", "optuna-tpe-indep", "optuna-gp", "hyperopt",
    "skopt-gp", "smac3",
]  # fmt: skip
PACKAGES = {
    "random": "numpy",
    "optuna-tpe": "optuna",
    "optuna-tpe-indep": "optuna",
    "optuna-gp": "optuna",
    "hyperopt": "hyperopt",
    "skopt-gp": "scikit-optimize",
    "smac3": "smac",
    "hebo": "hebo",
}


def version(optimizer: str) -> str:
    if optimizer == "tunelab":
        src = HERE.parents[1] / "src" / "tunelab" / "strategies" / "bayesian"
        digest = hashlib.sha256()
        for path in sorted(src.glob("*.py")):
            digest.update(path.read_bytes())
        return "src-" + digest.hexdigest()[:12]
    return metadata.version(PACKAGES[optimizer])


# -- work units (run in worker processes) ----------------------------------------------


def run_optimizer(optimizer: str, problem_name: str, budget: str, seed: int) -> dict[str, Any]:
    from optimizers import FACTORIES

    problem = PROBLEMS[problem_name]
    rounds, batch = BUDGETS[budget]
    start = time.perf_counter()
    opt = FACTORIES[optimizer](problem, seed, rounds * batch)
    values: list[float] = []
    for _ in range(rounds):
        configs = opt.ask(batch)
        assert len(configs) == batch, (optimizer, len(configs))
        batch_values = [problem.objective(c) for c in configs]
        opt.tell(configs, batch_values)
        values.extend(batch_values)
    return {"values": values, "seconds": time.perf_counter() - start}


def random_pool(problem_name: str) -> dict[str, Any]:
    problem = PROBLEMS[problem_name]
    rng = np.random.default_rng(12345)
    return {"values": [problem.objective(random_config(problem, rng)) for _ in range(POOL_SIZE)]}


def latency(optimizer: str, n: int) -> dict[str, Any]:
    from optimizers import FACTORIES

    problem = PROBLEMS[LATENCY_PROBLEM]
    rng = np.random.default_rng(n)
    opt = FACTORIES[optimizer](problem, 0, n + 10)
    configs = [random_config(problem, rng) for _ in range(n)]
    opt.tell(configs, [problem.objective(c) for c in configs])
    times = []
    for i in range(4):
        t0 = time.perf_counter()
        config = opt.ask(1)
        t1 = time.perf_counter()
        value = [problem.objective(c) for c in config]  # not timed
        t2 = time.perf_counter()
        opt.tell(config, value)
        t3 = time.perf_counter()
        if i > 0:  # the first cycle warms up (a cold model fit)
            times.append((t1 - t0) + (t3 - t2))
    return {"ms": 1000 * statistics.median(times)}


def _work(unit: tuple) -> tuple[tuple, dict[str, Any]]:
    kind, *args = unit
    if kind == "run":
        return unit, run_optimizer(*args)
    if kind == "pool":
        return unit, random_pool(*args)
    return unit, latency(*args)


# -- scoring and the table ----------------------------------------------------------------


def median_random_best(pool: list[float], budget: int) -> float:
    """Median of the best of ``budget`` iid draws from the pool: the smallest value
    v with P(min <= v) = 1 - (1 - F(v))**budget >= 1/2."""
    ordered = sorted(pool)
    q = 1.0 - 0.5 ** (1.0 / budget)
    index = max(0, int(np.ceil(q * len(ordered))) - 1)
    return ordered[index]


def score(best: float, optimum: float, median: float) -> float:
    return 100.0 * (1.0 - (best - optimum) / (median - optimum))


def table(
    runs: dict[tuple, list[float]],
    pools: dict[str, list[float]],
    lat: dict[tuple, float],
    optimizers: list[str],
    problems: list[str],
    seeds: list[int],
) -> str:
    optima: dict[str, float] = {}
    for name in problems:
        known = PROBLEMS[name].optimum
        seen = [min(v) for k, v in runs.items() if k[1] == name] + [min(pools[name])]
        optima[name] = known if known is not None else min(seen)
    header = ["budget", "problem", *optimizers]
    rows: list[list[str]] = []
    for budget, (rounds, batch) in BUDGETS.items():
        means: dict[str, list[float]] = {o: [] for o in optimizers}
        for name in problems:
            median = median_random_best(pools[name], rounds * batch)
            row = [budget, name]
            for o in optimizers:
                scores = [score(min(runs[(o, name, budget, s)]), optima[name], median)
                          for s in seeds if (o, name, budget, s) in runs]  # fmt: skip
                if len(scores) == len(seeds):
                    means[o].append(float(np.mean(scores)))
                    row.append(f"{np.mean(scores):.1f}")
                else:
                    row.append("-")
            rows.append(row)
        mean_row = [budget, "**mean**"]
        for o in optimizers:
            complete = len(means[o]) == len(problems)
            mean_row.append(f"**{np.mean(means[o]):.1f}**" if complete else "-")
        rows.append(mean_row)
    for n in LATENCY_SIZES:
        rows.append(
            ["latency ms", f"n={n}"]
            + [f"{lat[(o, n)]:.0f}" if (o, n) in lat else "-" for o in optimizers]
        )
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |"]
    lines.append("| " + " | ".join("-" * w for w in widths) + " |")
    for r in rows:
        lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--optimizers", nargs="+", default=DEFAULT_OPTIMIZERS)
    parser.add_argument("--problems", nargs="+", default=list(PROBLEMS))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--budgets", nargs="+", default=list(BUDGETS))
    parser.add_argument("--jobs", type=int, default=2, help="worker processes")
    parser.add_argument("--no-latency", action="store_true")
    parser.add_argument(
        "--skip", nargs="*", default=[], metavar="OPTIMIZER:BUDGET",
        help="leave these runs out (shown as '-'), e.g. skopt-gp:16x8 or hebo:latency",
    )  # fmt: skip
    parser.add_argument("--fresh", action="store_true", help="ignore cached results")
    parser.add_argument(
        "--cached-only", action="store_true", help="run nothing: the table of cached results"
    )
    parser.add_argument("--cache", type=Path, default=HERE / "results" / "runs.jsonl")
    args = parser.parse_args()
    for budget in [b for b in list(BUDGETS) if b not in args.budgets]:
        del BUDGETS[budget]

    seeds = list(range(args.seeds))
    versions = {o: version(o) for o in args.optimizers}
    cached: dict[str, dict[str, Any]] = {}
    if args.cache.exists() and not args.fresh:
        for line in args.cache.read_text().splitlines():
            entry = json.loads(line)
            cached[entry["key"]] = entry["result"]

    def key(unit: tuple) -> str:
        if unit[0] == "run":
            return json.dumps(["run", unit[1], versions[unit[1]], *unit[2:]])
        if unit[0] == "pool":
            return json.dumps(["pool", unit[1], POOL_SIZE])
        return json.dumps(["latency", unit[1], versions[unit[1]], unit[2]])

    skip = set(args.skip)
    units: list[tuple] = [("pool", p) for p in args.problems]
    units += [("run", o, p, b, s) for b in BUDGETS for p in args.problems
              for o in args.optimizers for s in seeds if f"{o}:{b}" not in skip]  # fmt: skip
    if not args.no_latency:
        units += [("latency", o, n) for o in args.optimizers for n in LATENCY_SIZES
                  if o != "random" and f"{o}:latency" not in skip]  # fmt: skip
    results = {u: cached[key(u)] for u in units if key(u) in cached}
    todo = [] if args.cached_only else [u for u in units if u not in results]
    started = time.perf_counter()
    print(f"{len(results)} results cached, {len(todo)} to run on {args.jobs} processes",
          file=sys.stderr)  # fmt: skip
    args.cache.parent.mkdir(parents=True, exist_ok=True)
    with ProcessPoolExecutor(args.jobs, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(_work, u) for u in todo]
        for done, future in enumerate(as_completed(futures), 1):
            unit, result = future.result()
            results[unit] = result
            with args.cache.open("a") as f:
                f.write(json.dumps({"key": key(unit), "result": result}) + "\n")
            print(f"[{done}/{len(todo)} {time.perf_counter() - started:.0f}s] {unit}",
                  file=sys.stderr)  # fmt: skip

    runs = {u[1:]: r["values"] for u, r in results.items() if u[0] == "run"}
    pools = {u[1]: r["values"] for u, r in results.items() if u[0] == "pool"}
    lat = {u[1:]: r["ms"] for u, r in results.items() if u[0] == "latency"}
    print(table(runs, pools, lat, args.optimizers, args.problems, seeds))
    seconds = {o: sum(r["seconds"] for u, r in results.items() if u[0] == "run" and u[1] == o)
               for o in args.optimizers}  # fmt: skip
    print("\noptimizer versions: " + ", ".join(f"{o} {v}" for o, v in versions.items()))
    print("seconds in scored runs (each run's wall clock: optimizer + objective): "
          + ", ".join(f"{o} {s:.0f}" for o, s in seconds.items()))  # fmt: skip


if __name__ == "__main__":
    main()
