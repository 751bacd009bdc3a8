#!/usr/bin/env python
"""Subtitle generation for a long transcript: 10,000 timed words into SRT, VTT, ASS, CSV and JSON.

The words are made up (a fixed vocabulary with sentence and clause punctuation, 0.15-0.6 s each,
occasional pauses), seeded so every run times the same input. Reported, as medians of --repeat runs:
the shared sanitise + caption grouping step, each format rendered from the grouped captions, and
``render_timing_files`` for all five formats from raw words (what a job pays).

    .venv/bin/python bench/subtitles.py
    .venv/bin/python bench/subtitles.py --words 10000 --repeat 7 --karaoke
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from f5worker.media.subtitles import (  # noqa: E402
    TIMING_FORMATS,
    CaptionOptions,
    Word,
    group_captions,
    render_timing_file,
    render_timing_files,
    sanitize_words,
)

VOCABULARY_TEXT = ("the quick brown fox jumps over lazy dog while seven bright sailors count their silver coins near "
                   "harbour because tomorrow weather may turn cold and grey again Zürich café naïve 2014 £13.60")
VOCABULARY = VOCABULARY_TEXT.split()


def make_words(count: int, seed: int = 1) -> list[Word]:
    rng = random.Random(seed)
    words, clock = [], 0.0
    for _ in range(count):
        text = rng.choice(VOCABULARY)
        roll = rng.random()
        if roll < 0.07:
            text += "."
        elif roll < 0.12:
            text += ","
        elif roll < 0.13:
            text += "?"
        duration = rng.uniform(0.15, 0.6)
        words.append(Word(word=text, start=round(clock, 3), end=round(clock + duration, 3),
                          confidence=round(rng.uniform(0.5, 1.0), 3)))  # fmt: skip
        clock += duration + (rng.uniform(0.6, 1.5) if rng.random() < 0.03 else rng.uniform(0.0, 0.12))
    return words


def median_ms(call, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--karaoke", action="store_true", help="ASS with \\k tags")
    args = parser.parse_args()

    words = make_words(args.words)
    options = CaptionOptions(karaoke=args.karaoke)
    render_timing_files(words[:200], TIMING_FORMATS, options)  # warm imports and caches

    group_ms, (clean, captions) = median_ms(lambda: (lambda c: (c, group_captions(c, options)))(sanitize_words(words)),
                                            args.repeat)  # fmt: skip
    print(f"{len(words)} words, {words[-1].end / 60:.1f} min of speech, {len(captions)} captions; "
          f"karaoke {args.karaoke}; median of {args.repeat}")  # fmt: skip
    print(f"{'step':<32}{'ms':>9}{'bytes':>12}{'us/word':>9}")
    print(f"{'sanitise + group':<32}{group_ms:>9.1f}{'':>12}{group_ms * 1000 / len(words):>9.1f}")
    for fmt in TIMING_FORMATS:
        ms, text = median_ms(lambda fmt=fmt: render_timing_file(fmt, clean, captions, options), args.repeat)
        print(f"{'render ' + fmt:<32}{ms:>9.1f}{len(text.encode()):>12}{ms * 1000 / len(words):>9.1f}")
    total_ms, files = median_ms(lambda: render_timing_files(words, TIMING_FORMATS, options), args.repeat)
    size = sum(len(text.encode()) for text in files.values())
    print(f"{'all five (render_timing_files)':<32}{total_ms:>9.1f}{size:>12}{total_ms * 1000 / len(words):>9.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
