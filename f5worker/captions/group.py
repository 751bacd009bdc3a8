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

from ..media.punctuation import ends_clause, ends_sentence
from ..media.word_order import ordered_ends, ordered_starts, to_ms
from ..words import Word
from .linebreak import (
    LabelledWord,
    Piece,
    binds_forward,
    caption_layout,
    label_of,
    layout_fits,
    line_text,
    opens_phrase,
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


def _texts(words: Sequence[Word]) -> list[str]:
    return [word.word for word in words]


def _shown_length(words: Sequence[Word]) -> int:
    """Length of the words joined by single spaces as printed (a speaker label included)."""
    return _joined_length([shown(word) for word in words])


def _joined_length(texts: Sequence[str]) -> int:
    """Length of the texts joined by single spaces, without building the string."""
    return sum(len(text) for text in texts) + max(len(texts) - 1, 0)


def _duration_ms(words: Sequence[Word]) -> int:
    return to_ms(words[-1].end) - to_ms(words[0].start)


def _fits(words: Sequence[Word], limits: Limits, length: int | None = None) -> bool:
    """Whether these words can share one caption; a single word always can. `length`: their joined length."""
    if len(words) <= 1:
        return True
    if _duration_ms(words) > limits.max_ms:
        return False
    length = _shown_length(words) if length is None else length
    if length <= limits.max_chars:
        return True  # one line: no break to place
    if length > limits.max_lines * limits.max_chars:
        return False
    return layout_fits(words, limits)


def _reading_ms(words: Sequence[Word], limits: Limits, length: int | None = None) -> int:
    """How long these words need on screen at the reading-speed limit. `length`: their joined length."""
    length = _shown_length(words) if length is None else length
    return math.ceil(length * 1000 / limits.chars_per_s)


def _room_ms(words: Sequence[Word], next_start: int | None, limits: Limits) -> int:
    """The most screen time these words could get as one caption before the next one starts."""
    start = to_ms(words[0].start)
    latest = start + max(limits.max_ms, _duration_ms(words))
    if next_start is not None:
        latest = min(latest, next_start - limits.gap_ms)
    return max(latest, to_ms(words[-1].end)) - start


def _is_tiny(head: Sequence[Word], whole: Sequence[Word], limits: Limits) -> bool:
    """A head this short would flash by as an orphan caption, so no break is made for it."""
    threshold = min(limits.max_chars / 2, _shown_length(whole) / 3)
    return _shown_length(head) < threshold


def _last_break(words: Sequence[Word], limits: Limits, is_break: Callable[[int], bool]) -> int:
    """Word count of the longest non-tiny head ending at a break point, or 0 when none."""
    for count in range(len(words), 0, -1):
        if is_break(count) and not _is_tiny(words[:count], words, limits):
            return count
    return 0


def _split_preferred(words: Sequence[Word], following: Word, limits: Limits) -> tuple[list[Word], list[Word]]:
    """Close a full caption at its last sentence end, else clause end, else before a conjunction or
    preposition; never right after an article or adjective when that can be helped."""
    texts = [*_texts(words), following.word]
    count = _last_break(words, limits, lambda n: ends_sentence(texts[n - 1]))
    if limits.smart:
        count = count or _last_break(words, limits, lambda n: ends_clause(texts[n - 1]))
        count = count or _last_break(
            words, limits, lambda n: opens_phrase(texts[n]) and not binds_forward(texts[n - 1])
        )
        if not count:
            count = len(words)
            while count > 1 and binds_forward(texts[count - 1]):
                count -= 1
    count = count or len(words)
    return list(words[:count]), list(words[count:])


def _is_full_sentence_stop(words: Sequence[Word], limits: Limits) -> bool:
    """A sentence just ended and the caption already holds a full line: a natural place to cut."""
    return ends_sentence(words[-1].word) and _shown_length(words) >= limits.max_chars


def _must_close(current: list[Word], word: Word, after: int | None, limits: Limits) -> bool:
    """Close the caption before `word` when it would not fit, or would make a readable caption unreadable.

    The reading-speed split is made only when the caption closed here could stay up for the minimum
    duration: a split that leaves a flash of a caption helps nobody.
    """
    candidate = [*current, word]
    length = _shown_length(current)
    if not _fits(candidate, limits, length + 1 + len(shown(word))):
        return True
    room = _room_ms(current, to_ms(word.start), limits)
    if room < limits.min_ms or _reading_ms(current, limits, length) > room:
        return False
    return _reading_ms(candidate, limits, length + 1 + len(shown(word))) > _room_ms(candidate, after, limits)


def _group_run(run: Sequence[Word], next_start: int | None, limits: Limits) -> list[list[Word]]:
    """Group words that have no long pause between them, respecting every caption limit."""
    groups: list[list[Word]] = []
    current: list[Word] = []
    for position, word in enumerate(run):
        after = to_ms(run[position + 1].start) if position + 1 < len(run) else next_start
        while current and _must_close(current, word, after, limits):
            head, current = _split_preferred(current, word, limits)
            groups.append(head)
        current.append(word)
        if _is_full_sentence_stop(current, limits):
            groups.append(current)
            current = []
    if current:
        groups.append(current)
    return groups


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


def _display_end(words: Sequence[Word], next_start: int | None, limits: Limits) -> int:
    """When a caption leaves the screen, in ms.

    At least its last word's end, the minimum duration and the reading time, extended into the
    silence that follows but not past the longest duration; always the gap before the next caption.
    """
    start, last_end = to_ms(words[0].start), to_ms(words[-1].end)
    wanted = max(last_end, start + limits.min_ms, start + _reading_ms(words, limits))
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


def group_captions(
    words: Sequence[Word], options: CaptionOptions, speakers: SpeakerOptions | None = None
) -> list[Caption]:
    """Split sanitised words into captions once, so all formats share the same boundaries and times.

    With ``speakers`` labelling changes, a turn's first caption leaves room for the SRT label
    ('Name: ') in its first line and reading time: every SRT line as printed keeps the limits.
    """
    limits = limits_from(options)
    turns = _labelled_turns(words, speakers, limits.max_chars)
    runs = [run for turn in turns for run in _split_at_pauses(turn, limits.pause_ms)]
    groups = [
        group
        for position, run in enumerate(runs)
        for group in _group_run(run, to_ms(runs[position + 1][0].start) if position + 1 < len(runs) else None, limits)
    ]
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
                end=_display_end(group, next_start, limits) / 1000,
                lines=[line_text(line) for line in layout],
                words=list(words[first_word : first_word + len(group)]),
                layout=layout,
                speaker=group[0].speaker,
                label=label,
            )
        )
        first_word += len(group)
    return captions
