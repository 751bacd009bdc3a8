"""The word-by-word caption grouping used before issue 22: fill a caption until a word does not fit
(or would make it unreadable), then close it at its last sentence end, clause end or phrase start.

Jobs use `group.cheapest_groups`, chosen over the whole run; this one is kept as the reference it is
measured against (bench/subtitles.py prints both: orphan cues and cost) and tested against (never
costlier). Pass it as ``group_captions(..., grouping=greedy_groups)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..media.punctuation import ends_clause, ends_sentence
from ..media.word_order import to_ms
from ..words import Word
from .group import duration_ms, fits, reading_ms, shown_length
from .linebreak import binds_forward, opens_phrase, shown
from .options import Limits


def _room_ms(words: Sequence[Word], next_start: int | None, limits: Limits) -> int:
    """The most screen time these words could get as one caption before the next one starts."""
    start = to_ms(words[0].start)
    latest = start + max(limits.max_ms, duration_ms(words))
    if next_start is not None:
        latest = min(latest, next_start - limits.gap_ms)
    return max(latest, to_ms(words[-1].end)) - start


def _is_tiny(head: Sequence[Word], whole: Sequence[Word], limits: Limits) -> bool:
    """A head this short would flash by as an orphan caption, so no break is made for it."""
    threshold = min(limits.max_chars / 2, shown_length(whole) / 3)
    return shown_length(head) < threshold


def _last_break(words: Sequence[Word], limits: Limits, is_break: Callable[[int], bool]) -> int:
    """Word count of the longest non-tiny head ending at a break point, or 0 when none."""
    for count in range(len(words), 0, -1):
        if is_break(count) and not _is_tiny(words[:count], words, limits):
            return count
    return 0


def _split_preferred(words: Sequence[Word], following: Word, limits: Limits) -> tuple[list[Word], list[Word]]:
    """Close a full caption at its last sentence end, else clause end, else before a conjunction or
    preposition; never right after an article or adjective when that can be helped."""
    texts = [*(word.word for word in words), following.word]
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
    return ends_sentence(words[-1].word) and shown_length(words) >= limits.max_chars


def _must_close(current: list[Word], word: Word, after: int | None, limits: Limits) -> bool:
    """Close the caption before `word` when it would not fit, or would make a readable caption unreadable.

    The reading-speed split is made only when the caption closed here could stay up for the minimum
    duration: a split that leaves a flash of a caption helps nobody.
    """
    candidate = [*current, word]
    length = shown_length(current)
    if not fits(candidate, limits, length + 1 + len(shown(word))):
        return True
    room = _room_ms(current, to_ms(word.start), limits)
    if room < limits.min_ms or reading_ms(current, limits, length) > room:
        return False
    return reading_ms(candidate, limits, length + 1 + len(shown(word))) > _room_ms(candidate, after, limits)


def greedy_groups(run: Sequence[Word], next_start: int | None, limits: Limits) -> list[list[Word]]:
    """Group words that have no long pause between them, respecting every caption limit, word by word."""
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
