"""Word-level timing files (SRT, WebVTT, ASS, CSV, JSON) built from one shared caption grouping.

Every format is rendered from the same sanitised words and the same captions, so a video burnt
with the ASS file and a player showing the SRT file change captions at exactly the same moments.
Captions follow broadcast rules (Netflix's English Timed Text Style Guide, the BBC subtitle
guidelines): line length and count, minimum and maximum duration, reading speed, a gap of two
frames between captions, and line breaks where the grammar allows; each rule is a caption option.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import pairwise

import pysubs2

from ..words import TIMING_FORMATS, CaptionOptions, Word
from .punctuation import CLOSING_CHARS, OPENING_CHARS, ends_clause, ends_sentence, is_title, strip_closing
from .word_order import ordered_ends, ordered_starts, to_ms

MIN_VISIBLE_MS = 40  # one frame at 25 fps: no caption is shown for less, gap or not

ASS_PLAY_RES = (1920, 1080)
ASS_STYLE_NAME = "Default"


# Distinct, readable on video (white is the single-voice colour): gold, sky blue, light green, salmon, ...
SPEAKER_COLOURS = ("#FFD700", "#66CCFF", "#90EE90", "#FF9980", "#DDA0DD", "#FFA500", "#40E0D0", "#F0E68C")


@dataclass(frozen=True)
class SpeakerOptions:
    """How a multi-voice job's speakers show: SRT name prefixes at speaker changes, ASS colours per speaker."""

    speakers: list[str]
    label_changes: bool = True
    colors: dict[str, str] = field(default_factory=dict)  # speaker -> '#RRGGBB'


@dataclass(frozen=True)
class Piece:
    """A word, or one line-sized part of a word too long for a line, as laid out on a line."""

    word: int  # index into the caption's words
    text: str
    glued: bool  # continues the previous piece of the same word (no space before it)


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


class _LabelledWord(Word):
    """The first word of a speaker's turn while captions are grouped: SRT prints the speaker's label
    before it, so line widths and reading speed count the label with the word."""

    label: str


@dataclass(frozen=True)
class _Limits:
    """Caption limits in integer units, so comparisons never suffer float rounding."""

    max_chars: int
    max_lines: int
    min_ms: int
    max_ms: int
    chars_per_s: float
    gap_ms: int
    pause_ms: int
    smart: bool


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
            pause_after=word.pause_after,
        )
        for word, start, end in zip(kept, starts, ends, strict=True)
    ]


# --------------------------------------------------------------------------- words that bind


# A line may not end on these: an article, determiner, possessive or common adjective belongs with
# the noun after it (Netflix, BBC). A small English list; other languages only lose the preference.
BINDS_FORWARD = frozenset(
    {
        "a",
        "an",
        "the",
        "this",
        "these",
        "those",
        "my",
        "your",
        "his",
        "her",
        "its",
        "our",
        "their",
        "some",
        "any",
        "no",
        "every",
        "each",
        "either",
        "neither",
        "another",
        "such",
        "both",
        "all",
        "few",
        "many",
        "much",
        "several",
        "more",
        "most",
        "less",
        "least",
        "other",
        "own",
        "same",
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "st",
        "mt",
        "big",
        "small",
        "little",
        "large",
        "great",
        "good",
        "bad",
        "new",
        "old",
        "young",
        "long",
        "short",
        "high",
        "low",
        "full",
        "whole",
        "first",
        "last",
        "next",
        "only",
        "best",
        "better",
        "worst",
        "real",
        "main",
    }
)
# A line may start with these: conjunctions and prepositions open the phrase that follows.
OPENS_PHRASE = frozenset(
    {
        "and",
        "but",
        "or",
        "nor",
        "so",
        "yet",
        "for",
        "because",
        "although",
        "though",
        "while",
        "whereas",
        "unless",
        "until",
        "if",
        "when",
        "whenever",
        "where",
        "wherever",
        "since",
        "as",
        "than",
        "that",
        "which",
        "who",
        "whom",
        "whose",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "with",
        "from",
        "into",
        "onto",
        "upon",
        "about",
        "above",
        "below",
        "over",
        "under",
        "after",
        "before",
        "between",
        "among",
        "through",
        "during",
        "without",
        "within",
        "along",
        "across",
        "against",
        "around",
        "behind",
        "beyond",
        "near",
        "toward",
        "towards",
        "via",
    }
)

