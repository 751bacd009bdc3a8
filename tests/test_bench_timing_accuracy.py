"""bench/timing_accuracy.py's smoke mode runs in seconds and prints every set's row."""

from __future__ import annotations

from tests.helpers import run_bench_smoke


def test_smoke_mode_prints_the_espeak_and_natural_rows():
    result = run_bench_smoke("timing_accuracy.py", timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = {line.split("  ")[0].strip() for line in result.stdout.splitlines() if " new " in line}
    assert {"espeak clean", "espeak 10 dB", "natural"} <= rows, result.stdout
    assert "pause" in result.stdout and "Targets (issue 22)" in result.stdout
