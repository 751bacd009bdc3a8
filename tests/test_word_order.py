"""Shared ordering of word times: the guarantees both the caption writer and known-text alignment rely on."""

from __future__ import annotations

import math
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from f5worker.media.word_order import ordered_ends, ordered_starts, to_ms

SECONDS = st.one_of(st.none(), st.just(math.nan), st.just(math.inf), st.floats(-5, 60, allow_nan=False))
SPANS = st.lists(st.tuples(SECONDS, SECONDS), max_size=40)


def test_missing_and_backward_starts_follow_the_previous_word():
    assert ordered_starts([0.5, None, 0.2, math.nan, 1.0, -3.0]) == [500, 500, 500, 500, 1000, 1000]


def test_a_stacked_word_takes_room_from_the_one_before():
    assert ordered_starts([0.0, 1.0, 1.0], min_ms=40) == [0, 960, 1000]
    assert ordered_starts([0.0, 0.0, 0.0], min_ms=40) == [0, 40, 80]


def test_short_audio_spaces_the_words_evenly():
    assert ordered_starts([0.0, 0.0, 0.0, 0.0], min_ms=40, limit=100) == [0, 25, 50, 75]


def test_ends_stop_at_the_next_start_and_the_audio_end():
    starts = [0, 100, 150]
    assert ordered_ends([0.5, None, 9.0], starts) == [100, 100, 9000]
    assert ordered_ends([0.01, 0.11, 9.0], starts, min_ms=40, limit=170) == [40, 140, 170]


@settings(max_examples=300, deadline=None)
@given(SPANS, st.sampled_from([0, 40]), st.one_of(st.none(), st.integers(0, 70_000)))
def test_times_are_ordered_spaced_and_inside_the_audio(spans, min_ms, limit):
    starts = ordered_starts([start for start, _ in spans], min_ms, limit)
    ends = ordered_ends([end for _, end in spans], starts, min_ms, limit)
    assert len(starts) == len(ends) == len(spans)
    roomy = limit is None or len(spans) * min_ms <= limit
    for start, following in pairwise(starts):
        assert 0 <= start <= following
        assert following - start >= min_ms or not roomy
    for position, (start, end) in enumerate(zip(starts, ends, strict=True)):
        assert start <= end
        assert limit is None or end <= max(limit, start)
        if position + 1 < len(starts):
            assert end <= starts[position + 1]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0, 60, allow_nan=False), max_size=30))
def test_ordered_finite_starts_are_kept_to_the_millisecond(starts):
    ascending = sorted(starts)
    assert ordered_starts(ascending) == [to_ms(start) for start in ascending]