# Break penalties in character units, weighed against how uneven the lines come out.
BREAK_AFTER_SENTENCE = 0
BREAK_AFTER_CLAUSE = 2
BREAK_BEFORE_PHRASE = 4
BREAK_PLAIN = 8
BREAK_AFTER_BINDER = 60  # "never", unless no other break fits
BREAK_AFTER_PHRASE_WORD = 12  # a line ending on "of" or "and" leaves the reader hanging
TOP_HEAVY_WEIGHT = 0.5  # a top line longer than the bottom one costs extra (pyramid shape preferred)

HYPHENS = "-‐‑–—/"


def _bare(text: str) -> str:
    """Lower-case word without surrounding punctuation, for the word lists."""
    return text.strip(OPENING_CHARS + CLOSING_CHARS).lower()


@lru_cache(maxsize=16384)
def _binds_forward(text: str) -> bool:
    core = strip_closing(text)
    return bool(core) and (core[-1].isalnum() and _bare(text) in BINDS_FORWARD or is_title(text))


@lru_cache(maxsize=16384)
def _opens_phrase(text: str) -> bool:
    return _bare(text) in OPENS_PHRASE


@lru_cache(maxsize=16384)
def _penalty_after(text: str) -> int | None:
    """The break penalty that the word before a break decides alone, or None when the next word decides."""
    if ends_sentence(text):
        return BREAK_AFTER_SENTENCE
    if ends_clause(text):
        return BREAK_AFTER_CLAUSE
    if _binds_forward(text):
        return BREAK_AFTER_BINDER
    if _opens_phrase(text):
        return BREAK_AFTER_PHRASE_WORD
    return None


def _break_penalty(before: str, after: str, smart: bool) -> int:
    """Cost of ending a line (or caption) after `before` when `after` comes next."""
    if not smart:
        return 0
    penalty = _penalty_after(before)
    if penalty is not None:
        return penalty
    return BREAK_BEFORE_PHRASE if _opens_phrase(after) else BREAK_PLAIN


# --------------------------------------------------------------------------- line layout


@lru_cache(maxsize=4096)
def _word_parts(text: str, width: int, first_width: int) -> tuple[str, ...]:
    """A word too long for a line breaks after hyphens or slashes, else at the width.

    The first part holds at most ``first_width`` characters (less than a line after a speaker label).
    """
    segments = [part for part in re.split(f"(?<=[{re.escape(HYPHENS)}])", text) if part]
    parts: list[str] = []
    for segment in segments:
        if parts and len(parts[-1]) + len(segment) <= (width if len(parts) > 1 else first_width):
            parts[-1] += segment
            continue
        while segment:
            room = width if parts else first_width
            parts.append(segment[:room])
            segment = segment[room:]
    return tuple(parts)


def _label(word: Word) -> str:
    return word.label if isinstance(word, _LabelledWord) else ""


def _shown(word: Word) -> str:
    """The word as SRT prints it: with the speaker label in front of a turn's first word."""
    return _label(word) + word.word


def _pieces(words: Sequence[Word], width: int) -> list[Piece]:
    """Words as line pieces; a speaker label stays in its word's first piece."""
    pieces: list[Piece] = []
    for index, word in enumerate(words):
        label = _label(word)
        if len(label) + len(word.word) <= width:
            pieces.append(Piece(word=index, text=label + word.word, glued=False))
        else:
            parts = _word_parts(word.word, width, width - len(label))
            pieces.extend(
                Piece(word=index, text=label + part if position == 0 else part, glued=position > 0)
                for position, part in enumerate(parts)
            )
    return pieces


def _line_length(pieces: Sequence[Piece]) -> int:
    return sum(len(piece.text) for piece in pieces) + sum(1 for piece in pieces[1:] if not piece.glued)


