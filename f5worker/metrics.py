"""Stage timers: every duration a job reports is measured the same way, in milliseconds."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, MutableMapping


def elapsed_ms(since: float) -> float:
    """Milliseconds (one decimal) since ``since``, a ``time.perf_counter()`` reading."""
    return round((time.perf_counter() - since) * 1000, 1)


@contextlib.contextmanager
def timed(metrics: MutableMapping, name: str) -> Iterator[None]:
    """Record how long the block took as ``metrics[name]``.

    Only a block that finishes is recorded: a failed stage has no duration worth reporting, and the
    job's output (where metrics go) is not built then anyway.
    """
    started = time.perf_counter()
    yield
    metrics[name] = elapsed_ms(started)
