"""Grouping sanitised words into captions: which words share a caption and how long it stays up.

Every format is rendered from the same captions, so a video burnt with the ASS file and a player
showing the SRT file change captions at exactly the same moments. Captions follow broadcast rules
(Netflix's English Timed Text Style Guide, the BBC subtitle guidelines): line length and count,
minimum and maximum duration, reading speed, a gap of two frames between captions; each rule is a
caption option.
"""

from __future__ import annotations

import dataclasses
import math
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise

from ..media.punctuation import ends_sentence
from ..media.word_order import ordered_ends, ordered_starts, to_ms
from ..words import Word
from .linebreak import (
    BREAK_AFTER_SENTENCE,
    BREAK_PLAIN,
    LabelledWord,
    Piece,
    break_penalty,
    caption_layout,
    label_of,
    layout_fits,
    line_text,
    shown,
)
from .options import CaptionOptions, Limits, SpeakerOptions, limits_from

MIN_VISIBLE_MS = 40  # one frame at 25 fps: no caption is shown for less, gap or not


@dataclass(frozen=True)
class Caption:
    """One on-screen caption: a contiguous run of words, wrapped into lines, with its display times.

    ``start`` is its first word's start; ``end`` may run past its last word (minimum duration,
    reading speed) or stop just before it (the gap before the next caption).
    """

    index: int
    start: float
    end: float
    lines: list[str]
    words: list[Word]
    layout: tuple[tuple[Piece, ...], ...] = ()
    speaker: str | None = None
    label: str = ""  # SRT prints this before the first line ('Name: '); the layout left room for it


# --------------------------------------------------------------------------- sanitising


def _clean_text(text: str) -> str:
    """Single-spaced NFC text without control characters, so line lengths and cue text are safe."""
    collapsed = " ".join(unicodedata.normalize("NFC", text).split())
    return "".join(ch for ch in collapsed if unicodedata.category(ch) != "Cc")


def _clean_confidence(confidence: float | None) -> float | None:
    """NaN is not valid JSON, so a non-finite confidence becomes unknown."""
    if confidence is None or not math.isfinite(confidence):
        return None
    return confidence


def sanitize_words(words: Iterable[Word | dict]) -> list[Word]:
    """Make recogniser output safe to caption: non-empty text, ordered, non-overlapping ms times."""
    kept: list[Word] = []
    for item in words:
        word = item if isinstance(item, Word) else Word.model_validate(item)
        text = _clean_text(word.word)
        if text:
            kept.append(word.model_copy(update={"word": text}))
    starts = ordered_starts([word.start for word in kept])
    ends = ordered_ends([word.end for word in kept], starts)
    return [
        Word(
            word=word.word,
            start=start / 1000,
            end=end / 1000,
            confidence=_clean_confidence(word.confidence),
            speaker=word.speaker,
        )
        for word, start, end in zip(kept, starts, ends, strict=True)
    ]


# --------------------------------------------------------------------------- grouping


def shown_length(words: Sequence[Word]) -> int:
    """Length of the words joined by single spaces as printed (a speaker label included)."""
    return _joined_length([shown(word) for word in words])


def _joined_length(texts: Sequence[str]) -> int:
    """Length of the texts joined by single spaces, without building the string."""
    return sum(len(text) for text in texts) + max(len(texts) - 1, 0)


def duration_ms(words: Sequence[Word]) -> int:
    return to_ms(words[-1].end) - to_ms(words[0].start)


def fits(words: Sequence[Word], limits: Limits, length: int | None = None) -> bool:
    """Whether these words can share one caption; a single word always can. `length`: their joined length."""
    if len(words) <= 1:
        return True
    if duration_ms(words) > limits.max_ms:
        return False
    length = shown_length(words) if length is None else length
    if length <= limits.max_chars:
        return True  # one line: no break to place
    if length > limits.max_lines * limits.max_chars:
        return False
    return layout_fits(words, limits)


def reading_ms(words: Sequence[Word], limits: Limits, length: int | None = None) -> int:
    """How long these words need on screen at the reading-speed limit. `length`: their joined length."""
    return reading_ms_of(shown_length(words) if length is None else length, limits)


def reading_ms_of(length: int, limits: Limits) -> int:
    """How long `length` characters need on screen at the reading-speed limit."""
    return math.ceil(length * 1000 / limits.chars_per_s)