def _greedy_line_count(pieces: Sequence[Piece], width: int) -> int:
    """Fewest lines that hold these pieces at this width (each piece fits a line by construction)."""
    lines, length = 0, 0
    for piece in pieces:
        added = len(piece.text) + (0 if piece.glued else 1)
        if lines and length + added <= width:
            length += added
        else:
            lines, length = lines + 1, len(piece.text)
    return lines


def _best_breaks(
    words: Sequence[Word], pieces: Sequence[Piece], count: int, limits: _Limits, allow_binder: bool
) -> list[int] | None:
    """Where `count` lines start, by the least cost, or None when no layout fits.

    A small dynamic programme over break positions: each line costs its distance from an even
    share of the text (a top line longer than that costs extra) plus the penalty of the break that
    ends it; with `allow_binder` false, breaks after an article or adjective are ruled out.
    """
    size = len(pieces)
    chars, spaces = [0], [0]
    for piece in pieces:
        chars.append(chars[-1] + len(piece.text))
        spaces.append(spaces[-1] + (0 if piece.glued else 1))
    penalties = [0] * (size + 1)  # penalties[j]: cost of a line break before piece j
    for end in range(1, size):
        if not pieces[end].glued:
            before, after = words[pieces[end - 1].word].word, words[pieces[end].word].word
            penalties[end] = _break_penalty(before, after, limits.smart)
            if not allow_binder and penalties[end] >= BREAK_AFTER_BINDER:
                penalties[end] = -1
    target = (chars[size] + spaces[size] - spaces[1]) / count if size else 0
    best = [[math.inf] * (size + 1) for _ in range(count + 1)]
    back = [[0] * (size + 1) for _ in range(count + 1)]
    best[0][0] = 0.0
    for lines in range(1, count + 1):
        last_line = lines == count
        for end in range(size if last_line else lines, size + 1):
            if penalties[end] < 0 and end < size:
                continue
            ending = penalties[end] if end < size else 0
            for begin in range(end - 1, lines - 2, -1):
                length = chars[end] - chars[begin] + spaces[end] - spaces[begin + 1]
                if length > limits.max_chars:
                    break
                if best[lines - 1][begin] == math.inf:
                    continue
                cost = best[lines - 1][begin] + abs(length - target) + ending
                if lines == 1 and count > 1 and length > target:
                    cost += TOP_HEAVY_WEIGHT * (length - target)
                if cost < best[lines][end]:
                    best[lines][end], back[lines][end] = cost, begin
    if best[count][size] == math.inf:
        return None
    starts, end = [], size
    for lines in range(count, 0, -1):
        end = back[lines][end]
        starts.append(end)
    return starts[::-1]


def _unbroken_line_count(words: Sequence[Word], pieces: Sequence[Piece], width: int) -> int | None:
    """Fewest lines when no line may end on an article or adjective, or None when that cannot fit.

    Pieces joined across a forbidden break form one block; filling lines greedily with blocks uses
    the fewest lines.
    """
    blocks: list[tuple[int, bool]] = []  # (length, glued to the previous block)
    for position, piece in enumerate(pieces):
        bound = position > 0 and not piece.glued and _binds_forward(words[pieces[position - 1].word].word)
        if bound:
            length, glued = blocks[-1]
            blocks[-1] = (length + 1 + len(piece.text), glued)
        else:
            blocks.append((len(piece.text), piece.glued))
    lines, length = 0, 0
    for block, glued in blocks:
        if block > width:
            return None
        added = block + (0 if glued else 1)
        if lines and length + added <= width:
            length += added
        else:
            lines, length = lines + 1, block
    return lines


def _line_count(words: Sequence[Word], pieces: Sequence[Piece], limits: _Limits) -> tuple[int, bool]:
    """Lines the caption takes and whether breaks after articles or adjectives are needed for that."""
    if limits.smart:
        count = _unbroken_line_count(words, pieces, limits.max_chars)
        if count is not None and count <= limits.max_lines:
            return count, False
    return _greedy_line_count(pieces, limits.max_chars), True


