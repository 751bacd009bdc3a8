"""What one worker process needs around the RunPod SDK: a bounded SIGTERM, and an SDK whose job state is its own.

runpod 1.7.12 to 1.10.0 kept the ids of jobs in progress in ``.runpod_jobs.pkl`` in the working directory
and reloaded it: a file left by a killed process made a new one believe a job was still running, so it
never asked for work and ignored SIGTERM (JOURNAL, issue 16), and this module imported the SDK from a
private directory. runpod 1.10.1 keeps that set in memory, per process (its heartbeat gets a shared-memory
copy), which the lock's runpod 1.12 does too: nothing is left to isolate, and an older SDK is only
reported. SIGTERM still gets a deadline the SDK does not give.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Awaitable, Callable

from .errors import EngineUnavailable
from .temp_root import remove_private_temp_root

log = logging.getLogger(__name__)


def import_sdk() -> None:
    """Import the RunPod SDK; warn when it keeps its job state in a file (runpod before 1.10.1)."""
    import runpod
    from runpod.serverless.modules.worker_state import JobsProgress

    state_file = getattr(JobsProgress, "_STATE_FILE", None)
    if state_file is not None:
        log.warning(
            "runpod %s keeps its job state in %s, shared with any process started in that folder; "
            "install the lock (runpod 1.12.0)",
            runpod.__version__,
            state_file,
        )
    log.info(
        "RunPod SDK %s: job state in memory (%d job(s) in progress at start)",
        runpod.__version__,
        JobsProgress().get_job_count(),
    )


def sdk_jobs_in_progress() -> int:
    """Jobs the SDK has taken and not yet answered (its own count, which drops after the result post)."""
    from runpod.serverless.modules.worker_state import JobsProgress

    return JobsProgress().get_job_count()


class BoundedShutdown:
    """SIGTERM with a deadline: the SDK stops taking jobs, running jobs get ``grace_s`` to finish, a job
    still running then is answered with an error, and the process ends by itself if the SDK's loop has not.

    runpod's own SIGTERM handler (1.10 to 1.12) only sets an event its loops check between long-polls (held up to
    90 s by the platform), and drains running jobs without a limit; a loop waiting on a stale job never ends.
    """

    def __init__(
        self,
        grace_s: float = 60.0,
        settle_s: float = 3.0,
        jobs_in_progress: Callable[[], int] | None = None,
        exit_process: Callable[[int], None] | None = None,
    ):
        self.grace_s = grace_s
        self.settle_s = settle_s
        self._jobs_in_progress = jobs_in_progress or sdk_jobs_in_progress
        self._exit_process = exit_process or _exit_now
        self.deadline_passed = threading.Event()
        self.signalled = threading.Event()
        self._installed = False

    def install(self) -> None:
        """Chain onto the SIGTERM handler installed now (the SDK's, once its loop runs); main thread only.

        The SDK installs its handler when its job loop starts, after ``runpod.serverless.start`` is
        called, so this is called from ``concurrency_modifier``, the first worker code that loop runs.
        """
        if self._installed or threading.current_thread() is not threading.main_thread():
            return
        previous = signal.getsignal(signal.SIGTERM)

        def on_sigterm(signum, frame):
            self._begin(previous, signum, frame)

        signal.signal(signal.SIGTERM, on_sigterm)
        self._installed = True

    def _begin(self, previous, signum, frame) -> None:
        if self.signalled.is_set():
            return
        self.signalled.set()
        log.info("SIGTERM: taking no new jobs; jobs in progress get up to %.0f s", self.grace_s)
        if callable(previous):
            previous(signum, frame)
        threading.Thread(target=self._watch, name="shutdown-watchdog", daemon=True).start()

    def _watch(self) -> None:
        started = time.monotonic()
        while self._jobs_in_progress() > 0 and time.monotonic() - started < self.grace_s:
            time.sleep(0.1)
        if self._jobs_in_progress() > 0:
            log.warning(
                "SIGTERM: %d job(s) still running after %.0f s: answering them with an error",
                self._jobs_in_progress(),
                self.grace_s,
            )
            self.deadline_passed.set()
            # The abandoned work keeps its thread, and asyncio.run waits for it: leave once answered.
            answered_by = time.monotonic() + self.settle_s
            while self._jobs_in_progress() > 0 and time.monotonic() < answered_by:
                time.sleep(0.1)
            self._exit(0 if self._jobs_in_progress() == 0 else 1, "after answering the jobs it stopped")
            return
        # Nothing running: the SDK's loop ends by itself once its open long-polls return; do not wait on them.
        time.sleep(self.settle_s)
        self._exit(0, "with no job running (the SDK loop was still waiting)")

    def _exit(self, code: int, why: str) -> None:
        log.info("SIGTERM: exiting %s", why)
        self._exit_process(code)

    async def run_job(self, work: Callable[[], dict] | Awaitable[dict]) -> dict:
        """Run ``work`` (a function, in a thread; or an awaitable); if the shutdown deadline passes first,
        answer with an error instead. Cancelling this cancels the work too."""
        if not self.deadline_passed.is_set():
            running = asyncio.ensure_future(work if inspect.isawaitable(work) else asyncio.to_thread(work))
            try:
                while not self.deadline_passed.is_set():
                    done, _ = await asyncio.wait({running}, timeout=0.2)
                    if done:
                        return running.result()
            except asyncio.CancelledError:
                running.cancel()
                raise
            running.add_done_callback(lambda task: task.cancelled() or task.exception())  # never "not retrieved"
        elif inspect.iscoroutine(work):
            work.close()  # never started: no "was never awaited" warning
        stopped = EngineUnavailable("the worker was stopped (SIGTERM) before this job finished; send it again")
        return stopped.as_output()


def _exit_now(code: int) -> None:
    """End the process now: stop the SDK's heartbeat child, flush the logs, skip the thread joins.

    ``os._exit`` skips the atexit hooks, so the one that matters, removing the private temp root, runs here.
    """
    for child in multiprocessing.active_children():
        with contextlib.suppress(Exception):
            child.terminate()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    logging.shutdown()
    remove_private_temp_root()
    os._exit(code)