# Costs of one caption, in the line breaker's character units (linebreak.BREAK_*): the break that
# closes it, one unit per caption (fewer, fuller captions), and per character it cannot be read at
# max_chars_per_s in the time it can be shown. A caption shown for less than min_caption_s costs more
# than any grouping without one can, so the cheapest grouping has one only where every grouping does.
CAPTION_COST = 1
UNREADABLE_PER_CHAR = 4
SHORT_COST = 1_000_000


def closing_cost(before: str, after: str, smart: bool) -> int:
    """Cost of closing a caption after `before` when `after` comes next: a sentence end is free even
    without smart breaks; the rest is the line breaker's penalty (plain without smart breaks)."""
    if ends_sentence(before):
        return BREAK_AFTER_SENTENCE
    return break_penalty(before, after, smart) if smart else BREAK_PLAIN


def caption_cost(start: int, last_end: int, length: int, next_start: int | None, closing: int, limits: Limits) -> int:
    """What one caption costs: it starts at `start` ms, its last word ends at `last_end` ms, it shows
    `length` characters, and `closing` is the cost of the break after it (`closing_cost`; 0 where a
    pause, a speaker change or the end closes it anyway)."""
    reading = reading_ms_of(length, limits)
    shown_ms = end_ms(start, last_end, reading, next_start, limits) - start
    cost = CAPTION_COST + closing
    if shown_ms < limits.min_ms:
        cost += SHORT_COST
    if reading > shown_ms:
        cost += UNREADABLE_PER_CHAR * math.ceil((reading - shown_ms) * limits.chars_per_s / 1000)
    return cost


def cheapest_groups(run: Sequence[Word], next_start: int | None, limits: Limits) -> list[list[Word]]:
    """The run's words grouped into captions at the least total cost: dynamic programming over the
    break points, as the line breaker does inside a caption.

    Every hard rule (line width and count, no line break after an article or adjective, longest
    duration) decides which captions may exist; the costs choose among them. Fewer words never
    fit worse, so a start tries ends only until the first misfit, and only ends past the furthest
    one an earlier start reached need checking. Among equal costs the later break wins, so earlier
    captions are the fuller ones.
    """
    size = len(run)
    starts, ends = [to_ms(word.start) for word in run], [to_ms(word.end) for word in run]
    widths = [len(shown(word)) for word in run]
    closings = [closing_cost(before.word, after.word, limits.smart) for before, after in pairwise(run)] + [0]
    best = [0, *[math.inf] * size]
    back = [0] * (size + 1)
    reached = 1  # every caption ending at or before this word count fits
    for first in range(size):
        length = -1
        for end in range(first + 1, size + 1):
            length += 1 + widths[end - 1]
            if end > reached:
                if end - first > 1 and not fits(run[first:end], limits, length):
                    break
                reached = end
            following = starts[end] if end < size else next_start
            closing = closings[end - 1]
            cost = best[first] + caption_cost(starts[first], ends[end - 1], length, following, closing, limits)
            if cost <= best[end]:
                best[end], back[end] = cost, first
    groups: list[list[Word]] = []
    end = size
    while end:
        groups.append(list(run[back[end] : end]))
        end = back[end]
    return groups[::-1]


def _split_at_pauses(words: Sequence[Word], pause_ms: int) -> list[list[Word]]:
    """Runs of words separated by silences longer than the pause threshold."""
    runs: list[list[Word]] = []
    for word in words:
        if runs and to_ms(word.start) - to_ms(runs[-1][-1].end) > pause_ms:
            runs.append([word])
        elif runs:
            runs[-1].append(word)
        else:
            runs.append([word])
    return runs


def display_end(words: Sequence[Word], next_start: int | None, limits: Limits) -> int:
    """When a caption of these words leaves the screen, in ms (`end_ms`)."""
    return end_ms(to_ms(words[0].start), to_ms(words[-1].end), reading_ms(words, limits), next_start, limits)


def end_ms(start: int, last_end: int, reading: int, next_start: int | None, limits: Limits) -> int:
    """When a caption leaves the screen, in ms.

    At least its last word's end, the minimum duration and the `reading` time, extended into the
    silence that follows but not past the longest duration; always the gap before the next caption.
    """
    wanted = max(last_end, start + limits.min_ms, start + reading)
    end = min(wanted, max(start + limits.max_ms, last_end))
    if next_start is None:
        return end
    end = min(end, next_start - limits.gap_ms)
    # Only captions starting less than a gap (plus a frame) before the next one get here: show
    # them for a frame, up to the next caption, rather than for no time at all.
    return end if end - start >= MIN_VISIBLE_MS else min(start + MIN_VISIBLE_MS, next_start)