def _layout(words: Sequence[Word], limits: _Limits) -> tuple[tuple[Piece, ...], ...]:
    """The fewest lines, broken where the grammar allows and as evenly as possible (bottom may be longer)."""
    pieces = _pieces(words, limits.max_chars)
    if not pieces:
        return ()
    count, allow_binder = _line_count(words, pieces, limits)
    if count == 1:
        return (tuple(pieces),)
    starts = _best_breaks(words, pieces, count, limits, allow_binder=allow_binder) or [0]
    bounds = [*starts, len(pieces)]
    return tuple(tuple(pieces[begin:end]) for begin, end in pairwise(bounds))


def _layout_fits(words: Sequence[Word], limits: _Limits) -> bool:
    """Whether these words fit the caption's lines without breaking after an article or adjective."""
    pieces = _pieces(words, limits.max_chars)
    count, needs_binder = _line_count(words, pieces, limits)
    return count <= limits.max_lines and not (needs_binder and limits.smart and count > 1)


def _line_text(pieces: Sequence[Piece]) -> str:
    return "".join(piece.text if piece.glued or n == 0 else " " + piece.text for n, piece in enumerate(pieces))


# --------------------------------------------------------------------------- grouping


def _texts(words: Sequence[Word]) -> list[str]:
    return [word.word for word in words]


def _shown_length(words: Sequence[Word]) -> int:
    """Length of the words joined by single spaces as printed (a speaker label included)."""
    return _joined_length([_shown(word) for word in words])


def _joined_length(texts: Sequence[str]) -> int:
    """Length of the texts joined by single spaces, without building the string."""
    return sum(len(text) for text in texts) + max(len(texts) - 1, 0)


def _duration_ms(words: Sequence[Word]) -> int:
    return to_ms(words[-1].end) - to_ms(words[0].start)


def _fits(words: Sequence[Word], limits: _Limits, length: int | None = None) -> bool:
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
    return _layout_fits(words, limits)


def _reading_ms(words: Sequence[Word], limits: _Limits, length: int | None = None) -> int:
    """How long these words need on screen at the reading-speed limit. `length`: their joined length."""
    length = _shown_length(words) if length is None else length
    return math.ceil(length * 1000 / limits.chars_per_s)


def _room_ms(words: Sequence[Word], next_start: int | None, limits: _Limits) -> int:
    """The most screen time these words could get as one caption before the next one starts."""
    start = to_ms(words[0].start)
    latest = start + max(limits.max_ms, _duration_ms(words))
    if next_start is not None:
        latest = min(latest, next_start - limits.gap_ms)
    return max(latest, to_ms(words[-1].end)) - start


def _is_tiny(head: Sequence[Word], whole: Sequence[Word], limits: _Limits) -> bool:
    """A head this short would flash by as an orphan caption, so no break is made for it."""
    threshold = min(limits.max_chars / 2, _shown_length(whole) / 3)
    return _shown_length(head) < threshold


def _last_break(words: Sequence[Word], limits: _Limits, is_break: Callable[[int], bool]) -> int:
    """Word count of the longest non-tiny head ending at a break point, or 0 when none."""
    for count in range(len(words), 0, -1):
        if is_break(count) and not _is_tiny(words[:count], words, limits):
            return count
    return 0


def _split_preferred(words: Sequence[Word], following: Word, limits: _Limits) -> tuple[list[Word], list[Word]]:
    """Close a full caption at its last sentence end, else clause end, else before a conjunction or
    preposition; never right after an article or adjective when that can be helped."""
    texts = [*_texts(words), following.word]
    count = _last_break(words, limits, lambda n: ends_sentence(texts[n - 1]))
    if limits.smart:
        count = count or _last_break(words, limits, lambda n: ends_clause(texts[n - 1]))
        count = count or _last_break(
            words, limits, lambda n: _opens_phrase(texts[n]) and not _binds_forward(texts[n - 1])
        )
        if not count:
            count = len(words)
            while count > 1 and _binds_forward(texts[count - 1]):
                count -= 1
    count = count or len(words)
    return list(words[:count]), list(words[count:])


def _is_full_sentence_stop(words: Sequence[Word], limits: _Limits) -> bool:
    """A sentence just ended and the caption already holds a full line: a natural place to cut."""
    return ends_sentence(words[-1].word) and _shown_length(words) >= limits.max_chars


