#!/usr/bin/env python
"""RunPod serverless entry point: read settings, warm-load the engines once, then serve jobs.

Run ``python runpod-handler.py --test_input '{"input": {"endpoint": "health"}}'`` for one local job,
or ``--rp_serve_api`` for RunPod's local HTTP API. ``handler(job)`` is the function RunPod calls.
"""

from __future__ import annotations

import logging
import os
import sys

from f5worker.context import WorkerContext, build_context
from f5worker.dispatch import handle_job
from f5worker.errors import ConfigError
from f5worker.progress import progress_reporter
from f5worker.settings import get_settings
from f5worker.temp_root import use_private_temp_root
from f5worker.worker_process import BoundedShutdown, import_sdk_with_private_state

log = logging.getLogger("f5worker")
_context: WorkerContext | None = None
_shutdown = BoundedShutdown()


def worker_context() -> WorkerContext:
    """The process-wide context; built by ``main`` before serving, or on first use when imported."""
    global _context
    if _context is None:
        _context = build_context(get_settings())
    return _context


def job_reporter(job: dict):
    """RunPod's progress_update on the platform; a log line in local mode, which has nowhere to post."""
    if os.environ.get("RUNPOD_WEBHOOK_POST_OUTPUT"):
        import runpod

        return lambda data: runpod.serverless.progress_update(job, data)
    return lambda data: log.info("job %s progress: %s", job.get("id"), data)


async def handler(job: dict) -> dict:
    """Async so health/result/download jobs are served while a model job runs in a thread."""
    with progress_reporter(job_reporter(job)):
        return await _shutdown.run_job(lambda: handle_job(job, worker_context()))


def concurrency_modifier(current_concurrency: int) -> int:
    _shutdown.install()  # the SDK's loop is running, so its SIGTERM handler is in place to chain onto
    return worker_context().settings.max_concurrency


def start_sdk(settings) -> None:
    """Import the RunPod SDK with a job-state file of this process's own, and give SIGTERM a deadline."""
    global _shutdown
    _shutdown = BoundedShutdown(grace_s=settings.shutdown_grace_s)
    import_sdk_with_private_state()


def main() -> None:
    use_private_temp_root()  # before the heavy imports: their temp folders go where the exit removes them
    try:
        settings = get_settings()
    except ConfigError as exc:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        log.error("refusing to start: %s", exc)
        sys.exit(2)
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    start_sdk(settings)
    global _context
    _context = build_context(settings)
    log.info("storage: %s", _context.storage.describe())
    log.info("worker ready")

    import runpod

    runpod.serverless.start({"handler": handler, "concurrency_modifier": concurrency_modifier})


if __name__ == "__main__":
    main()
