"""Every benchmark in bench/ runs in the suite, in its seconds-long ``--smoke`` mode.

The scripts are found, not listed: every ``bench/*.py`` with a ``__main__`` block is a benchmark (helper
modules such as ``measure.py`` and ``tiny_f5.py`` have none), so a new benchmark is run from the day it
lands, and one that breaks (``bench/streaming.py`` once exceeded the inline budget on a fresh clone and
nothing noticed) fails here. Each runs in its own process, as a person would start it.
"""

from __future__ import annotations

import pytest

from tests.helpers import REPO, run_bench_smoke

SMOKE_TIMEOUT_S = 900  # seconds-long on an idle machine; the model loads dominate on a loaded one
# Benchmarks whose smoke run a test of their own already makes (and reads its table): run once, not twice.
SMOKED_ELSEWHERE = {
    "subtitles.py": "test_caption_grouping.py",
    "stt_timing.py": "test_stt_timing_bench.py",
    "timing_accuracy.py": "test_bench_timing_accuracy.py",
    "verification.py": "test_bench_verification.py",
}


def bench_scripts() -> list[str]:
    return sorted(
        path.name for path in (REPO / "bench").glob("*.py") if 'if __name__ == "__main__":' in path.read_text()
    )


def test_the_benchmarks_are_found_and_helpers_are_not():
    scripts = bench_scripts()
    assert {"decode.py", "streaming.py", "subtitles.py", "timing_accuracy.py"} <= set(scripts)
    assert "measure.py" not in scripts and "tiny_f5.py" not in scripts


@pytest.mark.parametrize("script", bench_scripts())
def test_every_benchmark_has_a_smoke_mode(script):
    source = (REPO / "bench" / script).read_text()
    assert "--smoke" in source or "add_smoke_flag(" in source, f"bench/{script}: add a seconds-long --smoke mode"


def test_benchmarks_smoked_elsewhere_are_run_there():
    for script, test_module in SMOKED_ELSEWHERE.items():
        source = (REPO / "tests" / test_module).read_text()
        assert f'run_bench_smoke("{script}"' in source, (script, test_module)


@pytest.mark.timeout(SMOKE_TIMEOUT_S + 60)
@pytest.mark.parametrize("script", [script for script in bench_scripts() if script not in SMOKED_ELSEWHERE])
def test_every_benchmark_runs_in_its_smoke_mode(script, tmp_path):
    result = run_bench_smoke(script, cwd=tmp_path, timeout=SMOKE_TIMEOUT_S)
    assert result.returncode == 0, f"bench/{script} --smoke exited {result.returncode}:\n{result.stderr[-4000:]}"
    assert result.stdout.strip(), f"bench/{script} --smoke printed no table"
