"""The store reads the API makes for speed, on SQLite and PostgreSQL: Describe from one
read (``SqlStore.tuning_job_overview``) equals ``TuningService.describe`` at every tick
of a run, ``counters_of`` equals ``counters``, a store that never saw a tuning job reads
its spec from the document, and every write bumps the scopes the answer cache watches."""

from __future__ import annotations

from pathlib import Path

from tests.factories import make_document, make_multi_document
from tests.orchestrator.conftest import Harness
from tests.store.conftest import store_url  # noqa: F401  (the SQLite / PostgreSQL fixture)
from tunelab.api.handlers import Context
from tunelab.domain.progress import ImprovementTracker
from tunelab.execution.base import LaunchRequest
from tunelab.execution.clock import FakeClock
from tunelab.execution.simulated import SimulatedRun
from tunelab.service.algorithms import AlgorithmService
from tunelab.service.settings import Settings
from tunelab.service.training import TrainingService
from tunelab.service.tuning import TuningJobDescription, TuningService
from tunelab.store.base import TrainingJobQuery, TuningJobQuery, iterate_training_jobs
from tunelab.store.sql.store import SqlStore


def context(store: SqlStore, tmp_path: Path, clock: FakeClock) -> Context:
    tuning = TuningService(Settings(home=tmp_path, database_url=store.url), store, clock)
    return Context(
        tuning=tuning,
        training=TrainingService(store, clock),
        algorithms=AlgorithmService(store, clock),
        scheduler=None,
        principal=None,
        region="us-east-1",
        account="123456789012",
    )


def some_fail(request: LaunchRequest) -> SimulatedRun:
    """Every third training job fails; the others print an accuracy."""
    sequence = int(request.training_job_name.rsplit("-", 2)[1])
    if sequence % 3 == 0:
        return SimulatedRun(lines=((5.0, "starting"),), duration=6.0, exit_code=1)
    value = 0.5 + 0.01 * (sequence % 7)
    return SimulatedRun(lines=((10.0, f"validation:accuracy={value:.4f}"),), duration=11.0)


def from_every_training_job(ctx: Context, name: str) -> TuningJobDescription:
    """Describe's facts the slow way, from every training job: what the one-read
    ``tuning_job_overview`` must agree with."""
    store = ctx.tuning.store
    job = store.get_tuning_job(name)
    jobs = list(iterate_training_jobs(store, TrainingJobQuery(job.name)))
    tracker = ImprovementTracker(job.spec.objective_type)
    for done in sorted((j for j in jobs if j.status.is_terminal), key=lambda j: j.end_time or 0):
        tracker.add(done.final_objective_value)
    return TuningJobDescription(
        job=job,
        counters=store.counters(job.name),
        best=store.best_training_job(job.name, job.spec.objective_type),
        jobs_not_improving=tracker.streak,
        last_modified_time=max(
            [job.last_modified_time] + [j.last_modified_time or 0 for j in jobs]
        ),
    )


def test_describe_from_one_read_equals_the_slow_way(
    store_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    with SqlStore(store_url) as store:
        harness = Harness(store, clock, tmp_path)
        ctx = context(store, tmp_path, clock)
        names = []
        for document in (make_document(max_jobs=9, parallel=2), make_multi_document(max_jobs=6)):
            harness.create(document)
            names.append(document["HyperParameterTuningJobName"])
        loops = [harness.loop(name, harness.executor(some_fail)) for name in names]
        for loop in loops:
            loop.start()
        ticks = 0
        while not all(loop.job.status.is_terminal for loop in loops):
            for loop in loops:
                if not loop.job.status.is_terminal:
                    loop.tick()
            clock.sleep(3.0)
            ticks += 1
            for name in names:
                assert ctx.tuning.describe(name) == from_every_training_job(ctx, name), (
                    name,
                    ticks,
                )
                assert store.counters_of([name])[name] == store.counters(name)
        assert ticks > 5
        final = ctx.tuning.describe(names[0])
        assert final.counters.non_retryable_error == 3 and final.jobs_not_improving >= 0
        both = store.counters_of([*names, "nothing"])
        assert both == {n: store.counters(n) for n in [*names, "nothing"]}


def test_a_new_store_reads_specs_from_their_documents(store_url: str, tmp_path: Path) -> None:  # noqa: F811
    clock = FakeClock()
    with SqlStore(store_url) as store:
        harness = Harness(store, clock, tmp_path)
        for document in (make_document(max_jobs=2), make_multi_document(max_jobs=2)):
            harness.create(document)
            harness.loop(document["HyperParameterTuningJobName"], harness.executor()).run()
        listed = store.list_tuning_jobs(TuningJobQuery()).items
        with SqlStore(store_url) as other:  # its spec cache is empty
            assert other.list_tuning_jobs(TuningJobQuery()).items == listed
            for job in listed:
                assert other.get_tuning_job(job.name) == job
                assert other.tuning_job_overview(job.name).job == job


def test_every_write_bumps_its_scopes(store_url: str, tmp_path: Path) -> None:  # noqa: F811
    clock = FakeClock()
    with SqlStore(store_url) as store:
        changes = store.changes
        harness = Harness(store, clock, tmp_path)

        def generations(*scopes: tuple[str, ...]) -> tuple[int, ...]:
            return changes.generations(scopes)

        start = generations(
            ("tuning", "job-1"), ("tuning",), ("tags", "hyper-parameter-tuning-job", "job-1")
        )
        harness.create(make_document(max_jobs=2, parallel=1))
        assert all(
            after > before
            for before, after in zip(
                start,
                generations(
                    ("tuning", "job-1"),
                    ("tuning",),
                    ("tags", "hyper-parameter-tuning-job", "job-1"),
                ),
                strict=True,
            )
        )
        loop = harness.loop("job-1", harness.executor())
        loop.start()
        before = generations(("tuning", "job-1"), ("training",))
        loop.tick()  # launches a training job
        after = generations(("tuning", "job-1"), ("training",))
        assert after[0] > before[0] and after[1] > before[1]
        trained = next(iterate_training_jobs(store, TrainingJobQuery("job-1"))).name.lower()
        while not loop.tick():
            clock.sleep(5.0)
        assert generations(("training", trained))[0] >= 2  # added, then changed
        for resource in ("hyper-parameter-tuning-job", "training-job"):
            name = "job-1" if resource.startswith("hyper") else trained
            before = generations(("tags", resource, name))
            store.tags.add(resource, name, [("k", "v")])
            store.tags.delete(resource, name, ["k"])
            assert generations(("tags", resource, name))[0] == before[0] + 2
        before = generations(("tuning", "job-1"), ("training", trained), ("training",))
        store.delete_tuning_job("job-1")
        assert all(
            a > b
            for a, b in zip(
                generations(("tuning", "job-1"), ("training", trained), ("training",)),
                before,
                strict=True,
            )
        )
        before = generations(("algorithms",))
        store.algorithms.create("algo", {"AlgorithmName": "algo"}, clock.now())
        assert generations(("algorithms",))[0] == before[0] + 1