def _must_close(current: list[Word], word: Word, after: int | None, limits: _Limits) -> bool:
    """Close the caption before `word` when it would not fit, or would make a readable caption unreadable.

    The reading-speed split is made only when the caption closed here could stay up for the minimum
    duration: a split that leaves a flash of a caption helps nobody.
    """
    candidate = [*current, word]
    length = _shown_length(current)
    if not _fits(candidate, limits, length + 1 + len(_shown(word))):
        return True
    room = _room_ms(current, to_ms(word.start), limits)
    if room < limits.min_ms or _reading_ms(current, limits, length) > room:
        return False
    return _reading_ms(candidate, limits, length + 1 + len(_shown(word))) > _room_ms(candidate, after, limits)


def _group_run(run: Sequence[Word], next_start: int | None, limits: _Limits) -> list[list[Word]]:
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
    """Runs of words separated by silences longer than the pause threshold, or by a pause tag."""
    runs: list[list[Word]] = []
    for word in words:
        if runs and (to_ms(word.start) - to_ms(runs[-1][-1].end) > pause_ms or runs[-1][-1].pause_after):
            runs.append([word])
        elif runs:
            runs[-1].append(word)
        else:
            runs.append([word])
    return runs


def _limits_from(options: CaptionOptions) -> _Limits:
    return _Limits(
        max_chars=options.max_chars_per_line,
        max_lines=options.max_lines,
        min_ms=to_ms(min(options.min_caption_s, options.max_caption_s)),
        max_ms=to_ms(options.max_caption_s),
        chars_per_s=options.max_chars_per_s,
        gap_ms=to_ms(options.min_gap_s),
        pause_ms=to_ms(options.pause_split_s),
        smart=options.smart_line_breaks,
    )


def _display_end(words: Sequence[Word], next_start: int | None, limits: _Limits) -> int:
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
            turn[0] = _LabelledWord.model_construct(**dict(first), label=label)
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
    limits = _limits_from(options)
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
        label = _label(group[0])
        layout = _unlabelled(_layout(group, limits), label)
        captions.append(
            Caption(
                index=number,
                start=group[0].start,
                end=_display_end(group, next_start, limits) / 1000,
                lines=[_line_text(line) for line in layout],
                words=list(words[first_word : first_word + len(group)]),
                layout=layout,
                speaker=group[0].speaker,
                label=label,
            )
        )
        first_word += len(group)
    return captions


# --------------------------------------------------------------------------- SRT / ASS (pysubs2)


def _protect_backslashes(text: str) -> str:
    r"""Keep a literal '\N', '\n' or '\h' in a word from being read as an ASS line break or space."""
    return re.sub(r"\\(?=[Nnh])", "\\\\\u2060", text)


def _ass_text(text: str) -> str:
    """ASS has no portable escape for braces (they open override tags), so show them as parentheses."""
    return _protect_backslashes(text).replace("{", "(").replace("}", ")")


def _srt_text(text: str) -> str:
    r"""SubRip text that players show as typed.

    FFmpeg's subrip decoder (and so mpv and the subtitles filter) reads <b>, <i>, <u>, <font> and
    drops other tags, keeps {\an8}-style blocks, and hands the rest to libass, which reads '{...}'
    as an override block and '\N' as a line break. A word joiner after '<' stops tag parsing,
    '\{' and '\}' are libass's literal braces (a word joiner keeps '\{' from looking like '{\'),
    and '\N' is protected as in ASS.
    """
    text = _protect_backslashes(text).replace("{", "\\{\u2060").replace("}", "\\}")
    return text.replace("<", "<\u2060")


def render_srt(captions: Sequence[Caption]) -> str:
    """SubRip via pysubs2; '\\N' between lines becomes a real line break in the file.

    Multi-voice: a cue starts with its label ('Name: ') when its speaker differs from the previous
    cue's, as grouped by ``group_captions(..., speakers)``.
    """
    subs = pysubs2.SSAFile()
    for caption in captions:
        text = r"\N".join(_srt_text(line) for line in caption.lines)
        subs.append(pysubs2.SSAEvent(start=to_ms(caption.start), end=to_ms(caption.end), text=caption.label + text))
    return subs.to_string("srt", keep_ssa_tags=True)


