"""SIGTERM of ``tunelab serve``: the scheduler starts no training job after the
signal (it went on for ~0.2 s, while uvicorn let open requests finish)."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from tests.api.serve import Serve
from tests.factories import make_document
from tests.serving import wait_for
from tunelab.store.base import TrainingJobQuery
from tunelab.store.sql.store import SqlStore

MARGIN = 0.1
"""Seconds after the signal that a tick already under way may still create a job in.
Before the fix jobs were created up to ~0.18 s after it, one every ~0.02 s."""


def test_no_training_job_is_created_after_sigterm(tmp_path: Path) -> None:
    program = tmp_path / "train.py"
    program.write_text("import time\ntime.sleep(0.05)\nprint('validation:accuracy=0.5')\n")
    home = tmp_path / "home"
    server = Serve(home, "--no-auth")
    document = make_document("busy", max_jobs=500, parallel=4, image=f"file://{program}")
    server.client().create_hyper_parameter_tuning_job(**document)
    with SqlStore(f"sqlite:///{home / 'tunelab.db'}") as store:

        def jobs() -> list:
            return store.list_training_jobs(TrainingJobQuery("busy", limit=500)).items

        wait_for(lambda: sum(j.status.is_terminal for j in jobs()) >= 12, what="12 ended jobs")
        signalled = time.time()
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(30) == -signal.SIGTERM
        late = [round(j.creation_time - signalled, 3) for j in jobs()]
        assert [t for t in late if t > MARGIN] == [], sorted(late)[-5:]
    assert "Traceback" not in server.output()
