"""Hyperband and the median rule in the tuning loop on the simulated executor:
whole jobs in milliseconds, decisions persisted with their reason, crash + resume."""

from __future__ import annotations

import math
import statistics

import pytest

from tests.factories import make_document
from tests.orchestrator.conftest import Harness
from tunelab.domain.enums import (
    ObjectiveStatus,
    SecondaryStatus,
    TrainingJobStatus,
    TuningJobStatus,
)
from tunelab.execution.base import LaunchRequest
from tunelab.execution.simulated import SimulatedRun
from tunelab.orchestrator.stoppers import (
    DECIDED,
    ENDED,
    REQUESTED,
    stop_reason,
    stopped_early,
)
from tunelab.store.base import TrainingJobQuery, iterate_training_jobs

CONFIG = "HyperParameterTuningJobConfig"
SECONDS = 5.0  # per epoch; make_document's MaxRuntimeInSeconds is 60


def curve_program(request: LaunchRequest) -> SimulatedRun:
    """Accuracy rising towards a final value set by lr and depth, one line per epoch."""
    hp = request.hyperparameters
    final = 0.95 - (math.log10(float(hp["lr"])) + 2) ** 2 / 10 - (int(hp["depth"]) - 4) ** 2 / 100
    epochs = int(hp["epochs"])
    lines = tuple(
        ((e + 1) * SECONDS, f"validation:accuracy={final - 0.3 / (e + 1):.6f}")
        for e in range(epochs)
    )
    return SimulatedRun(lines=lines, duration=epochs * SECONDS + 1)


def document(strategy: str, early_stopping: str = "Off", max_jobs: int = 24) -> dict:
    doc = make_document(
        strategy=strategy, max_jobs=max_jobs, parallel=3, StaticHyperParameters={"epochs": "9"}
    )
    doc[CONFIG]["TrainingJobEarlyStoppingType"] = early_stopping
    doc[CONFIG]["RandomSeed"] = 4
    return doc


def jobs_of(harness: Harness):
    return list(
        iterate_training_jobs(harness.store, TrainingJobQuery("job-1", sort_by="CreationTime"))
    )


def values_of(harness: Harness, name: str) -> list[float]:
    return [p.value for p in harness.store.metric_points(name)]


def check_stopped_jobs(harness: Harness) -> list:
    """Every stopped job: objective = its latest value, Succeeded, reason recorded."""
    stopped = []
    for job in jobs_of(harness):
        values = values_of(harness, job.name)
        assert job.final_objective_value == values[-1]
        assert job.objective_status is ObjectiveStatus.SUCCEEDED
        if job.status is TrainingJobStatus.STOPPED:
            stopped.append(job)
            assert stop_reason(job) is not None
    assert harness.store.counters("job-1").stopped == len(stopped)
    return stopped


def test_a_whole_hyperband_job(harness: Harness) -> None:
    harness.create(document("Hyperband"))  # MaxResource 9 inferred from epochs
    loop = harness.loop("job-1", harness.executor(curve_program))
    assert loop.run().status is TuningJobStatus.COMPLETED
    jobs = jobs_of(harness)
    assert len(jobs) == 24
    stopped = check_stopped_jobs(harness)
    by_rung = {}
    for job in stopped:  # stopped at a rung: exactly as many reports as the rung's level
        reason, reports = stop_reason(job), len(values_of(harness, job.name))
        messages = [t.message for t in job.transitions if t.status is SecondaryStatus.STOPPING]
        assert reason.startswith(f"Hyperband: stopped at rung {reports} of bracket ")
        assert stopped_early(job) and messages == [DECIDED + reason]
        by_rung[reports] = by_rung.get(reports, 0) + 1
    # its 9 epochs are MaxResource: a job reaching it ends by itself (and saves its model)
    full = [j for j in jobs if j.status is TrainingJobStatus.COMPLETED]
    assert all(len(values_of(harness, j.name)) == 9 and stop_reason(j) is None for j in full)
    assert by_rung and full and loop.stopped_early == len(stopped) == len(jobs) - len(full)
    promoted = [
        t.message
        for job in jobs
        for t in job.transitions
        if t.status is SecondaryStatus.TRAINING and t.message.startswith("Hyperband: promoted")
    ]
    assert promoted
    total = sum(len(values_of(harness, j.name)) for j in jobs)
    assert total < 0.8 * 24 * 9  # compute saved against running every job to the end


def epochs_document(epochs: dict) -> dict:
    """Hyperband with MaxResource 9 given, and the jobs' epochs static or tuned."""
    doc = document("Hyperband")
    doc[CONFIG]["StrategyConfig"] = {"HyperbandStrategyConfig": {"MaxResource": 9}}
    if "static" in epochs:
        doc["TrainingJobDefinition"]["StaticHyperParameters"]["epochs"] = epochs["static"]
    else:
        del doc["TrainingJobDefinition"]["StaticHyperParameters"]["epochs"]
        doc[CONFIG]["ParameterRanges"]["IntegerParameterRanges"].append(
            {
                "Name": "epochs",
                "MinValue": str(epochs["tuned"][0]),
                "MaxValue": str(epochs["tuned"][1]),
            }
        )
    return doc


