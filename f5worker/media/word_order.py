"""Word times in whole milliseconds, in spoken order: what every caption format and player needs.

Recognisers and aligners hand back times that go backwards, overlap, are missing or are NaN. Both
the caption writer (any words) and known-text alignment (the words of the text we spoke, each at
least a minimum length, inside the audio) put them in order here, in one pass over starts and one
over ends. Starts are kept where they can be, since aligners place starts more reliably than ends.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def to_ms(seconds: float) -> int:
    """Whole milliseconds: the one resolution every timing format can represent."""
    return round(seconds * 1000)


def _known(seconds: float | None) -> bool:
    return seconds is not None and math.isfinite(seconds)


def _take_room_from_earlier(starts: list[int], min_ms: int) -> None:
    """A word stacked on the next one moves earlier, when the word before leaves it room."""
    for position in range(len(starts) - 2, -1, -1):
        earlier = starts[position + 1] - min_ms
        floor = starts[position - 1] + min_ms if position else 0
        if starts[position] > earlier >= floor:
            starts[position] = earlier


def _push_on(starts: list[int], min_ms: int) -> None:
    """Forward pass: each start at least ``min_ms`` after the previous one, never negative."""
    previous = -min_ms
    for position, start in enumerate(starts):
        starts[position] = max(start, previous + min_ms, 0)
        previous = starts[position]


def _pull_back(starts: list[int], ceiling: float, min_ms: int) -> None:
    """Backward pass: each start at least ``min_ms`` before the next (and not after ``ceiling``)."""
    for position in range(len(starts) - 1, -1, -1):
        starts[position] = int(min(starts[position], ceiling))
        ceiling = starts[position] - min_ms


def ordered_starts(starts: Sequence[float | None], min_ms: int = 0, limit: int | None = None) -> list[int]:
    """Start times in ms: never negative, never decreasing, at least ``min_ms`` apart, inside ``limit``.

    A missing or non-finite start takes the previous word's; a start before the previous one
    moves up to it (a recogniser's backward times never reorder words). With ``min_ms``, a word
    stacked on the next one first takes room from the word before it, then any word still too
    close is pushed later. With ``limit`` (the audio's length in ms) every word starts at least
    ``min_ms`` before it; audio too short for that gets the words evenly spaced, the only case in
    which starts come closer than ``min_ms``.
    """
    ordered: list[int] = []
    previous = 0
    for start in starts:
        previous = max(previous, to_ms(start)) if _known(start) else previous
        ordered.append(previous)
    _take_room_from_earlier(ordered, min_ms)
    _push_on(ordered, min_ms)
    if limit is not None and ordered and ordered[-1] > limit - min_ms:
        _pull_back(ordered, limit - min_ms, min_ms)
        if ordered[0] < 0:
            step = limit / len(ordered)
            ordered = [min(round(position * step), limit) for position in range(len(ordered))]
    return ordered


def ordered_ends(
    ends: Sequence[float | None], starts: Sequence[int], min_ms: int = 0, limit: int | None = None
) -> list[int]:
    """End times in ms: at least the start (and ``min_ms`` after it where there is room), never into
    the next word, never past ``limit``. A missing or non-finite end is the word's start.

    Trimming the earlier word (rather than pushing the later one) keeps start times, and stops one
    bad time from shifting every word after it.
    """
    bounded: list[int] = []
    for position, (end, start) in enumerate(zip(ends, starts, strict=True)):
        value = max(start + min_ms, to_ms(end) if _known(end) else start)
        if position + 1 < len(starts):
            value = min(value, starts[position + 1])
        if limit is not None:
            value = min(value, limit)
        bounded.append(max(value, start))
    return bounded
