#!/usr/bin/env python
"""Subtitle generation for a long transcript: 10,000 timed words into SRT, VTT, ASS, CSV and JSON.

The words are made up (a fixed vocabulary with sentence and clause punctuation, 0.15-0.6 s each,
occasional pauses), seeded so every run times the same input. Reported, as medians of --repeat runs:
the shared sanitise + caption grouping step, each format rendered from the grouped captions, and
``render_timing_files`` for all five formats from raw words (what a job pays). Then the grouping
chosen over each run (dynamic programming, what jobs use) against the word-by-word grouping it
replaced (issue 22), on the same words: captions, orphans (cues shown for less than 5/6 s), how many
of those no grouping could avoid (a run between pauses too short to show), the rest of the cost that
the programme minimises (breaks, captions, unread characters), and the time taken.

    .venv/bin/python bench/subtitles.py
    .venv/bin/python bench/subtitles.py --words 10000 --repeat 7 --karaoke
    .venv/bin/python bench/subtitles.py --against main   # the committed version side by side, one run
    .venv/bin/python bench/subtitles.py --smoke          # seconds: 400 words, one repeat (the suite runs it)
"""

from __future__ import annotations

import argparse
import importlib
import io
import random
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import types
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from f5worker.captions.greedy import greedy_groups  # noqa: E402
from f5worker.captions.group import SHORT_COST, cheapest_groups, group_captions, grouping_cost, runs_of, sanitize_words  # noqa: E402
from f5worker.captions.options import CaptionOptions, limits_from  # noqa: E402
from f5worker.media.word_order import to_ms  # noqa: E402
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


def caption_api(package: str) -> types.SimpleNamespace:
    """The caption functions the bench calls, from `package` (f5worker, or a copy of it at a git ref).

    Since issue 23 they live in ``captions/``; before it, in ``media/subtitles.py``.
    """
    try:
        modules = [importlib.import_module(f"{package}.captions.{name}") for name in ("options", "group", "render")]
    except ModuleNotFoundError:
        modules = [importlib.import_module(f"{package}.media.subtitles")]
    names = ("CaptionOptions", "sanitize_words", "group_captions", "render_timing_file", "render_timing_files")
    api = {name: getattr(module, name) for module in modules for name in names if hasattr(module, name)}
    return types.SimpleNamespace(TIMING_FORMATS=importlib.import_module(f"{package}.words").TIMING_FORMATS, **api)


def module_at(ref: str) -> types.SimpleNamespace:
    """The caption code as of a git ref: its f5worker tree unpacked under another package name."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", ref, "f5worker"], capture_output=True, check=True)
    folder = Path(tempfile.mkdtemp(prefix="bench-subtitles-"))
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(folder, filter="data")
    package = "f5worker_at_" + "".join(ch if ch.isalnum() else "_" for ch in ref)
    (folder / "f5worker").rename(folder / package)  # its own imports are relative, so they resolve inside the copy
    sys.path.insert(0, str(folder))
    return caption_api(package)


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


def grouping_row(words: list[Word], grouping, repeat: int) -> dict[str, float]:
    """Captions, orphans (and how many no grouping avoids), cost and median ms of one grouping."""
    options = CaptionOptions()
    limits = limits_from(options)
    times = []
    for _ in range(repeat):
        ms, captions = elapsed_ms(lambda: group_captions(words, options, grouping=grouping))
        times.append(ms)
    runs = runs_of(words, limits)
    cost = sum(grouping_cost(grouping(run, following, limits), following, limits) for run, following in runs)
    short = [c for c in captions if c.end - c.start < options.min_caption_s - 0.0005]
    cramped = {  # runs that leave less than the minimum before the next run: an orphan there is forced
        to_ms(run[0].start)
        for run, following in runs
        if following is not None and following - limits.gap_ms - to_ms(run[0].start) < limits.min_ms
    }
    forced = sum(to_ms(c.start) in cramped for c in short)
    return {
        "captions": len(captions),
        "orphans": len(short),
        "forced": forced,
        "cost": cost - SHORT_COST * len(short),  # beside the orphans: breaks, captions, unread characters
        "ms": statistics.median(times),
    }


def compare_groupings(words: list[Word], repeat: int) -> None:
    rows = {"greedy": grouping_row(words, greedy_groups, repeat), "dp": grouping_row(words, cheapest_groups, repeat)}
    print(f"\n{'grouping':<10}{'captions':>10}{'orphans':>9}{'forced':>8}{'cost':>10}{'ms':>10}")
    for name, row in rows.items():
        print(
            f"{name:<10}{row['captions']:>10}{row['orphans']:>9}{row['forced']:>8}{row['cost']:>10}{row['ms']:>10.1f}"
        )
    greedy, dp = rows["greedy"], rows["dp"]
    print(
        f"{'dp/greedy':<10}{dp['captions'] / greedy['captions']:>10.2f}{'':>17}{dp['cost'] / greedy['cost']:>10.2f}"
        f"{dp['ms'] / greedy['ms']:>10.2f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--karaoke", action="store_true", help="ASS with \\k tags")
    parser.add_argument("--smoke", action="store_true", help="seconds, not minutes: 400 words, one repeat")
    parser.add_argument(
        "--against", metavar="GIT_REF", help="also time the caption code as of this git ref, side by side"
    )
    args = parser.parse_args()
    if args.smoke:
        args.words, args.repeat = 400, 1

    words = [word.model_dump() for word in make_words(args.words)]
    versions = {"this": caption_api("f5worker")}
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
    compare_groupings(sanitize_words(make_words(args.words)), args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