@pytest.mark.parametrize("epochs", [{"static": "12"}, {"tuned": (6, 12)}])
def test_hyperband_stops_at_max_resource_only_jobs_that_would_run_longer(
    harness: Harness, epochs: dict
) -> None:
    harness.create(epochs_document(epochs))
    loop = harness.loop("job-1", harness.executor(curve_program))
    assert loop.run().status is TuningJobStatus.COMPLETED
    check_stopped_jobs(harness)
    longer, itself = 0, 0
    for job in jobs_of(harness):
        own = int(job.tuned_hyperparameters.get("epochs", epochs.get("static", "0")))
        values, reason = values_of(harness, job.name), stop_reason(job) or ""
        messages = [t.message for t in job.transitions if t.status is SecondaryStatus.STOPPING]
        if reason.startswith("Hyperband: reached MaxResource"):  # stopped there, as it was
            assert own > 9 and len(values) == 9 and job.status is TrainingJobStatus.STOPPED
            assert reason == "Hyperband: reached MaxResource (9 reports of the objective)"
            assert messages == [ENDED + reason] and not stopped_early(job)
            assert job.final_objective_value == values[8]
            longer += 1
        elif not reason:  # ran all its epochs, at most MaxResource, and ended by itself
            assert own <= 9 and len(values) == own
            assert job.status is TrainingJobStatus.COMPLETED and not messages
            itself += 1
    assert longer
    assert itself if "tuned" in epochs else not itself


def test_a_job_left_to_end_at_max_resource_that_reports_again_is_stopped(
    harness: Harness,
) -> None:
    """epochs 9 = MaxResource, but the program prints twice an epoch: left to end at its
    9th report, it is stopped at its 10th (which the loop used to keep from the strategy,
    so the job ran on), and its objective stays the 9th report's."""
    harness.create(epochs_document({"static": "9"}))

    def twice(request: LaunchRequest) -> SimulatedRun:
        run = curve_program(request)
        lines = tuple(line for t, text in run.lines for line in ((t, text), (t + 0.1, text)))
        return SimulatedRun(lines=lines, duration=run.duration)

    assert harness.loop("job-1", harness.executor(twice)).run().status.is_terminal
    full = [j for j in jobs_of(harness) if len(values_of(harness, j.name)) >= 9]
    assert full
    for job in full:
        reason = stop_reason(job)
        assert reason == (
            "Hyperband: reached MaxResource (9 reports of the objective; it reported again)"
        )
        assert job.status is TrainingJobStatus.STOPPED and not stopped_early(job)
        assert job.final_objective_value == values_of(harness, job.name)[8]


def test_a_median_stopping_job(harness: Harness) -> None:
    harness.create(document("Random", "Auto"))
    harness.loop("job-1", harness.executor(curve_program)).run()
    stopped = check_stopped_jobs(harness)
    assert stopped
    curves = {j.name: values_of(harness, j.name) for j in jobs_of(harness)}
    times = {
        j.name: [p.timestamp for p in harness.store.metric_points(j.name)]
        for j in jobs_of(harness)
    }
    for job in stopped:
        reason = stop_reason(job)
        assert reason.startswith("median stopping rule: report ")
        k = len(curves[job.name])  # stopped at its k-th report, at once
        assert k > 3  # the grace period (3 reports)
        at = times[job.name][-1]
        earlier = [
            sum(c[:k]) / k
            for name, c in curves.items()
            if name != job.name and len(c) >= k and times[name][k - 1] < at
        ]
        assert len(earlier) >= 3
        assert curves[job.name][-1] < statistics.median(earlier)
    survivors = [j for j in jobs_of(harness) if j.status is TrainingJobStatus.COMPLETED]
    assert survivors and all(len(curves[j.name]) == 9 for j in survivors)


def crash_when_stopping(harness: Harness) -> str:
    """Tick until a stop decision is committed, then abandon the loop (kill -9)
    before the executor ever reports the job's end."""
    loop = harness.loop("job-1", harness.executor(curve_program))
    loop.start()
    for _ in range(500):
        loop.tick()
        stopping = [j for j in jobs_of(harness) if j.status is TrainingJobStatus.STOPPING]
        if stopping:
            return stopping[0].name
        loop.executor.wait(5.0)
    raise AssertionError("no stop was decided")


