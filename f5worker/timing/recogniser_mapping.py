"""Known-text alignment: subtitles show the text we asked the TTS to say, timed by what a recogniser heard.

A recogniser rewrites what it hears ("2014." becomes "twenty fourteen", "there" becomes "their", fillers
appear, numbers lose their times). For TTS output the spoken text is already known, so the caller's
spelling and punctuation are kept and only the *times* are borrowed from the recogniser:

1. both sides are reduced to comparison keys (``normalize_token``) and paired in time order: the most
   equal keys, and among equally many the pairs nearest the word's even-rate time (not difflib's
   first longest block, which gave a phrase written three times and heard once the wrong copy);
2. equal runs and same-length substitutions copy times word for word ("matched");
3. other substitution blocks share their time span by character length ("interpolated");
4. original words still without a time are spread over the gap between their timed neighbours
   ("interpolated"); recognised words with no original counterpart are dropped ("unmatched");
5. a final pass in whole milliseconds makes the times ordered, non-overlapping and inside the audio,
   with no word shorter than ``MIN_WORD_S`` nor starting with another where the audio has room.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..media.word_order import ordered_ends, ordered_starts
from ..words import Word
from .transcript import TimedWord

# Hesitations a recogniser may "hear" in synthetic speech; dropped before alignment unless the text has them,
# so a filler next to a misheard word cannot drag that word's timing block wider.
FILLER_WORDS = frozenset({"uh", "um", "umm", "uhm", "er", "erm", "ah", "eh", "hm", "hmm", "mm", "mhm"})

# No word is shorter than this where the audio has room: a caption flashing by for 0 ms is a bug,
# and players and muxers (ffmpeg's "Non-monotonous DTS") choke on cues that start together.
MIN_WORD_S = 0.040

# Times beyond this many seconds (about 31 years) are garbage, and would overflow millisecond conversion.
MAX_SECONDS = 1e9

# Unicode general-category initials that carry spoken content: letters, combining marks, digits.
_SPOKEN_CATEGORIES = frozenset("LMN")


@dataclass(frozen=True)
class RecognisedWord:
    """A recogniser word whose times may be unknown (whisperx leaves e.g. "2014." or "£13.60" untimed)."""

    word: str
    start: float | None
    end: float | None
    confidence: float | None = None


@dataclass(frozen=True)
class AlignmentStats:
    """How each original word got its time, so callers can log or reject poor alignments."""

    matched: int
    interpolated: int
    unmatched: int

    def as_dict(self) -> dict[str, int]:
        """Plain counts for JSON job output."""
        return {"matched": self.matched, "interpolated": self.interpolated, "unmatched": self.unmatched}


@dataclass(frozen=True)
class _Heard:
    """A usable recognised word with its comparison key and validated times."""

    key: str
    start: float | None
    end: float | None
    confidence: float | None

    @property
    def timed(self) -> bool:
        """Only a word with both ends known can anchor an original word."""
        return self.start is not None and self.end is not None


@dataclass(frozen=True)
class _Slot:
    """The provisional time of one original word, in seconds, before the final ordering pass."""

    start: float
    end: float
    confidence: float | None = None
    matched: bool = False


# --------------------------------------------------------------------------- tokens


def tokenize_known_text(text: str) -> list[str]:
    """Whitespace-separated tokens with punctuation attached, because each becomes one subtitle word."""
    return text.split()


def normalize_token(token: str) -> str:
    """Comparison key: NFKC, casefolded, keeping only letters, combining marks and digits.

    Everything else (punctuation, quotes, every apostrophe variant, currency signs, hyphens, decimal
    points) is removed, so "Don't", "don’t" and "dont" all give "dont", "£13.60." gives "1360" and
    "twenty-one" gives "twentyone". A token of pure punctuation ("—", "...") gives "": it is not spoken.
    """
    folded = unicodedata.normalize("NFKC", token).casefold()
    return "".join(ch for ch in folded if unicodedata.category(ch)[0] in _SPOKEN_CATEGORIES)


def _weight(key: str) -> int:
    """Spoken length estimate for sharing time; unspoken punctuation tokens get none."""
    return len(key)


# --------------------------------------------------------------------------- recogniser input


def _finite_or_none(value: Any) -> float | None:
    """Missing, NaN or absurd values mean 'unknown', which is how whisperx reports unaligned words."""
    if value is None:
        return None
    number = float(value)
    return number if abs(number) <= MAX_SECONDS else None


def _as_recognised(item: Word | RecognisedWord | Mapping[str, Any]) -> RecognisedWord:
    """Accept our own types or raw recogniser dicts (whisperx calls the confidence ``score``)."""
    if isinstance(item, RecognisedWord):
        return item
    if isinstance(item, Word):
        return RecognisedWord(word=item.word, start=item.start, end=item.end, confidence=item.confidence)
    confidence = item.get("confidence", item.get("score"))
    return RecognisedWord(
        word=str(item.get("word", "")), start=item.get("start"), end=item.get("end"), confidence=confidence
    )


def _heard(word: RecognisedWord) -> _Heard:
    """Validated times: both known and finite, else neither, and never ending before starting."""
    start, end = _finite_or_none(word.start), _finite_or_none(word.end)
    if start is None or end is None:
        start = end = None
    else:
        end = max(end, start)
    return _Heard(normalize_token(word.word), start, end, _finite_or_none(word.confidence))


def _usable_recognised(
    recognised: Sequence[Word | RecognisedWord | Mapping[str, Any]], original_keys: set[str]
) -> tuple[list[_Heard], int]:
    """Recognised words worth aligning, and how many stray fillers were dropped.

    Unspoken tokens (a lone "—") are ignored outright: they are not words, so not counted as unmatched.
    """
    usable: list[_Heard] = []
    dropped = 0
    for item in recognised:
        heard = _heard(_as_recognised(item))
        if heard.key in FILLER_WORDS and heard.key not in original_keys:
            dropped += 1
        elif heard.key:
            usable.append(heard)
    return usable, dropped


# --------------------------------------------------------------------------- anchoring


def _spread(weights: Sequence[int], left: float, right: float) -> list[tuple[float, float]]:
    """Consecutive (start, end) pairs sharing [left, right] by weight; an empty or inverted span gives points."""
    span = max(right - left, 0.0)
    total = sum(weights)
    pieces: list[tuple[float, float]] = []
    cursor = 0
    for weight in weights:
        start = left + (span * cursor / total if total else 0.0)
        cursor += weight
        end = left + (span * cursor / total if total else 0.0)
        pieces.append((start, end))
    return pieces


def _pair_one_to_one(slots: list[_Slot | None], targets: Sequence[int], heard: Sequence[_Heard]) -> None:
    """Equal runs and same-length substitutions: each original word takes its counterpart's time."""
    for position, word in zip(targets, heard, strict=True):
        if word.timed:
            slots[position] = _Slot(word.start, word.end, word.confidence, matched=True)