def _ass_centiseconds(seconds: float) -> int:
    """ASS stores centiseconds; round half up like pysubs2 and Aegisub do."""
    return (to_ms(seconds) + 5) // 10


def _karaoke_durations(caption: Caption) -> list[int]:
    """Per-word \\k lengths in cs; each word keeps the gap after it, so they sum to the event length.

    A caption may end before its last word does (the gap before the next caption), so marks are
    clamped to the event.
    """
    origin = _ass_centiseconds(caption.start)
    total = _ass_centiseconds(caption.end) - origin
    marks = [min(max(_ass_centiseconds(word.start) - origin, 0), total) for word in caption.words[1:]]
    marks = [0, *marks, total]
    return [after - before for before, after in pairwise(marks)]


def _karaoke_text(caption: Caption) -> str:
    """Caption text with a {\\kN} tag before every word and '\\N' between lines."""
    durations = _karaoke_durations(caption)
    lines: list[str] = []
    for line in caption.layout:
        parts: list[str] = []
        for n, piece in enumerate(line):
            text = _ass_text(piece.text)
            if not piece.glued:
                text = f"{{\\k{durations[piece.word]}}}{text}"
            parts.append(text if piece.glued or n == 0 else " " + text)
        lines.append("".join(parts))
    return r"\N".join(lines)


def _ass_style(karaoke: bool) -> pysubs2.SSAStyle:
    """Large bold white text with a dark outline at bottom centre, readable on any 1080p video.

    Karaoke fills words from the secondary to the primary colour, so spoken words turn yellow.
    """
    white, yellow = pysubs2.Color(255, 255, 255), pysubs2.Color(255, 220, 0)
    return pysubs2.SSAStyle(
        fontname="Arial",
        fontsize=64,
        bold=True,
        primarycolor=yellow if karaoke else white,
        secondarycolor=white,
        outlinecolor=pysubs2.Color(0, 0, 0),
        backcolor=pysubs2.Color(0, 0, 0, 128),
        outline=3.0,
        shadow=1.0,
        alignment=pysubs2.Alignment.BOTTOM_CENTER,
        marginl=80,
        marginr=80,
        marginv=60,
    )


def _speaker_styles(karaoke: bool, speakers: SpeakerOptions) -> dict[str, pysubs2.SSAStyle]:
    """One style per speaker, the default style's look in the speaker's colour (karaoke: the spoken colour)."""
    styles = {}
    for position, name in enumerate(speakers.speakers):
        hex_colour = speakers.colors.get(name) or SPEAKER_COLOURS[position % len(SPEAKER_COLOURS)]
        red, green, blue = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
        style = _ass_style(karaoke).copy()
        style.primarycolor = pysubs2.Color(red, green, blue)
        styles[name] = style
    return styles


def render_ass(captions: Sequence[Caption], karaoke: bool, speakers: SpeakerOptions | None = None) -> str:
    """Advanced SubStation Alpha via pysubs2, for burning in with FFmpeg's subtitles/ass filter.

    Multi-voice: one style per speaker (named after it), each in its own colour.
    """
    subs = pysubs2.SSAFile()
    subs.info["Title"] = "F5-TTS word timings"
    subs.info["PlayResX"], subs.info["PlayResY"] = str(ASS_PLAY_RES[0]), str(ASS_PLAY_RES[1])
    subs.styles = {ASS_STYLE_NAME: _ass_style(karaoke)}
    if speakers is not None:
        subs.styles.update(_speaker_styles(karaoke, speakers))
    for caption in captions:
        text = _karaoke_text(caption) if karaoke else r"\N".join(_ass_text(x) for x in caption.lines)
        style = caption.speaker if speakers is not None and caption.speaker in subs.styles else ASS_STYLE_NAME
        subs.append(
            pysubs2.SSAEvent(
                start=_ass_centiseconds(caption.start) * 10,
                end=_ass_centiseconds(caption.end) * 10,
                text=text,
                style=style,
                name=caption.speaker or "",
            )
        )
    return subs.to_string("ass")


# --------------------------------------------------------------------------- VTT / CSV / JSON