def _speaker_runs(words: Sequence[Word]) -> list[list[Word]]:
    """Runs of words by one speaker: a caption never holds two speakers."""
    runs: list[list[Word]] = []
    for word in words:
        if runs and runs[-1][-1].speaker == word.speaker:
            runs[-1].append(word)
        else:
            runs.append([word])
    return runs


def speaker_label(name: str, max_chars: int) -> str:
    """'Name: ', the SRT prefix at a speaker change; a name too long for half a line is shortened
    ('Name…: '), so the label always leaves the first line room for words."""
    label = f"{name}: "
    room = max_chars // 2
    return label if len(label) <= room else f"{name[: max(room - 3, 1)]}…: "


def _labelled_turns(words: Sequence[Word], speakers: SpeakerOptions | None, max_chars: int) -> list[list[Word]]:
    """Speaker turns; with SRT labels on, each named turn's first word carries its speaker's label."""
    turns = _speaker_runs(words)
    if speakers is None or not speakers.label_changes:
        return turns
    for turn in turns:
        first = turn[0]
        if first.speaker:
            label = speaker_label(first.speaker, max_chars)
            turn[0] = LabelledWord.model_construct(**dict(first), label=label)
    return turns


def _unlabelled(layout: tuple[tuple[Piece, ...], ...], label: str) -> tuple[tuple[Piece, ...], ...]:
    """The layout without the label in front of its first piece (VTT, ASS and JSON show no label)."""
    if not label:
        return layout
    first, *rest = layout[0]
    return ((dataclasses.replace(first, text=first.text[len(label) :]), *rest), *layout[1:])


Grouping = Callable[[Sequence[Word], int | None, Limits], list[list[Word]]]


def runs_of(
    words: Sequence[Word], limits: Limits, speakers: SpeakerOptions | None = None
) -> list[tuple[list[Word], int | None]]:
    """The runs that every grouping keeps apart (a speaker's turn, cut at pauses longer than
    pause_split_s), each with the start of the next run in ms (None for the last)."""
    turns = _labelled_turns(words, speakers, limits.max_chars)
    runs = [run for turn in turns for run in _split_at_pauses(turn, limits.pause_ms)]
    return [(run, to_ms(runs[n + 1][0].start) if n + 1 < len(runs) else None) for n, run in enumerate(runs)]


def grouping_cost(groups: Sequence[Sequence[Word]], next_start: int | None, limits: Limits) -> int:
    """What `cheapest_groups` minimises, for any grouping of one run: the sum of its captions' costs."""
    total = 0
    for position, group in enumerate(groups):
        following = groups[position + 1][0] if position + 1 < len(groups) else None
        following_ms = next_start if following is None else to_ms(following.start)
        closing = 0 if following is None else closing_cost(group[-1].word, following.word, limits.smart)
        start, last_end = to_ms(group[0].start), to_ms(group[-1].end)
        total += caption_cost(start, last_end, shown_length(group), following_ms, closing, limits)
    return total


def group_captions(
    words: Sequence[Word],
    options: CaptionOptions,
    speakers: SpeakerOptions | None = None,
    grouping: Grouping = cheapest_groups,
) -> list[Caption]:
    """Split sanitised words into captions once, so all formats share the same boundaries and times.

    With ``speakers`` labelling changes, a turn's first caption leaves room for the SRT label
    ('Name: ') in its first line and reading time: every SRT line as printed keeps the limits.
    """
    limits = limits_from(options)
    runs = runs_of(words, limits, speakers)
    groups = [group for run, next_start in runs for group in grouping(run, next_start, limits)]
    captions: list[Caption] = []
    first_word = 0
    for number, group in enumerate(groups, start=1):
        next_start = to_ms(groups[number][0].start) if number < len(groups) else None
        label = label_of(group[0])
        layout = _unlabelled(caption_layout(group, limits), label)
        captions.append(
            Caption(
                index=number,
                start=group[0].start,
                end=display_end(group, next_start, limits) / 1000,
                lines=[line_text(line) for line in layout],
                words=list(words[first_word : first_word + len(group)]),
                layout=layout,
                speaker=group[0].speaker,
                label=label,
            )
        )
        first_word += len(group)
    return captions
