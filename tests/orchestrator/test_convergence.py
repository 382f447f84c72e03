"""``CompleteOnConvergence``: the Bayesian strategy's model ends the tuning job once
it expects no configuration to improve on the best by more than about 1%."""

from __future__ import annotations

from typing import Any

from tests.factories import make_document
from tests.orchestrator.conftest import Harness, accuracy_of
from tunelab.api.codecs import describe_tuning_job
from tunelab.domain.enums import TuningJobStatus
from tunelab.execution.base import LaunchRequest
from tunelab.execution.simulated import SimulatedRun
from tunelab.service.tuning import TuningJobDescription

CONFIG = "HyperParameterTuningJobConfig"
BUDGET = 60


def bayesian(name: str, convergence: str) -> dict[str, Any]:
    document = make_document(name=name, strategy="Bayesian", max_jobs=BUDGET, parallel=2)
    document[CONFIG]["RandomSeed"] = 7
    document[CONFIG]["TuningJobCompletionCriteria"] = {
        "ConvergenceDetected": {"CompleteOnConvergence": convergence}
    }
    return document


def one_report(request: LaunchRequest) -> SimulatedRun:
    """Reports the accuracy once; jobs take 10 to 20 s, so parallel jobs end apart."""
    hyperparameters = dict(request.hyperparameters)
    seconds = 10 + 10 * float(hyperparameters["lr"]) / 0.1
    value = accuracy_of(hyperparameters)
    return SimulatedRun(lines=((seconds, f"validation:accuracy={value:.6f}"),), duration=seconds)


def test_convergence_completes_the_job_before_its_budget(harness: Harness) -> None:
    harness.create(bayesian("converging", "Enabled"))
    loop = harness.loop("converging", harness.executor(one_report))
    final = loop.run()

    assert final.status is TuningJobStatus.COMPLETED
    assert loop.created < BUDGET
    assert "CompleteOnConvergence" in (loop.finishing or "")
    stored = harness.store.get_tuning_job("converging")
    assert stored.convergence_detected_time is not None
    assert final.creation_time < stored.convergence_detected_time <= final.end_time

    description = TuningJobDescription(stored, harness.store.counters("converging"), None, 0, 0)
    details = describe_tuning_job(description)["TuningJobCompletionDetails"]
    assert details["ConvergenceDetectedTime"] == stored.convergence_detected_time


def test_without_the_criterion_the_same_job_runs_its_whole_budget(harness: Harness) -> None:
    harness.create(bayesian("budget", "Disabled"))
    loop = harness.loop("budget", harness.executor(one_report))
    final = loop.run()

    assert final.status is TuningJobStatus.COMPLETED
    assert loop.created == BUDGET
    assert final.convergence_detected_time is None
    description = TuningJobDescription(final, harness.store.counters("budget"), None, 0, 0)
    assert (
        "ConvergenceDetectedTime"
        not in describe_tuning_job(description)["TuningJobCompletionDetails"]
    )


def test_a_restarted_loop_ends_a_job_that_had_converged(harness: Harness) -> None:
    """Convergence is stored before the running jobs end: a loop that takes the job
    over after a crash launches nothing more."""
    harness.create(bayesian("restarted", "Enabled"))
    first = harness.loop("restarted", harness.executor(one_report))
    first.start()
    while harness.store.get_tuning_job("restarted").convergence_detected_time is None:
        assert not first.tick(), "the job ended before convergence was stored"
        first.executor.wait(first._wait_time())
    created = first.created
    first.lease.release()

    second = harness.loop("restarted", harness.executor(one_report))
    final = second.run()
    assert final.status is TuningJobStatus.COMPLETED
    assert second.created == created