def _share_block(
    slots: list[_Slot | None], targets: Sequence[int], heard: Sequence[_Heard], keys: Sequence[str]
) -> None:
    """Splits, merges and rewrites: the block's heard span is shared by the original words' lengths."""
    timed = [word for word in heard if word.timed]
    if not timed:
        return
    left = min(word.start for word in timed)
    right = max(word.end for word in timed)
    pieces = _spread([_weight(keys[position]) for position in targets], left, right)
    for position, (start, end) in zip(targets, pieces, strict=True):
        slots[position] = _Slot(start, end)


def _expected_times(keys: Sequence[str], spoken: Sequence[int], tail: float) -> np.ndarray:
    """Where each spoken original word would be if speech ran at an even rate (by character length)."""
    lengths = np.array([max(len(keys[position]), 1) for position in spoken], dtype=np.float64)
    before = np.cumsum(lengths) - lengths / 2
    return before / lengths.sum() * tail if lengths.size else lengths


def _matched_pairs(keys: Sequence[str], spoken: Sequence[int], heard: Sequence[_Heard], tail: float) -> list:
    """Equal-key pairs (original index in ``spoken``, heard index), in order, chosen time-aware.

    A longest-common-subsequence table whose score is the number of pairs plus a tie-breaker below
    one in total that prefers pairs whose heard time is near the word's even-rate position. So the
    most words are matched, and of equally many the ones at the plausible time: when "Say it again."
    is written three times and heard once (at the end), the heard words go to the third copy, not
    to the first, as difflib's first longest block would have it.
    """
    n, m = len(spoken), len(heard)
    if not n or not m:
        return []
    expected = _expected_times(keys, spoken, tail)
    heard_keys = np.array([word.key for word in heard], dtype=object)
    heard_times = np.array([word.start if word.timed else np.nan for word in heard], dtype=np.float64)
    window = max(2.0, 0.1 * tail)
    bonus_scale = 1.0 / (min(n, m) + 1)
    table = np.zeros((n + 1, m + 1), dtype=np.float64)
    for row in range(1, n + 1):
        equal = heard_keys == keys[spoken[row - 1]]
        closeness = np.clip(1.0 - np.abs(heard_times - expected[row - 1]) / window, 0.0, 1.0)
        score = np.where(equal, 1.0 + bonus_scale * np.nan_to_num(closeness, nan=0.0), -np.inf)
        best = np.maximum(table[row - 1, 1:], table[row - 1, :-1] + score)
        table[row, 1:] = np.maximum.accumulate(np.maximum(best, 0.0))
    pairs = []
    row, column = n, m
    while row > 0 and column > 0:
        if table[row, column] == table[row, column - 1]:
            column -= 1
        elif table[row, column] == table[row - 1, column]:
            row -= 1
        else:
            pairs.append((row - 1, column - 1))
            row, column = row - 1, column - 1
    return pairs[::-1]


