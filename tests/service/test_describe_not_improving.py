"""Describe's NumberOfTrainingJobsObjectiveNotImproving is the tuning loop's count: a
training job the tuning job stopped (here by its completion) is not judged."""

from __future__ import annotations

from pathlib import Path

from tests.factories import make_document
from tunelab.domain.enums import TuningJobStatus
from tunelab.domain.request import parse_tuning_job
from tunelab.domain.tuning_job import TuningJob
from tunelab.execution.base import LaunchRequest
from tunelab.execution.clock import FakeClock
from tunelab.execution.simulated import SimulatedExecutor, SimulatedRun
from tunelab.orchestrator.loop import LoopSettings, TuningLoop
from tunelab.service.settings import Settings
from tunelab.service.tuning import TuningService
from tunelab.store.sql.store import SqlStore


def test_a_job_stopped_by_the_completion_is_not_counted(tmp_path: Path) -> None:
    store, clock = SqlStore(f"sqlite:///{tmp_path / 'db.sqlite'}"), FakeClock()
    document = make_document(max_jobs=10, parallel=2)
    document["HyperParameterTuningJobConfig"]["TuningJobCompletionCriteria"] = {
        "TargetObjectiveMetricValue": 0.5
    }
    now = clock.now()
    spec = parse_tuning_job(document)
    store.create_tuning_job(TuningJob(spec, TuningJobStatus.IN_PROGRESS, now, now))

    def fast_then_slow(request: LaunchRequest) -> SimulatedRun:
        if request.training_job_name.split("-")[2] == "001":
            return SimulatedRun(lines=((1.0, "validation:accuracy=0.6"),), duration=2.0)
        return SimulatedRun(lines=((1.5, "validation:accuracy=0.4"),), duration=60.0)

    executor = SimulatedExecutor(fast_then_slow, clock)
    settings = LoopSettings(str(tmp_path / "jobs"))
    final = TuningLoop(store, executor, clock, "job-1", settings).run()
    assert final.status is TuningJobStatus.COMPLETED
    counters = store.counters("job-1")
    assert (counters.stopped, counters.objective_succeeded) == (1, 2)  # 0.4, then stopped
    service = TuningService(Settings(home=tmp_path, database_url=store.url), store, clock)
    assert service.describe("job-1").jobs_not_improving == final.jobs_not_improving == 0
    store.close()
