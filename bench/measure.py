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


def add_smoke_flag(parser, **smoke_values: object) -> None:
    """``--smoke``: the seconds-long run the test suite makes of every benchmark (tests/test_bench.py);
    ``smoke_values`` replace the parsed arguments of those names (``repeat=1``)."""
    parser.add_argument("--smoke", action="store_true", help="a seconds-long run for the test suite")
    parse = parser.parse_args

    def parse_args(*args, **kwargs):
        parsed = parse(*args, **kwargs)
        if parsed.smoke:
            for name, value in smoke_values.items():
                setattr(parsed, name, value)
        return parsed

    parser.parse_args = parse_args
