"""API throughput and latency of ``tunelab serve`` while it runs 20 tuning jobs.

A real ``tunelab serve`` (SigV4 authentication on, its own TUNELAB_HOME) runs 20 tuning
jobs of a cheap training program (``/bin/sh``: sleeps and prints its loss; the sleep is
tuned within 20% of ``--sleep`` seconds, so that the 40 programs soon end at different
moments), 2 training jobs at a time each. Once every job has training jobs running,
``wrk`` opens ``--clients`` connections that send, for ``--seconds``, requests signed in
advance with botocore's SigV4 signer (a signature stays valid for the server's 5-minute
skew window), round robin: DescribeHyperParameterTuningJob of each job,
ListHyperParameterTuningJobs (``MaxResults`` 20) and
ListTrainingJobsForHyperParameterTuningJob of 19 jobs. ``--check`` first sends each once
with Python and fails unless the answer is a 200 of the operation's output shape.

wrk runs one thread by default: one event-driven thread drives 50 connections at well over
10,000 requests/s, and the server (one event loop: Python) and wrk then have a core each
on a 2-core machine. With two wrk threads they fight the server for the cores and the
latency measured is mostly theirs (p99 several times higher, for a trivial GET too).

Printed: requests/s, latency p50 / p90 / p99 / max (wrk's ``--latency``), non-2xx answers
and socket errors, CPU used by the server and by wrk, and how many training jobs the
server completed during the measurement (the scheduler kept working).

Target (issue 6): >= 500 requests/s with p99 <= 50 ms on a 2-core machine.

Needs ``wrk`` (Debian: ``apt-get install -y wrk``).

Usage: python benchmarks/api.py [--seconds 30] [--clients 50] [--jobs 20] [--sleep 5]
       [--threads 1] [--profile out.svg|out.txt]   # py-spy record of the server (pip
       install py-spy): a flame graph, or collapsed stacks (one line per stack)
       --sleep 0: the 20 jobs end first (one quick training job each): the API alone
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import boto3
import httpx
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

KEY = ("AKIDBENCHMARK0000001", "benchmark-secret-0123456789")
TUNELAB = str(Path(sys.executable).with_name("tunelab"))
PROGRAM = """#!/bin/sh
sleep "${SM_HP_SECONDS:-1}"
echo "loss=${SM_HP_X:-0.5};"
"""
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def job(
    name: str, program: Path, output: Path, sleep: float, jobs: int, seed: int
) -> dict[str, Any]:
    """A tuning job of ``jobs`` training jobs, 2 at a time, each sleeping a tuned
    number of seconds within 20% of ``sleep`` (so that 40 programs do not all end and
    start again at the same moment)."""
    return {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": {
            "Strategy": "Random",
            "RandomSeed": seed,
            "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "loss"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": jobs, "MaxParallelTrainingJobs": 2},
            "ParameterRanges": {
                "ContinuousParameterRanges": [
                    {"Name": "x", "MinValue": "0.1", "MaxValue": "1"},
                    {
                        "Name": "seconds",
                        "MinValue": str(sleep * 0.8),
                        "MaxValue": str(sleep * 1.2 + 0.001),
                    },
                ]
            },
        },
        "TrainingJobDefinition": {
            "AlgorithmSpecification": {
                "TrainingImage": f"file://{program}",
                "TrainingInputMode": "File",
                "MetricDefinitions": [{"Name": "loss", "Regex": r"loss=([0-9.]+);"}],
            },
            "RoleArn": "arn:aws:iam::123456789012:role/benchmark",
            "OutputDataConfig": {"S3OutputPath": f"file://{output}"},
            "ResourceConfig": {
                "InstanceType": "ml.m5.large",
                "InstanceCount": 1,
                "VolumeSizeInGB": 1,
            },
            "StoppingCondition": {"MaxRuntimeInSeconds": 600},
        },
    }


def presign(url: str, target: str, body: dict[str, Any]) -> dict[str, Any]:
    """Headers and body of a request signed now with the benchmark's key."""
    data = json.dumps(body).encode()
    request = AWSRequest(
        method="POST",
        url=url + "/",
        data=data,
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": f"SageMaker.{target}",
        },
    )
    SigV4Auth(Credentials(*KEY), "sagemaker", "us-east-1").add_auth(request)
    headers = dict(request.headers.items())
    headers["Host"] = url.split("//", 1)[1]
    return {"target": target, "headers": headers, "body": data.decode()}


def lua_string(text: str) -> str:
    level = "=" * 3
    assert f"]{level}]" not in text
    return f"[{level}[{text}]{level}]"