def _blocks(pairs: list[tuple[int, int]], n: int, m: int):
    """difflib-style opcodes (tag, a_start, a_end, b_start, b_end) from ordered matched pairs."""
    a_at = b_at = 0
    for a, b in [*pairs, (n, m)]:
        if a > a_at or b > b_at:
            tag = "replace" if a > a_at and b > b_at else ("delete" if a > a_at else "insert")
            yield tag, a_at, a, b_at, b
        if (a, b) != (n, m):
            yield "equal", a, a + 1, b, b + 1
        a_at, b_at = a + 1, b + 1


def _anchor_slots(keys: Sequence[str], heard: Sequence[_Heard], tail: float) -> tuple[list[_Slot | None], int]:
    """Times taken from the recogniser per original word (None where it gave none), plus insertions."""
    slots: list[_Slot | None] = [None] * len(keys)
    spoken = [position for position, key in enumerate(keys) if key]
    inserted = 0
    for tag, a_start, a_end, b_start, b_end in _blocks(
        _matched_pairs(keys, spoken, heard, tail), len(spoken), len(heard)
    ):
        targets, block = spoken[a_start:a_end], heard[b_start:b_end]
        if tag == "insert":
            inserted += len(block)
        elif len(targets) == len(block):
            _pair_one_to_one(slots, targets, block)
        elif tag == "replace":
            _share_block(slots, targets, block, keys)
    return slots, inserted


# --------------------------------------------------------------------------- gap filling


def _last_end(slots: Sequence[_Slot | None]) -> float:
    """Where trailing untimed words go when the audio length is unknown."""
    ends = [slot.end for slot in slots if slot is not None]
    return max(ends, default=0.0)


def _fill_gaps(slots: list[_Slot | None], keys: Sequence[str], duration: float | None) -> list[_Slot]:
    """Untimed runs share the gap between their timed neighbours (or 0 / the audio end) by length."""
    tail = duration if duration is not None else _last_end(slots)
    filled = list(slots)
    position = 0
    while position < len(filled):
        if filled[position] is not None:
            position += 1
            continue
        run_end = position
        while run_end < len(filled) and filled[run_end] is None:
            run_end += 1
        left = filled[position - 1].end if position > 0 else 0.0
        right = filled[run_end].start if run_end < len(filled) else tail
        pieces = _spread([_weight(key) for key in keys[position:run_end]], left, right)
        for offset, (start, end) in enumerate(pieces):
            filled[position + offset] = _Slot(start, end)
        position = run_end
    return [slot for slot in filled if slot is not None]  # every None was replaced above


