#!/usr/bin/env python
"""RunPod serverless entry point: read settings, warm-load the engines once, then serve jobs.

Run ``python runpod-handler.py --test_input '{"input": {"endpoint": "health"}}'`` for one local job,
or ``--rp_serve_api`` for RunPod's local HTTP API. ``handler(job)`` is the function RunPod calls.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import AsyncIterator

from f5worker.context import WorkerContext, build_context
from f5worker.errors import ConfigError
from f5worker.settings import Settings, get_settings
from f5worker.streaming import run_job, stream_job
from f5worker.temp_root import use_private_temp_root
from f5worker.worker_process import BoundedShutdown, import_sdk

log = logging.getLogger("f5worker")
_context: WorkerContext | None = None
_shutdown = BoundedShutdown()
_serverless_config: dict = {}  # the dict the SDK keeps reading (refresh_worker), built by serverless_config


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
    return await _shutdown.run_job(run_job(job, worker_context(), job_reporter(job)))


async def stream_handler(job: dict) -> AsyncIterator[dict]:
    """The handler of STREAM_HANDLER=true workers: tts chunk items as they come, the usual output last.

    RunPod posts each item to the job's stream and, with ``return_aggregate_stream``, returns all of
    them as the job's output list (API.md, "Streaming"). A job that must replace the worker (CUDA out
    of memory) sets the SDK's ``refresh_worker`` config flag, as a plain handler's result would.
    """
    async for item in stream_job(job, worker_context(), job_reporter(job)):
        if item.pop("refresh_worker", False):
            _serverless_config["refresh_worker"] = True
        yield item


def serverless_config(settings: Settings) -> dict:
    """What ``runpod.serverless.start`` gets: the plain handler, or the generator with aggregation.

    ``--test_input`` always gets the plain handler: the SDK's one-job mode cannot run a generator.
    """
    if settings.stream_handler and not any(arg.startswith("--test_input") for arg in sys.argv):
        _serverless_config.update(handler=stream_handler, return_aggregate_stream=True)
    else:
        _serverless_config.update(handler=handler)
    _serverless_config["concurrency_modifier"] = concurrency_modifier
    return _serverless_config


def concurrency_modifier(current_concurrency: int) -> int:
    _shutdown.install()  # the SDK's loop is running, so its SIGTERM handler is in place to chain onto
    return worker_context().settings.max_concurrency


def start_sdk(settings) -> None:
    """Import the RunPod SDK (its job state is in memory, per process) and give SIGTERM a deadline."""
    global _shutdown
    _shutdown = BoundedShutdown(grace_s=settings.shutdown_grace_s)
    import_sdk()


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

    runpod.serverless.start(serverless_config(settings))


if __name__ == "__main__":
    main()