def test_hyperband_crash_and_resume(harness: Harness) -> None:
    harness.create(document("Hyperband"))
    condemned = crash_when_stopping(harness)
    before = {j.name: j for j in jobs_of(harness)}
    state_before = harness.store.strategy_state("job-1")
    executor = harness.executor(curve_program)
    final = harness.loop("job-1", executor).run()
    assert final.status is TuningJobStatus.COMPLETED
    after = {j.name: j for j in jobs_of(harness)}
    assert sorted(j.sequence for j in after.values()) == list(range(1, 25))
    # the stop decided before the crash is carried out, never run again
    assert condemned not in {r.training_job_name for r in executor.launches}
    job = after[condemned]
    assert job.status is TrainingJobStatus.STOPPED
    assert job.final_objective_value == values_of(harness, condemned)[-1]
    assert stop_reason(job).startswith("Hyperband: ")
    for name, old in before.items():
        if old.status.is_terminal:
            assert after[name] == old
    # the strategy continued from its committed state: earlier verdicts kept
    jobs_then = {j["id"]: j for j in state_before["jobs"]}
    jobs_now = {j["id"]: j for j in harness.store.strategy_state("job-1")["jobs"]}
    for trial_id, record in jobs_then.items():
        assert jobs_now[trial_id]["bracket"] == record["bracket"]
        assert jobs_now[trial_id]["levels"][: len(record["levels"])] == record["levels"]
    check_stopped_jobs(harness)


def test_median_crash_and_resume_rebuilds_the_rule_from_the_store(harness: Harness) -> None:
    harness.create(document("Random", "Auto"))
    condemned = crash_when_stopping(harness)
    executor = harness.executor(curve_program)
    loop = harness.loop("job-1", executor)
    loop.start()
    rule = loop.stopper
    stored = {j.name: values_of(harness, j.name) for j in jobs_of(harness)}
    assert {n: c.values for n, c in rule._curves.items()} == stored
    while not loop.tick():
        executor.wait(5.0)
    job = harness.store.get_training_job(condemned)
    assert job.status is TrainingJobStatus.STOPPED
    assert stop_reason(job).startswith("median stopping rule")
    assert len(jobs_of(harness)) == 24
    assert loop.stopped_early > 0  # the rebuilt rule goes on deciding
    check_stopped_jobs(harness)


@pytest.mark.parametrize("received_by", ["this process", "another process"])
def test_stop_training_job_request_is_told_apart(harness: Harness, received_by: str) -> None:
    """StopTrainingJob received by the process running the loop, or by another one (a
    server while ``tunelab run`` drives the job): through the store then, read within
    the status poll. Either way the job's history says it was requested."""
    harness.create(document("Random", max_jobs=3))
    loop = harness.loop("job-1", harness.executor(curve_program))
    loop.start()
    loop.tick()
    victim = sorted(loop.live)[0]
    if received_by == "this process":
        loop.request_stop_training_job(victim)
        loop.request_stop_training_job("not-a-job")
    else:
        harness.store.request_training_job_stop(victim, harness.clock.now())
        harness.clock.sleep(loop.settings.status_poll_interval)
    while not loop.tick():
        loop.executor.wait(5.0)
    job = harness.store.get_training_job(victim)
    assert job.status is TrainingJobStatus.STOPPED
    assert stop_reason(job) == REQUESTED
    assert loop.stopped_early == 0
    others = [j for j in jobs_of(harness) if j.name != victim]
    assert all(stop_reason(j) is None and j.status is TrainingJobStatus.COMPLETED for j in others)


def test_a_tag_chooses_hyperbands_sampler_for_the_whole_job(harness: Harness) -> None:
    """``tunelab:hyperband-sampler`` picks the GP sampler; the choice is in the strategy's
    stored state, so a resumed job keeps it."""
    doc = document("Hyperband")
    doc["Tags"] = [{"Key": "tunelab:hyperband-sampler", "Value": "gp"}]
    harness.create(doc)
    final = harness.loop("job-1", harness.executor(curve_program)).run()
    assert final.status is TuningJobStatus.COMPLETED
    state = harness.store.strategy_state("job-1")
    assert state is not None and state["settings"]["sampler"] == "gp"
    assert "gp" in state  # the sampler's model was fitted and saved

    harness.create(document("Hyperband") | {"HyperParameterTuningJobName": "plain"})
    harness.loop("plain", harness.executor(curve_program)).run()
    plain = harness.store.strategy_state("plain")
    assert plain is not None and plain["settings"]["sampler"] == "random"


def test_reports_after_max_resource_count_for_nothing(harness: Harness) -> None:
    """A job goes on printing until its stop lands: here all its 12 lines come at once."""
    harness.create(document("Hyperband", max_jobs=6))  # MaxResource 9 inferred from epochs

    def eager(request: LaunchRequest) -> SimulatedRun:
        lines = tuple((SECONDS, f"validation:accuracy={0.5 + e / 100:.2f}") for e in range(12))
        return SimulatedRun(lines=lines, duration=2 * SECONDS)

    assert harness.loop("job-1", harness.executor(eager)).run().status is (
        TuningJobStatus.COMPLETED
    )
    for job in jobs_of(harness):
        assert len(values_of(harness, job.name)) == 12  # every point is kept as a metric
        assert job.final_objective_value == 0.58  # the 9th report, MaxResource's