# --------------------------------------------------------------------------- final ordering


def _check_duration(duration: float | None) -> None:
    """A negative or non-finite audio length is a caller bug, not something to silently clamp to."""
    if duration is not None and not 0 <= duration <= MAX_SECONDS:
        raise ValueError(f"duration must be between 0 and {MAX_SECONDS:g} seconds, got {duration!r}")


def _duration_limit_ms(duration: float | None) -> int | None:
    """Largest whole millisecond not after the audio end, so rounding can never step past it."""
    if duration is None:
        return None
    limit = math.floor(duration * 1000 + 1e-6)
    while limit > 0 and limit / 1000 > duration:
        limit -= 1
    return max(limit, 0)


def settle_words(
    tokens: Sequence[str],
    spans: Sequence[tuple[float, float]],
    timed_by: Sequence[str],
    confidences: Sequence[float | None] | None = None,
    duration: float | None = None,
    min_word_s: float = MIN_WORD_S,
) -> list[TimedWord]:
    """Final words from provisional (start, end) seconds: whole ms, ordered, no overlap, no word
    shorter than ``min_word_s`` or starting with another, all inside ``duration``."""
    _check_duration(duration)
    limit = _duration_limit_ms(duration)
    min_ms = round(min_word_s * 1000)
    starts = ordered_starts([start for start, _end in spans], min_ms, limit)
    ends = ordered_ends([end for _start, end in spans], starts, min_ms, limit)
    confidences = confidences or [None] * len(tokens)
    return [
        TimedWord(word=token, start=start / 1000, end=end / 1000, confidence=confidence, timed_by=method)
        for token, start, end, confidence, method in zip(tokens, starts, ends, confidences, timed_by, strict=True)
    ]


def known_text_spans(
    text: str,
    recognised: Sequence[Word | RecognisedWord | Mapping[str, Any]],
    duration: float | None = None,
) -> tuple[list[str], list[_Slot], AlignmentStats]:
    """Tokens of ``text`` and their provisional times from the recogniser (before :func:`settle_words`)."""
    _check_duration(duration)
    tokens = tokenize_known_text(text)
    if not tokens:
        return [], [], AlignmentStats(matched=0, interpolated=0, unmatched=0)
    keys = [normalize_token(token) for token in tokens]
    heard, dropped = _usable_recognised(recognised, set(keys))
    tail = duration if duration is not None else max((w.end for w in heard if w.timed), default=0.0)
    anchored, inserted = _anchor_slots(keys, heard, tail)
    matched = sum(1 for slot in anchored if slot is not None and slot.matched)
    slots = _fill_gaps(anchored, keys, duration)
    stats = AlignmentStats(matched=matched, interpolated=len(tokens) - matched, unmatched=inserted + dropped)
    return tokens, slots, stats


# --------------------------------------------------------------------------- entry point


def align_known_text(
    text: str,
    recognised: Sequence[Word | RecognisedWord | Mapping[str, Any]],
    duration: float | None = None,
    min_word_s: float = MIN_WORD_S,
) -> tuple[list[TimedWord], AlignmentStats]:
    """One timed word per token of ``text``, spelled exactly as given, timed from the recogniser's words.

    ``duration`` (seconds of audio) bounds every time and gives trailing unheard words room; without it
    they sit at the last heard end. Times are whole milliseconds, ordered and non-overlapping, and each
    word lasts at least ``min_word_s`` where the audio has room. ``timed_by`` says "matched" for a word
    that took a recognised word's time and "interpolated" for one placed between its neighbours.
    """
    tokens, slots, stats = known_text_spans(text, recognised, duration)
    if not tokens:
        return [], stats
    words = settle_words(
        tokens,
        [(slot.start, slot.end) for slot in slots],
        ["matched" if slot.matched else "interpolated" for slot in slots],
        [slot.confidence if slot.matched else None for slot in slots],
        duration,
        min_word_s,
    )
    return words, stats
