"""Orchestration overhead: tunelab against ``xargs -P 10``, in the same run.

200 training jobs of a trivial program (it sleeps ``--sleep`` seconds, prints its
metric and exits), 10 at a time. The same program runs 200 times under
``xargs -P 10`` as the peer. Printed:

- wall time of xargs; of the tuning job (CreationTime -> HyperParameterTuningEndTime,
  what the orchestrator adds to the runs); of the whole ``tunelab run`` command
  (plus interpreter start, imports, validation, the final report); and their ratios;
- launch latency per job: each program records when it started and ended; the
  k-th job to start reuses the slot freed by the (k-10)-th job to end, so
  ``start_k - end_(k-10)`` is the time from a slot freeing to the next program
  running. Its median under tunelab minus its median under xargs is the launch
  overhead tunelab adds;
- peak RSS of the ``tunelab run`` process (``wait4``'s ``ru_maxrss``).

Targets (issue 2): ratio <= 1.10, launch overhead <= 30 ms, RSS <= 150 MB.

Usage: python benchmarks/overhead.py [--jobs 200] [--parallel 10] [--sleep 0.1] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

PROGRAM = """\
import os, sys, time
started = time.time()
time.sleep(float(os.environ.get("BENCH_SLEEP", "0")))
print(f"loss={(started * 1000) % 1:.6f}", flush=True)
with open(os.environ["BENCH_TIMES"], "a") as times:
    times.write(f"{started} {time.time()}\\n")
"""


def job_document(name: str, program: Path, jobs: int, parallel: int, env: dict[str, str]) -> dict:
    return {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": {
            "Strategy": "Random",
            "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "loss"},
            "ResourceLimits": {
                "MaxNumberOfTrainingJobs": jobs,
                "MaxParallelTrainingJobs": parallel,
            },
            "ParameterRanges": {
                "ContinuousParameterRanges": [{"Name": "x", "MinValue": "0", "MaxValue": "1"}]
            },
        },
        "TrainingJobDefinition": {
            "AlgorithmSpecification": {
                "TrainingImage": f"file://{program}",
                "TrainingInputMode": "File",
                "MetricDefinitions": [{"Name": "loss", "Regex": r"loss=([0-9.]+)"}],
            },
            "RoleArn": "arn:aws:iam::123456789012:role/benchmark",
            "OutputDataConfig": {"S3OutputPath": f"file://{program.parent / 'output'}"},
            "ResourceConfig": {
                "InstanceType": "ml.m5.large",
                "InstanceCount": 1,
                "VolumeSizeInGB": 1,
            },
            "StoppingCondition": {"MaxRuntimeInSeconds": 600},
            "Environment": env,
        },
    }


def slot_gaps(times_file: Path, parallel: int) -> list[float]:
    """start_k - end_(k - parallel), k over the jobs that waited for a slot."""
    pairs = [tuple(map(float, line.split())) for line in times_file.read_text().splitlines()]
    starts = sorted(p[0] for p in pairs)
    ends = sorted(p[1] for p in pairs)
    return [starts[k] - ends[k - parallel] for k in range(parallel, len(starts))]


def run_xargs(work: Path, program: Path, jobs: int, parallel: int, sleep: float) -> dict:
    times = work / "xargs-times.txt"
    env = dict(os.environ, BENCH_TIMES=str(times), BENCH_SLEEP=str(sleep))
    argv = ["xargs", "-P", str(parallel), "-n", "1", sys.executable, str(program)]
    begin = time.perf_counter()
    subprocess.run(
        argv,
        input="".join("train\n" for _ in range(jobs)),
        text=True,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - begin
    return {"wall": wall, "gaps": slot_gaps(times, parallel)}


def run_tunelab(
    work: Path, program: Path, jobs: int, parallel: int, sleep: float, index: int
) -> dict:
    times = work / f"tunelab-times-{index}.txt"
    name = f"overhead-{index}"
    document = job_document(
        name, program, jobs, parallel, {"BENCH_TIMES": str(times), "BENCH_SLEEP": str(sleep)}
    )
    job_file = work / f"{name}.json"
    job_file.write_text(json.dumps(document))
    env = dict(os.environ, TUNELAB_HOME=str(work / "home"))
    tunelab = str(Path(sys.executable).with_name("tunelab"))
    out_path, err_path = work / f"{name}.out", work / f"{name}.err"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        begin = time.perf_counter()
        process = subprocess.Popen(
            [tunelab, "run", str(job_file), "--json"], env=env, stdout=out, stderr=err
        )
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - begin
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"tunelab run failed ({process.returncode}):\n{err_path.read_text()}")
    described = json.loads(out_path.read_text())
    created = datetime.fromisoformat(described["CreationTime"]).timestamp()
    ended = datetime.fromisoformat(described["HyperParameterTuningEndTime"]).timestamp()
    counters = described["TrainingJobStatusCounters"]
    assert counters["Completed"] == jobs, counters
    return {
        "wall": wall,
        "job_wall": ended - created,
        "gaps": slot_gaps(times, parallel),
        "rss_mb": usage.ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--parallel", type=int, default=10)
    parser.add_argument("--sleep", type=float, default=0.1)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tunelab-overhead-") as tmp:
        work = Path(tmp)
        program = work / "trivial.py"
        program.write_text(PROGRAM)
        xargs_runs, tunelab_runs = [], []
        for i in range(args.repeat):
            xargs_runs.append(run_xargs(work, program, args.jobs, args.parallel, args.sleep))
            tunelab_runs.append(
                run_tunelab(work, program, args.jobs, args.parallel, args.sleep, i)
            )
        report(args, xargs_runs, tunelab_runs)


def report(args: argparse.Namespace, xargs_runs: list[dict], tunelab_runs: list[dict]) -> None:
    med = statistics.median
    xargs_wall = med(r["wall"] for r in xargs_runs)
    job_wall = med(r["job_wall"] for r in tunelab_runs)
    cli_wall = med(r["wall"] for r in tunelab_runs)
    xargs_gap = med(g for r in xargs_runs for g in r["gaps"])
    tunelab_gap = med(g for r in tunelab_runs for g in r["gaps"])
    rss = max((r["rss_mb"] or 0) for r in tunelab_runs)
    print(
        f"overhead benchmark: {args.jobs} jobs, {args.parallel} in parallel, program sleeps "
        f"{args.sleep} s; median of {args.repeat} runs each (on {os.cpu_count()} cores)"
    )
    print(f"  xargs -P {args.parallel} wall time          {xargs_wall:8.3f} s")
    print(
        f"  tunelab tuning job wall time     {job_wall:8.3f} s   ratio {job_wall / xargs_wall:.3f}"
        "  (target <= 1.10)"
    )
    print(
        f"  tunelab run command wall time    {cli_wall:8.3f} s   ratio {cli_wall / xargs_wall:.3f}"
        "  (with interpreter start, imports, validation, report)"
    )
    print(
        f"  slot-free -> next program start  xargs {xargs_gap * 1000:6.1f} ms, tunelab "
        f"{tunelab_gap * 1000:6.1f} ms (median)"
    )
    print(
        f"  launch overhead added by tunelab {(tunelab_gap - xargs_gap) * 1000:8.1f} ms per job"
        "  (target <= 30 ms)"
    )
    print(f"  peak RSS of `tunelab run`        {rss:8.1f} MB   (target <= 150 MB)")


if __name__ == "__main__":
    main()
