"""bench/stt_timing.py's smoke mode: the benchmark still runs and prints both ways side by side."""

from tests.helpers import run_bench_smoke


def test_smoke_mode_prints_whisper_and_aligned_rows_for_both_sets():
    result = run_bench_smoke("stt_timing.py", timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = [line.split()[:2] for line in result.stdout.splitlines() if line.startswith(("espeak", "piper"))]
    assert rows == [["espeak", "whisper"], ["espeak", "aligned"], ["piper", "whisper"], ["piper", "aligned"]]
    assert result.stdout.count("aligned/whisper: mean error x") == 2
