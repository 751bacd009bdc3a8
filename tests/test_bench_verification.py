"""bench/verification.py's seconds-long smoke mode runs and prints its table (the full run is by hand)."""

from tests.helpers import run_bench_smoke


def test_verification_bench_smoke_prints_recall_false_alarms_and_cost():
    result = run_bench_smoke("verification.py", timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert any(line.startswith("| **recall** (corrupted caught) | 1 |") for line in lines), result.stdout
    assert any(line.startswith("| **false alarms** (clean failed) | 1 |") for line in lines), result.stdout
    assert any(line.startswith("| **cost** |") for line in lines), result.stdout
