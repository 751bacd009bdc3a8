"""Progress of the running job, without passing the RunPod job object through every call.

The handler installs a reporter for the job; ``asyncio.to_thread`` copies context variables, so
engines running in the worker thread reach the right job's reporter.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from contextvars import ContextVar

log = logging.getLogger(__name__)
_reporter: ContextVar[Callable[[dict], None] | None] = ContextVar("progress_reporter", default=None)


def report_progress(data: dict) -> None:
    """Send a progress update for the current job; never lets a reporting failure fail the job."""
    reporter = _reporter.get()
    if reporter is None:
        return
    try:
        reporter(data)
    except Exception:  # progress is best effort: the result is what counts
        log.warning("progress update failed", exc_info=True)


@contextlib.contextmanager
def progress_reporter(reporter: Callable[[dict], None] | None) -> Iterator[None]:
    token = _reporter.set(reporter)
    try:
        yield
    finally:
        _reporter.reset(token)
