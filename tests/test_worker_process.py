"""The SDK's job state stays in its process, and SIGTERM with a deadline (``f5worker/worker_process.py``).

The production-loop tests run the real worker (``python runpod-handler.py``, no flags) against the fake
job queue (``tests/job_queue.py``), transcription-only (no f5-tts import, so each start takes seconds),
on local storage. The long job is ``stt`` of about 70 s of espeak-ng speech: long enough to be
running when a signal arrives, and it reports progress when it starts, which is how a test knows.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from f5worker.temp_root import ROOT_PREFIX
from f5worker.worker_process import BoundedShutdown
from tests.helpers import REPO, espeak_wav, worker_env
from tests.job_queue import JobQueue, ProductionWorker

pytestmark = pytest.mark.timeout(300)

LONG_SPEECH = " ".join(f"Paragraph {n} says that the river runs past the old mill and into the sea." for n in range(12))
STATE_FILE = ".runpod_jobs.pkl"


# ---------------------------------------------------------------------------------------------- unit level


def test_the_bounded_exit_removes_the_private_temp_root_that_os_exit_would_leave(tmp_path):
    """``os._exit`` skips the atexit hook that removes the root: the watchdog's exit removes it itself."""
    code = (
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        "from f5worker.temp_root import use_private_temp_root\n"
        "from f5worker.worker_process import _exit_now\n"
        "root = use_private_temp_root(sys.argv[2])\n"
        "(root / 'tmpxyzwandb-media').mkdir()\n"
        "print(root, flush=True)\n"
        "_exit_now(3)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(REPO), str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 3, result.stderr
    assert result.stdout.strip().startswith(str(tmp_path / ROOT_PREFIX)) and list(tmp_path.iterdir()) == []


def test_the_sdk_never_reads_a_state_file_left_in_the_working_directory(tmp_path):
    """A stale ``.runpod_jobs.pkl`` in the cwd (what runpod 1.10.0 pickled there) is never loaded: since
    1.10.1 the SDK keeps jobs in progress in memory, so a new process starts with none."""
    from runpod.serverless.modules.worker_state import Job

    (tmp_path / STATE_FILE).write_bytes(pickle.dumps({Job(id="killed-job")}))  # as the old SDK saved it
    check = (
        "import logging; logging.basicConfig(level=logging.INFO)\n"
        "from f5worker.worker_process import import_sdk, sdk_jobs_in_progress\n"
        "import_sdk()\n"
        "print(sdk_jobs_in_progress())"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [os.environ.get("PYTHONPATH"), str(REPO)])))
    result = subprocess.run(
        [sys.executable, "-c", check], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.split() == ["0"]
    assert "job state in memory (0 job(s) in progress at start)" in result.stderr
    assert "keeps its job state in" not in result.stderr, "the SDK is older than the lock's runpod 1.12.0"


def test_run_job_answers_with_an_error_once_the_deadline_passes():
    shutdown = BoundedShutdown(grace_s=0.2, jobs_in_progress=lambda: 1)
    release = threading.Event()

    async def scenario():
        quick = await shutdown.run_job(lambda: {"ok": 1})
        slow = asyncio.ensure_future(shutdown.run_job(lambda: release.wait(10) and {"ok": 2}))
        await asyncio.sleep(0.3)
        assert not slow.done()
        shutdown.deadline_passed.set()
        stopped = await asyncio.wait_for(slow, 2)
        late = await shutdown.run_job(lambda: pytest.fail("a job taken after the deadline must not start"))
        release.set()
        return quick, stopped, late

    quick, stopped, late = asyncio.run(scenario())
    assert quick == {"ok": 1}
    assert (
        stopped
        == late
        == {"error": "engine_unavailable: the worker was stopped (SIGTERM) before this job finished; send it again"}
    )


def test_watchdog_exits_when_jobs_outlive_the_grace_and_when_the_loop_never_ends():
    """The exit itself is injected here (it ends the process); the production tests below use the real one."""
    for running, expected_code in ((lambda: 1, 1), (lambda: 0, 0)):
        exits = []
        shutdown = BoundedShutdown(grace_s=0.3, settle_s=0.3, jobs_in_progress=running, exit_process=exits.append)
        started = time.monotonic()
        shutdown._begin(None, signal.SIGTERM, None)
        while not exits and time.monotonic() - started < 5:
            time.sleep(0.05)
        assert exits == [expected_code] and time.monotonic() - started < 2
        assert shutdown.deadline_passed.is_set() is (expected_code == 1)


# ------------------------------------------------------------------------------- the production loop


@pytest.fixture(scope="module")
def place(tmp_path_factory) -> Path:
    """One container's worth of places: storage with the long speech, a working dir, a temp root."""
    root = tmp_path_factory.mktemp("worker-process")
    (root / "storage" / "voices").mkdir(parents=True)
    espeak_wav(LONG_SPEECH, root / "storage" / "voices" / "long.wav")
    espeak_wav("Bring the blue box to the kitchen table.", root / "storage" / "voices" / "short.wav")
    (root / "tmp").mkdir()
    return root


def start(queue: JobQueue, place: Path, name: str, cwd: Path | None = None, **extra: str) -> ProductionWorker:
    env = worker_env(
        **queue.env(), STORAGE_DIR=str(place / "storage"), TMPDIR=str(place / "tmp"), TIMING_ENGINES="whisperx", **extra
    )
    return ProductionWorker(env, place / f"{name}.log", cwd or place / f"cwd-{name}")


def long_stt(queue: JobQueue, job_id: str) -> str:
    queue.enqueue({"endpoint": "stt", "audio": "voices/long.wav", "language": "en"}, job_id)
    queue.wait_for(lambda s: any(p.job_id == job_id and p.is_progress for p in s.posts), 120, f"{job_id} running")
    assert queue.results_by_id().get(job_id) is None, "the job must still be running"
    return job_id


def test_a_worker_restarted_in_place_after_sigkill_mid_job_takes_and_finishes_new_jobs(place):
    cwd = place / "app"  # what /app is in the image: the same directory for the killed and the new process
    with JobQueue() as queue:
        killed = start(queue, place, "killed", cwd)
        try:
            killed.wait_ready(queue)
            long_stt(queue, "killed-mid-job")
            assert "job state in memory" in killed.log()
            killed.process.send_signal(signal.SIGKILL)  # what the OOM killer does: no handler runs
            killed.process.wait(timeout=10)
        finally:
            killed.stop()  # and the rest of its session (the heartbeat), as a container restart would
        # runpod 1.10.0 would have left exactly this in the working directory: put it there too.
        from runpod.serverless.modules.worker_state import Job

        (cwd / STATE_FILE).write_bytes(pickle.dumps({Job(id="killed-mid-job")}))

        restarted = start(queue, place, "restarted", cwd)
        try:
            restarted.wait_ready(queue, timeout=120)
            ids = queue.enqueue_many(
                [
                    (None, {"endpoint": "health"}),
                    (None, {"endpoint": "stt", "audio": "voices/short.wav", "language": "en"}),
                ]
            )
            for job_id in ids:
                assert "output" in queue.wait_for_result(job_id, timeout=120), restarted.log()[-3000:]
            assert queue.results_by_id().get("killed-mid-job") is None
            assert "(0 job(s) in progress at start)" in restarted.log()
            assert queue.protocol_errors() == []
        finally:
            restarted.stop()


def private_roots_of(worker: ProductionWorker) -> list[Path]:
    """The worker's private temp root(s) under the shared temp folder (named after its pid)."""
    return list(Path(worker.env["TMPDIR"]).glob(f"{ROOT_PREFIX}{worker.pid}-*"))


def sigterm_and_time(worker: ProductionWorker) -> tuple[int, float]:
    signalled = time.monotonic()
    worker.process.send_signal(signal.SIGTERM)
    code = worker.process.wait(timeout=60)
    return code, time.monotonic() - signalled


@pytest.fixture(scope="module")
def signalled_workers(place):
    """Two workers started together (start-up dominates): one idle in a long-poll, one given a long job.

    The idle one's queue holds each job-take poll open 45 s, as the platform does (up to 90 s); runpod 1.10
    waits such a poll out before it exits.
    """
    queues = {"idle": JobQueue(poll_hold_s=45).start(), "busy": JobQueue().start()}
    workers = {
        "idle": start(queues["idle"], place, "idle", SHUTDOWN_GRACE_S="30"),
        "busy": start(queues["busy"], place, "busy", SHUTDOWN_GRACE_S="2"),
    }
    try:
        yield {name: (queues[name], workers[name]) for name in workers}
    finally:
        for name in workers:
            workers[name].stop()
            queues[name].close()


def test_sigterm_ends_an_idle_worker_held_in_a_job_take_long_poll(signalled_workers):
    queue, worker = signalled_workers["idle"]
    worker.wait_ready(queue, timeout=180)
    time.sleep(1)  # inside the next long-poll
    code, took = sigterm_and_time(worker)
    assert code == 0 and took < 10, (code, took, worker.log()[-3000:])
    assert "SIGTERM: exiting with no job running" in worker.log()
    assert private_roots_of(worker) == [], "the watchdog's os._exit must not leave the private temp root"


def test_sigterm_with_a_job_running_past_the_grace_answers_it_with_an_error_and_exits(signalled_workers, place):
    queue, worker = signalled_workers["busy"]
    worker.wait_ready(queue, timeout=180)
    job_id = long_stt(queue, "running-at-sigterm")
    code, took = sigterm_and_time(worker)
    time.sleep(0.5)
    results = queue.results_by_id()
    assert results[job_id] == [
        {"error": "engine_unavailable: the worker was stopped (SIGTERM) before this job finished; send it again"}
    ], results
    assert code == 0 and took < 2 + 3 + 5, (code, took, worker.log()[-3000:])
    # Nothing half-written: no result record, no timing file for the stopped job.
    assert not list((place / "storage").glob(f"**/{job_id}*"))
    assert private_roots_of(worker) == [], "the watchdog's os._exit must not leave the private temp root"
