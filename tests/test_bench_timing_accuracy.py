"""bench/timing_accuracy.py's smoke mode runs in seconds and prints every set's row."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_smoke_mode_prints_the_espeak_and_natural_rows():
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / "timing_accuracy.py"), "--smoke"],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    rows = {line.split("  ")[0].strip() for line in result.stdout.splitlines() if " new " in line}
    assert {"espeak clean", "espeak 10 dB", "natural"} <= rows, result.stdout
    assert "pause" in result.stdout and "Targets (issue 22)" in result.stdout