def wrk_script(requests: list[dict[str, Any]]) -> str:
    """A wrk script sending ``requests`` round robin (each thread from its own start)."""
    entries = []
    for r in requests:
        headers = ", ".join(
            f"[ {lua_string(k)} ] = {lua_string(v)}" for k, v in r["headers"].items()
        )
        entries.append(f"  {{ headers = {{ {headers} }}, body = {lua_string(r['body'])} }},")
    return "\n".join(
        [
            "local specs = {",
            *entries,
            "}",
            "local prepared = {}",
            "local counter = 0",
            "function init(args)",
            "  for i, spec in ipairs(specs) do",
            '    prepared[i] = wrk.format("POST", "/", spec.headers, spec.body)',
            "  end",
            "  counter = math.random(#prepared)",
            "end",
            "function request()",
            "  counter = counter % #prepared + 1",
            "  return prepared[counter]",
            "end",
            "",
        ]
    )


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its waited-for children."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(fields[i]) for i in (11, 12)) / CLK_TCK


def to_ms(value: str) -> float:
    number, unit = re.fullmatch(r"([0-9.]+)(us|ms|s|m)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def parse_wrk(output: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for percentile in ("50", "90", "99"):
        match = re.search(rf"^\s+{percentile}%\s+(\S+)", output, re.M)
        found[f"p{percentile}"] = to_ms(match.group(1)) if match else None
    match = re.search(r"^\s+Latency\s+(\S+)\s+(\S+)\s+(\S+)", output, re.M)
    found["max"] = to_ms(match.group(3)) if match else None
    match = re.search(r"(\d+) requests in ([0-9.]+)(\w+)", output)
    found["requests"] = int(match.group(1)) if match else 0
    match = re.search(r"Requests/sec:\s+([0-9.]+)", output)
    found["rps"] = float(match.group(1)) if match else 0.0
    match = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    found["non_2xx"] = int(match.group(1)) if match else 0
    match = re.search(r"Socket errors: (.*)", output)
    found["socket_errors"] = match.group(1).strip() if match else "none"
    return found


def check(url: str, requests: list[dict[str, Any]]) -> None:
    """Each request once: a 200 in its operation's output shape."""
    from tunelab.domain.sagemaker_model import service_model
    from tunelab.domain.shape_check import check_shape

    model = service_model()
    with httpx.Client() as client:
        for r in requests:
            answer = client.post(url + "/", headers=r["headers"], content=r["body"].encode())
            assert answer.status_code == 200, answer.text
            shape = model.operation_model(r["target"]).output_shape
            problems = check_shape(answer.json(), shape, "")
            assert problems == [], problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (see above)")
    parser.add_argument("--jobs", type=int, default=20, help="tuning jobs running meanwhile")
    parser.add_argument("--sleep", type=float, default=5.0, help="seconds per training job")
    parser.add_argument("--check", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument(
        "--profile", help="py-spy record the server: a flame graph (.svg) or collapsed stacks"
    )
    parser.add_argument("--keep", action="store_true", help="keep the TUNELAB_HOME")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("benchmarks/api.py needs wrk: apt-get install -y wrk")

    root = Path(tempfile.mkdtemp(prefix="tunelab-api-bench-"))
    home = root / "home"
    program = root / "train.sh"
    program.write_text(PROGRAM)
    program.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TUNELAB_"))}
    env.update(TUNELAB_HOME=str(home), TUNELAB_STOP_GRACE_SECONDS="2")
    created = subprocess.run(
        [TUNELAB, "access-keys", "create", "--access-key-id", KEY[0],
         "--secret-access-key", KEY[1]],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    if created.returncode != 0:
        sys.exit(f"tunelab access-keys create failed: {created.stderr}")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (root / "serve.log").open("w")
    server = subprocess.Popen(
        [TUNELAB, "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/ping", timeout=1).text == "ok":
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                sys.exit(f"tunelab serve did not start; see {root / 'serve.log'}")
            time.sleep(0.1)
        client = boto3.client(
            "sagemaker",
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id=KEY[0],
            aws_secret_access_key=KEY[1],
            config=Config(retries={"max_attempts": 1}),
        )
        names = [f"bench-{i:02d}" for i in range(args.jobs)]
        # enough training jobs to run through the measurement, within SageMaker's (and
        # tunelab's) limit of 500 per tuning job
        per_job = min(500, max(4, int(2 * (args.seconds + 30) / args.sleep)))
        per_job = per_job if args.sleep > 0 else 1
        for seed, name in enumerate(names):
            client.create_hyper_parameter_tuning_job(
                **job(name, program, root / "output", args.sleep, per_job, seed)
            )

        def running() -> int:
            return sum(
                client.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=n)[
                    "TrainingJobStatusCounters"
                ]["InProgress"]
                for n in names
            )

        if args.sleep <= 0:  # the jobs run 1 quick training job each and end
            deadline = time.monotonic() + 60
            while running() > 0 and time.monotonic() < deadline:
                time.sleep(0.5)
        deadline = time.monotonic() + 60
        while args.sleep > 0 and running() < 2 * args.jobs and time.monotonic() < deadline:
            time.sleep(0.5)

        requests = [presign(url, "DescribeHyperParameterTuningJob",
                            {"HyperParameterTuningJobName": n}) for n in names]  # fmt: skip
        requests += [
            presign(url, "ListHyperParameterTuningJobs", {"MaxResults": 20}),
            *(
                presign(url, "ListTrainingJobsForHyperParameterTuningJob",
                        {"HyperParameterTuningJobName": n})
                for n in names[: max(1, args.jobs - 1)]
            ),
        ]  # fmt: skip
        if args.check:
            check(url, requests)
        script = root / "requests.lua"
        script.write_text(wrk_script(requests))

        def completed() -> int:
            return sum(
                client.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=n)[
                    "TrainingJobStatusCounters"
                ]["Completed"]
                for n in names
            )

        done_before = completed()
        in_progress = running()
        server_cpu = cpu_seconds(server.pid)
        profiler = None
        if args.profile:
            profiler = subprocess.Popen(
                [str(Path(sys.executable).with_name("py-spy")), "record", "--pid",
                 str(server.pid), "--duration", str(args.seconds), "--output", args.profile,
                 "--format", "flamegraph" if args.profile.endswith(".svg") else "raw",
                 "--nonblocking", "--threads"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
        started = time.monotonic()
        children_before = os.times().children_user + os.times().children_system
        command = [
            "wrk", "--threads", str(args.threads), "--connections", str(args.clients),
            "--duration", f"{args.seconds}s", "--timeout", "10s", "--latency",
            "--script", str(script), url + "/",
        ]  # fmt: skip
        wrk = subprocess.run(command, capture_output=True, text=True)
        wall = time.monotonic() - started
        wrk_cpu = os.times().children_user + os.times().children_system - children_before
        server_cpu = cpu_seconds(server.pid) - server_cpu
        if profiler is not None:
            profiler.wait(60)
        done_during = completed() - done_before
        if wrk.returncode != 0 or wrk.stderr.strip():
            sys.exit(f"wrk failed: {wrk.stderr}")
        result = parse_wrk(wrk.stdout)
        for name in names:  # their training processes end with them
            with contextlib.suppress(client.exceptions.ClientError):  # ended already
                client.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(
            client.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=n)[
                "HyperParameterTuningJobStatus"
            ]
            == "Stopping"
            for n in names
        ):
            time.sleep(0.5)
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)

    met = result["rps"] >= 500 and (result["p99"] or 1e9) <= 50 and result["non_2xx"] == 0
    print(
        f"tunelab serve API benchmark ({os.cpu_count()} cores), {args.seconds} s, "
        f"{args.clients} connections (wrk, {args.threads} thread"
        f"{'s' if args.threads > 1 else ''}), pre-signed requests"
    )
    print(
        f"  workload: {args.jobs} tuning jobs, {in_progress} training jobs in progress at the "
        f"start, {done_during} training jobs completed during the measurement"
    )
    print(
        f"  mix: DescribeHyperParameterTuningJob x{len(names)}, "
        f"ListHyperParameterTuningJobs x1, ListTrainingJobsForHyperParameterTuningJob "
        f"x{len(requests) - len(names) - 1}, round robin"
    )
    print(
        f"  requests:     {result['requests']} ({result['non_2xx']} non-2xx, "
        f"socket errors: {result['socket_errors']})"
    )
    print(f"  requests/s:   {result['rps']:.1f}   (target >= 500)")
    print(f"  latency p50:  {result['p50']:.2f} ms")
    print(f"  latency p90:  {result['p90']:.2f} ms")
    print(f"  latency p99:  {result['p99']:.2f} ms   (target <= 50 ms)")
    print(f"  latency max:  {result['max']:.2f} ms")
    print(
        f"  CPU: server {server_cpu:.1f} s ({100 * server_cpu / wall:.0f}% of one core), "
        f"wrk {wrk_cpu:.1f} s ({100 * wrk_cpu / wall:.0f}%)"
    )
    print(f"  target {'met' if met else 'MISSED'}")  # fmt: skip
    if args.profile:
        print(f"  profile: {args.profile}")
    if args.keep:
        print(f"  data kept in {root}")


if __name__ == "__main__":
    main()
