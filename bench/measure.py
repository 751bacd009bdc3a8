"""What the benchmarks share: one way to time a call, so every ratio is measured alike."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_ms(call: Callable[[], object], repeat: int) -> float:
    """The median wall time of ``repeat`` calls, in milliseconds (the median: one slow run on a shared
    machine does not move it)."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)