def _vtt_timestamp(seconds: float) -> str:
    """HH:MM:SS.mmm with the '.' decimal marker WebVTT requires."""
    hours, rest = divmod(to_ms(seconds), 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


def _vtt_escape(text: str) -> str:
    """'&', '<' and '>' are markup in cue text; escaping '>' also keeps '-->' out of cues."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _vtt_lines(caption: Caption) -> list[str]:
    """Escaped cue lines; a speaker's cue opens with a '<v Name>' voice span (closed at the cue's end)."""
    lines = [_vtt_escape(line) for line in caption.lines]
    if caption.speaker and lines:
        lines[0] = f"<v {_vtt_escape(caption.speaker)}>{lines[0]}"
    return lines


def render_vtt(captions: Sequence[Caption]) -> str:
    """WebVTT written directly: pysubs2 does not escape cue text, which breaks on '<' or '&'."""
    cues = [
        "\n".join(
            [
                str(caption.index),
                f"{_vtt_timestamp(caption.start)} --> {_vtt_timestamp(caption.end)}",
                *_vtt_lines(caption),
            ]
        )
        for caption in captions
    ]
    return "\n\n".join(["WEBVTT", *cues]) + "\n"


def render_csv(words: Sequence[Word]) -> str:
    """One row per word for spreadsheets and scripts; the csv module quotes commas and quotes."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    with_speaker = any(word.speaker for word in words)  # multi-voice: a speaker column
    writer.writerow(["word", "start", "end", "confidence", *(["speaker"] if with_speaker else [])])
    for word in words:
        confidence = "" if word.confidence is None else str(word.confidence)
        speaker = [word.speaker or ""] if with_speaker else []
        writer.writerow([word.word, f"{word.start:.3f}", f"{word.end:.3f}", confidence, *speaker])
    return buffer.getvalue()


def _caption_records(captions: Sequence[Caption]) -> list[dict]:
    """Captions with [word_start, word_end) indexes into the words list they were grouped from."""
    records: list[dict] = []
    first = 0
    for caption in captions:
        last = first + len(caption.words)
        records.append(
            {
                "index": caption.index,
                "start": caption.start,
                "end": caption.end,
                "text": "\n".join(caption.lines),
                "lines": list(caption.lines),
                "word_start": first,
                "word_end": last,
            }
        )
        if caption.speaker:
            records[-1]["speaker"] = caption.speaker
        first = last
    return records


def render_json(words: Sequence[Word], captions: Sequence[Caption]) -> str:
    """Words plus caption boundaries, for callers that lay out their own captions."""
    payload = {
        "words": [word.model_dump() for word in words],
        "captions": _caption_records(captions),
    }
    return json.dumps(payload, ensure_ascii=False, indent=2) + "\n"


# --------------------------------------------------------------------------- dispatch


def _check_format(fmt: str) -> None:
    if fmt not in TIMING_FORMATS:
        raise ValueError(f"unknown timing format {fmt!r}; expected one of {', '.join(TIMING_FORMATS)}")


def render_timing_file(
    fmt: str,
    words: Sequence[Word],
    captions: Sequence[Caption],
    options: CaptionOptions,
    speakers: SpeakerOptions | None = None,
) -> str:
    """Render one format from already sanitised words and the captions grouped from them."""
    _check_format(fmt)
    if fmt == "srt":
        return render_srt(captions)
    if fmt == "vtt":
        return render_vtt(captions)
    if fmt == "ass":
        return render_ass(captions, karaoke=options.karaoke, speakers=speakers)
    if fmt == "csv":
        return render_csv(words)
    return render_json(words, captions)


def render_timing_files(
    words: Iterable[Word | dict],
    formats: Iterable[str],
    options: CaptionOptions,
    speakers: SpeakerOptions | None = None,
) -> dict[str, str]:
    """Sanitise and group once, then render each requested format: {format: file text}."""
    requested = list(formats)
    for fmt in requested:
        _check_format(fmt)
    clean = sanitize_words(words)
    captions = group_captions(clean, options, speakers)
    return {fmt: render_timing_file(fmt, clean, captions, options, speakers) for fmt in requested}
