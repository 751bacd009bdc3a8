"""Line breaking inside one caption: where lines break, and how a word too long for a line is cut.

Breaks follow broadcast rules (Netflix, BBC): after sentence then clause punctuation, before a
conjunction or preposition, never after an article or adjective when that can be helped, with the
lines balanced and the bottom one allowed to be longer. A small dynamic programme over break
positions picks the cheapest layout; grouping asks `layout_fits` whether words can share a caption.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

from ..media.punctuation import CLOSING_CHARS, OPENING_CHARS, ends_clause, ends_sentence, is_title, strip_closing
from ..words import Word
from .options import Limits


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


# A line may not end on these: an article, determiner, possessive or common adjective belongs with
# the noun after it (Netflix, BBC). A small English list; other languages only lose the preference.
BINDS_FORWARD = _word_set(
    "a an the this these those my your his her its our their some any no every each either neither "
    "another such both all few many much several more most less least other own same mr mrs ms dr prof st "
    "mt big small little large great good bad new old young long short high low full whole first last "
    "next only best better worst real main"
)
# A line may start with these: conjunctions and prepositions open the phrase that follows.
OPENS_PHRASE = _word_set(
    "and but or nor so yet for because although though while whereas unless until if when whenever where "
    "wherever since as than that which who whom whose of to in on at by with from into onto upon about "
    "above below over under after before between among through during without within along across against "
    "around behind beyond near toward towards via"
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


@dataclass(frozen=True)
class Piece:
    """A word, or one line-sized part of a word too long for a line, as laid out on a line."""

    word: int  # index into the caption's words
    text: str
    glued: bool  # continues the previous piece of the same word (no space before it)


class LabelledWord(Word):
    """The first word of a speaker's turn while captions are grouped: SRT prints the speaker's label
    before it, so line widths and reading speed count the label with the word."""

    label: str


def _bare(text: str) -> str:
    """Lower-case word without surrounding punctuation, for the word lists."""
    return text.strip(OPENING_CHARS + CLOSING_CHARS).lower()


@lru_cache(maxsize=16384)
def binds_forward(text: str) -> bool:
    core = strip_closing(text)
    return bool(core) and (core[-1].isalnum() and _bare(text) in BINDS_FORWARD or is_title(text))


@lru_cache(maxsize=16384)
def opens_phrase(text: str) -> bool:
    return _bare(text) in OPENS_PHRASE


@lru_cache(maxsize=16384)
def _penalty_after(text: str) -> int | None:
    """The break penalty that the word before a break decides alone, or None when the next word decides."""
    if ends_sentence(text):
        return BREAK_AFTER_SENTENCE
    if ends_clause(text):
        return BREAK_AFTER_CLAUSE
    if binds_forward(text):
        return BREAK_AFTER_BINDER
    if opens_phrase(text):
        return BREAK_AFTER_PHRASE_WORD
    return None


def break_penalty(before: str, after: str, smart: bool) -> int:
    """Cost of ending a line (or caption) after `before` when `after` comes next."""
    if not smart:
        return 0
    penalty = _penalty_after(before)
    if penalty is not None:
        return penalty
    return BREAK_BEFORE_PHRASE if opens_phrase(after) else BREAK_PLAIN


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


def label_of(word: Word) -> str:
    return word.label if isinstance(word, LabelledWord) else ""


def shown(word: Word) -> str:
    """The word as SRT prints it: with the speaker label in front of a turn's first word."""
    return label_of(word) + word.word


def _pieces(words: Sequence[Word], width: int) -> list[Piece]:
    """Words as line pieces; a speaker label stays in its word's first piece."""
    pieces: list[Piece] = []
    for index, word in enumerate(words):
        label = label_of(word)
        if len(label) + len(word.word) <= width:
            pieces.append(Piece(word=index, text=label + word.word, glued=False))
        else:
            parts = _word_parts(word.word, width, width - len(label))
            pieces.extend(
                Piece(word=index, text=label + part if position == 0 else part, glued=position > 0)
                for position, part in enumerate(parts)
            )
    return pieces


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
    words: Sequence[Word], pieces: Sequence[Piece], count: int, limits: Limits, allow_binder: bool
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
            penalties[end] = break_penalty(before, after, limits.smart)
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
        bound = position > 0 and not piece.glued and binds_forward(words[pieces[position - 1].word].word)
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


def _line_count(words: Sequence[Word], pieces: Sequence[Piece], limits: Limits) -> tuple[int, bool]:
    """Lines the caption takes and whether breaks after articles or adjectives are needed for that."""
    if limits.smart:
        count = _unbroken_line_count(words, pieces, limits.max_chars)
        if count is not None and count <= limits.max_lines:
            return count, False
    return _greedy_line_count(pieces, limits.max_chars), True


def caption_layout(words: Sequence[Word], limits: Limits) -> tuple[tuple[Piece, ...], ...]:
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


def layout_fits(words: Sequence[Word], limits: Limits) -> bool:
    """Whether these words fit the caption's lines without breaking after an article or adjective."""
    pieces = _pieces(words, limits.max_chars)
    count, needs_binder = _line_count(words, pieces, limits)
    return count <= limits.max_lines and not (needs_binder and limits.smart and count > 1)


def line_text(pieces: Sequence[Piece]) -> str:
    return "".join(piece.text if piece.glued or n == 0 else " " + piece.text for n, piece in enumerate(pieces))
