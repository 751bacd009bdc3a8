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
from f5worker.words import Word  # noqa: E402

VOCABULARY_TEXT = (
    "the quick brown fox jumps over lazy dog while seven bright sailors count their silver coins near "
    "harbour because tomorrow weather may turn cold and grey again Zürich café naïve 2014 £13.60"
)
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
        words.append(
            Word(
                word=text,
                start=round(clock, 3),
                end=round(clock + duration, 3),
                confidence=round(rng.uniform(0.5, 1.0), 3),
            )
        )
        clock += duration + (rng.uniform(0.6, 1.5) if rng.random() < 0.03 else rng.uniform(0.0, 0.12))
    return words


def elapsed_ms(call) -> tuple[float, object]:
    started = time.perf_counter()
    result = call()
    return (time.perf_counter() - started) * 1000, result


def module_at(ref: str) -> types.ModuleType:
    """f5worker/media/subtitles.py as of a git ref, loaded beside the working copy's."""
    source = subprocess.run(
        ["git", "-C", str(REPO), "show", f"{ref}:f5worker/media/subtitles.py"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    module = types.ModuleType(f"subtitles_at_{ref}")
    module.__file__ = f"{ref}:f5worker/media/subtitles.py"
    module.__package__ = "f5worker.media"  # its relative imports (the shared word types) resolve as at HEAD
    sys.modules[module.__name__] = module  # pydantic resolves annotations through sys.modules
    exec(compile(source, module.__file__, "exec"), module.__dict__)  # noqa: S102 - our own file at another commit
    return module


def steps_of(module, words: list[dict], karaoke: bool) -> tuple[int, dict[str, object]]:
    """Caption count and {step: call} for one version of the module."""
    options = module.CaptionOptions(karaoke=karaoke)
    module.render_timing_files(words[:200], module.TIMING_FORMATS, options)  # warm imports and caches

    def group():
        clean = module.sanitize_words(words)
        return clean, module.group_captions(clean, options)

    clean, captions = group()
    steps = {"sanitise + group": group}
    for fmt in module.TIMING_FORMATS:
        steps["render " + fmt] = lambda fmt=fmt: module.render_timing_file(fmt, clean, captions, options)
    steps["all five (render_timing_files)"] = lambda: module.render_timing_files(words, module.TIMING_FORMATS, options)
    return len(captions), steps


def output_bytes(result: object) -> int:
    if isinstance(result, str):
        return len(result.encode())
    if isinstance(result, dict):
        return sum(len(text.encode()) for text in result.values())
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", dest="words", action="store_const", const=300, help="300 words, for the suite")
    parser.add_argument("--words", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--karaoke", action="store_true", help="ASS with \\k tags")
    parser.add_argument(
        "--against", metavar="GIT_REF", help="also time f5worker/media/subtitles.py as of this git ref, side by side"
    )
    args = parser.parse_args()

    words = [word.model_dump() for word in make_words(args.words)]
    versions = {"this": subtitles}
    if args.against:
        versions[args.against] = module_at(args.against)
    prepared = {name: steps_of(module, words, args.karaoke) for name, module in versions.items()}
    counts = ", ".join(f"{name}: {count}" for name, (count, _) in prepared.items())
    print(
        f"{len(words)} words, {words[-1]['end'] / 60:.1f} min of speech; captions {counts}; "
        f"karaoke {args.karaoke}; median of {args.repeat}, versions timed in turn"
    )
    header = f"{'step':<32}" + "".join(f"{name + ' ms':>14}{'bytes':>10}{'us/word':>9}" for name in versions)
    print(header + (f"{'ratio':>7}" if args.against else ""))
    for step in prepared["this"][1]:
        times: dict[str, list[float]] = {name: [] for name in versions}
        sizes: dict[str, int] = {}
        for _ in range(args.repeat):  # alternate, so load from other processes hits both alike
            for name, (_, steps) in prepared.items():
                ms, result = elapsed_ms(steps[step])
                times[name].append(ms)
                sizes[name] = output_bytes(result)
        medians = {name: statistics.median(values) for name, values in times.items()}
        row = f"{step:<32}"
        for name in versions:
            row += f"{medians[name]:>14.1f}{sizes[name] or '':>10}{medians[name] * 1000 / len(words):>9.1f}"
        if args.against:
            row += f"{medians['this'] / medians[args.against]:>7.2f}"
        print(row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
