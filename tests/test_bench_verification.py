"""bench/verification.py's seconds-long smoke mode runs and prints its table (the full run is by hand)."""

import subprocess
import sys

from tests.helpers import REPO


def test_verification_bench_smoke_prints_recall_false_alarms_and_cost():
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / "verification.py"), "--smoke"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert any(line.startswith("| **recall** (corrupted caught) | 1 |") for line in lines), result.stdout
    assert any(line.startswith("| **false alarms** (clean failed) | 1 |") for line in lines), result.stdout
    assert any(line.startswith("| **cost** |") for line in lines), result.stdout
