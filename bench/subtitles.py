#!/usr/bin/env python
"""Subtitle generation for a long transcript: 10,000 timed words into SRT, VTT, ASS, CSV and JSON.

The words are made up (a fixed vocabulary with sentence and clause punctuation, 0.15-0.6 s each,
occasional pauses), seeded so every run times the same input. Reported, as medians of --repeat runs:
the shared sanitise + caption grouping step, each format rendered from the grouped captions, and
``render_timing_files`` for all five formats from raw words (what a job pays).

    .venv/bin/python bench/subtitles.py
    .venv/bin/python bench/subtitles.py --words 10000 --repeat 7 --karaoke
    .venv/bin/python bench/subtitles.py --against main   # the committed version side by side, one run
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import time
import types
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from f5worker.media import subtitles  # noqa: E402
from f5worker.media.subtitles import Word  # noqa: E402

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


def module_at(ref: str) -> types.ModuleType:
    """f5worker/media/subtitles.py as of a git ref, loaded beside the working copy's."""
    source = subprocess.run(["git", "-C", str(REPO), "show", f"{ref}:f5worker/media/subtitles.py"],
                            capture_output=True, text=True, check=True).stdout  # fmt: skip
    module = types.ModuleType(f"subtitles_at_{ref}")
    module.__file__ = f"{ref}:f5worker/media/subtitles.py"
    sys.modules[module.__name__] = module  # pydantic resolves annotations through sys.modules
    exec(compile(source, module.__file__, "exec"), module.__dict__)  # noqa: S102 - our own file at another commit
    return module


def measure(module, words: list[dict], karaoke: bool, repeat: int) -> tuple[int, dict[str, tuple[float, int]]]:
    """Caption count and {step: (median ms, bytes)} for one version of the module."""
    options = module.CaptionOptions(karaoke=karaoke)
    module.render_timing_files(words[:200], module.TIMING_FORMATS, options)  # warm imports and caches

    def group():
        clean = module.sanitize_words(words)
        return clean, module.group_captions(clean, options)

    steps: dict[str, tuple[float, int]] = {}
    group_ms, (clean, captions) = median_ms(group, repeat)
    steps["sanitise + group"] = (group_ms, 0)
    for fmt in module.TIMING_FORMATS:
        ms, text = median_ms(lambda fmt=fmt: module.render_timing_file(fmt, clean, captions, options), repeat)
        steps["render " + fmt] = (ms, len(text.encode()))
    total_ms, files = median_ms(lambda: module.render_timing_files(words, module.TIMING_FORMATS, options), repeat)
    steps["all five (render_timing_files)"] = (total_ms, sum(len(text.encode()) for text in files.values()))
    return len(captions), steps


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--karaoke", action="store_true", help="ASS with \\k tags")
    parser.add_argument("--against", metavar="GIT_REF",
                        help="also time f5worker/media/subtitles.py as of this git ref, side by side")  # fmt: skip
    args = parser.parse_args()

    words = [word.model_dump() for word in make_words(args.words)]
    versions = {"this": subtitles}
    if args.against:
        versions[args.against] = module_at(args.against)
    results = {name: measure(module, words, args.karaoke, args.repeat) for name, module in versions.items()}
    counts = ", ".join(f"{name}: {count}" for name, (count, _) in results.items())
    print(f"{len(words)} words, {words[-1]['end'] / 60:.1f} min of speech; captions {counts}; "
          f"karaoke {args.karaoke}; median of {args.repeat}")  # fmt: skip
    header = f"{'step':<32}" + "".join(f"{name + ' ms':>14}{'bytes':>10}{'us/word':>9}" for name in versions)
    print(header + (f"{'ratio':>7}" if args.against else ""))
    for step in results["this"][1]:
        row = f"{step:<32}"
        for _, steps in results.values():
            ms, size = steps[step]
            row += f"{ms:>14.1f}{size or '':>10}{ms * 1000 / len(words):>9.1f}"
        if args.against:
            row += f"{results['this'][1][step][0] / results[args.against][1][step][0]:>7.2f}"
        print(row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
