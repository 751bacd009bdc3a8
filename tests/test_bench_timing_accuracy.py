"""bench/timing_accuracy.py's smoke mode runs in seconds and prints every set's row; subsets and the word dump."""

from __future__ import annotations

import csv
import os
import subprocess
import sys

import numpy as np

from tests.helpers import REPO, run_bench_smoke


def test_smoke_mode_prints_the_espeak_and_natural_rows():
    result = run_bench_smoke("timing_accuracy.py", timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = {line.split("  ")[0].strip() for line in result.stdout.splitlines() if " new " in line}
    assert {"espeak clean", "espeak 10 dB", "natural"} <= rows, result.stdout
    assert "pause" in result.stdout and "Targets (issue 22)" in result.stdout


def test_a_subset_and_every_words_error_with_its_phonemes(tmp_path):
    dump = tmp_path / "words.csv"
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / "timing_accuracy.py"), "--smoke", "--only", "natural"]
        + ["--only", "espeak clean"]
        + ["--dump", str(dump), "--by-class", "--blank-share", "0.5"],
        cwd=REPO,
        env=dict(os.environ, HF_HUB_OFFLINE="1"),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    rows = {line.split("  ")[0].strip() for line in result.stdout.splitlines() if " new " in line}
    assert rows == {"natural", "espeak clean", "natural b=0.5"}, result.stdout
    assert "pause: pause -> " in result.stdout and "% of sum" in result.stdout  # --by-class's table
    every = list(csv.DictReader(dump.open()))
    assert {word["set"] for word in every} == {"natural", "espeak clean", "natural b=0.5"}
    assert "onset_offset_ms" in every[0]
    # The midpoint row reads the same audio (the aligner's starts are the same) with every truth as early or earlier.
    piper_own = [word for word in every if word["set"] == "natural"]
    midpoint = [word for word in every if word["set"] == "natural b=0.5"]
    assert [w["start_s"] for w in midpoint] == [w["start_s"] for w in piper_own]
    assert all(float(m["truth_s"]) <= float(p["truth_s"]) for m, p in zip(midpoint, piper_own, strict=True))
    assert any(float(m["truth_s"]) < float(p["truth_s"]) for m, p in zip(midpoint, piper_own, strict=True))
    espeak = [word for word in every if word["set"] == "espeak clean"]
    # espeak-ng gives no phonemes: the CMU dictionary's ("He opened the window ...").
    assert (espeak[0]["first_phoneme"], espeak[0]["previous_phoneme"], espeak[1]["first_phoneme"]) == ("HH", "^", "OW")
    assert espeak[1]["previous_phoneme"] == "IY" and espeak[1]["gap_ms"] == ""
    words = [word for word in every if word["set"] == "natural"]
    assert all(word["first_phoneme"] and word["previous_phoneme"] for word in words)
    assert words[0]["after_pause"] == "1" and words[0]["previous_phoneme"] == "^"
    running = [word for word in words if word["after_pause"] == "0"]
    assert running and all(float(word["gap_ms"]) >= 0 for word in running)
    assert all(abs(float(w["error_ms"]) - (float(w["start_s"]) - float(w["truth_s"])) * 1000) < 0.2 for w in words)


def test_the_sound_onset_landmark_is_read_from_the_audio_not_the_truth():
    """The label audit's landmark: a vowel's rise out of a pause, found around a true start that is off by 20 ms."""
    sys.path.insert(0, str(REPO / "bench"))
    from timing_accuracy import sound_onset

    rate, start = 16000, 0.5
    times = np.arange(rate) / rate
    audio = np.random.default_rng(0).standard_normal(rate) * 1e-4
    audio[times >= start] += 0.3 * np.sin(2 * np.pi * 150 * times[times >= start])
    assert abs(sound_onset(audio.astype(np.float32), start + 0.02) - start) < 0.005
    assert sound_onset(np.zeros(rate, dtype=np.float32), start) is None  # no rise: no landmark
