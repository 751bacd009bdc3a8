"""Known-text alignment keeps the caller's words and borrows only times from whatever the recogniser heard."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from f5worker.timing.recogniser_mapping import (
    FILLER_WORDS,
    AlignmentStats,
    RecognisedWord,
    align_known_text,
    normalize_token,
    tokenize_known_text,
)
from f5worker.words import Word


def heard(*items: tuple[str, float | None, float | None]) -> list[RecognisedWord]:
    """Recogniser output from (word, start, end) triples; None times mean 'left unaligned'."""
    return [RecognisedWord(word=text, start=start, end=end) for text, start, end in items]


def spaced(text: str, step: float = 0.5, length: float = 0.4) -> list[Word]:
    """Evenly timed recogniser words, so expected times are easy to read off."""
    return [Word(word=token, start=n * step, end=n * step + length) for n, token in enumerate(text.split())]


def spans(words: list[Word]) -> list[tuple[float, float]]:
    return [(word.start, word.end) for word in words]


def assert_well_formed(words: list[Word], tokens: list[str], duration: float | None = None) -> None:
    """The output contract every alignment must meet, whatever the recogniser did."""
    assert [word.word for word in words] == tokens
    previous_end = 0.0
    for word in words:
        assert math.isfinite(word.start) and math.isfinite(word.end)
        assert word.start >= previous_end
        assert word.end >= word.start
        if duration is not None:
            assert word.end <= duration
        for seconds in (word.start, word.end):
            assert round(seconds * 1000) == pytest.approx(seconds * 1000, rel=1e-12, abs=1e-6)
        previous_end = word.end


# --------------------------------------------------------------------------- tokens


def test_tokenize_splits_on_any_whitespace_and_keeps_punctuation():
    assert tokenize_known_text("  Hello,\tworld!\n“Quoted” £13.60.  ") == ["Hello,", "world!", "“Quoted”", "£13.60."]
    assert tokenize_known_text(" \n ") == []


@pytest.mark.parametrize(
    ("token", "key"),
    [
        ("Don't", "dont"),
        ("don’t", "dont"),
        ("DONT", "dont"),
        ("£13.60.", "1360"),
        ("2014.", "2014"),
        ("twenty-one", "twentyone"),
        ("“Hello,”", "hello"),
        ("Straße", "strasse"),
        ("café", "café"),
        ("—", ""),
        ("...", ""),
    ],
)
def test_normalize_token(token, key):
    assert normalize_token(token) == key


def test_stats_as_dict():
    assert AlignmentStats(matched=3, interpolated=2, unmatched=1).as_dict() == {
        "matched": 3,
        "interpolated": 2,
        "unmatched": 1,
    }


# --------------------------------------------------------------------------- alignment cases


def test_exact_match_copies_times_and_confidence():
    recognised = [Word(word="hello", start=0.1, end=0.4, confidence=0.9), Word(word="world", start=0.5, end=0.9)]
    words, stats = align_known_text("Hello, world!", recognised)
    assert [word.model_dump() for word in words] == [
        {"word": "Hello,", "start": 0.1, "end": 0.4, "confidence": 0.9, "timed_by": "matched"},
        {"word": "world!", "start": 0.5, "end": 0.9, "confidence": None, "timed_by": "matched"},
    ]
    assert stats == AlignmentStats(matched=2, interpolated=0, unmatched=0)


def test_case_and_punctuation_differences_still_match_and_keep_original_spelling():
    text = "“Don’t STOP,” she said — quietly."
    recognised = spaced("don't stop she said quietly")
    words, stats = align_known_text(text, recognised)
    assert_well_formed(words, tokenize_known_text(text))
    assert [w.word for w in words] == ["“Don’t", "STOP,”", "she", "said", "—", "quietly."]
    assert spans(words)[:4] == [(0.0, 0.4), (0.5, 0.9), (1.0, 1.4), (1.5, 1.9)]
    assert (words[4].start, words[4].end) == (1.9, 1.94)  # unspoken dash: the minimum length after "said"
    assert words[4].timed_by == "interpolated"
    assert spans(words)[5] == (2.0, 2.4)
    assert stats == AlignmentStats(matched=5, interpolated=1, unmatched=0)


def test_dropped_word_is_interpolated_inside_the_gap():
    recognised = heard(("the", 0.0, 0.2), ("cat", 0.6, 0.9))
    words, stats = align_known_text("the black cat", recognised)
    assert spans(words) == [(0.0, 0.2), (0.2, 0.6), (0.6, 0.9)]
    assert words[1].confidence is None
    assert stats == AlignmentStats(matched=2, interpolated=1, unmatched=0)


def test_dropped_words_share_the_gap_by_length():
    recognised = heard(("a", 0.0, 1.0), ("d", 4.0, 5.0))
    words, _ = align_known_text("a b ccc d", recognised)
    assert spans(words) == [(0.0, 1.0), (1.0, 1.75), (1.75, 4.0), (4.0, 5.0)]


def test_dropped_word_with_no_gap_takes_the_minimum_length_from_the_word_before():
    recognised = heard(("one", 0.0, 0.5), ("three", 0.5, 1.0))
    words, stats = align_known_text("one two three", recognised)
    assert spans(words) == [(0.0, 0.46), (0.46, 0.5), (0.5, 1.0)]
    assert stats.interpolated == 1


def test_split_number_takes_the_whole_block_span():
    recognised = heard(("born", 0.0, 0.3), ("in", 0.4, 0.5), ("twenty", 0.6, 1.0), ("fourteen", 1.0, 1.6))
    words, stats = align_known_text("born in 2014.", recognised)
    assert words[2].word == "2014."
    assert spans(words)[2] == (0.6, 1.6)
    assert stats == AlignmentStats(matched=2, interpolated=1, unmatched=0)


def test_merged_words_share_the_heard_word_by_length():
    recognised = heard(("in", 0.0, 0.2), ("newyork", 0.3, 1.3), ("today", 1.4, 1.8))
    words, stats = align_known_text("in New York today", recognised)
    assert [w.word for w in words] == ["in", "New", "York", "today"]
    assert spans(words) == [(0.0, 0.2), (0.3, 0.729), (0.729, 1.3), (1.4, 1.8)]
    assert stats == AlignmentStats(matched=2, interpolated=2, unmatched=0)


def test_misheard_words_map_one_to_one():
    recognised = heard(("their", 0.0, 0.3), ("is", 0.4, 0.5), ("won", 0.6, 0.9), ("left", 1.0, 1.3))
    words, stats = align_known_text("There is one left.", recognised)
    assert [w.word for w in words] == ["There", "is", "one", "left."]
    assert spans(words) == [(0.0, 0.3), (0.4, 0.5), (0.6, 0.9), (1.0, 1.3)]
    assert stats == AlignmentStats(matched=4, interpolated=0, unmatched=0)


def test_inserted_fillers_are_dropped_and_counted():
    recognised = heard(("I", 0.0, 0.1), ("um", 0.2, 0.4), ("think", 0.5, 0.8), ("uh", 0.9, 1.0), ("so", 1.1, 1.3))
    words, stats = align_known_text("I think so.", recognised)
    assert spans(words) == [(0.0, 0.1), (0.5, 0.8), (1.1, 1.3)]
    assert stats == AlignmentStats(matched=3, interpolated=0, unmatched=2)


def test_filler_next_to_a_mishearing_does_not_widen_its_block():
    recognised = heard(("go", 0.0, 0.2), ("um", 0.3, 1.0), ("their", 1.1, 1.4))
    words, stats = align_known_text("go there", recognised)
    assert spans(words) == [(0.0, 0.2), (1.1, 1.4)]
    assert stats == AlignmentStats(matched=2, interpolated=0, unmatched=1)


def test_filler_that_is_in_the_text_is_kept():
    words, stats = align_known_text("Um, hello.", heard(("um", 0.1, 0.3), ("hello", 0.4, 0.8)))
    assert spans(words) == [(0.1, 0.3), (0.4, 0.8)]
    assert stats == AlignmentStats(matched=2, interpolated=0, unmatched=0)


def test_other_inserted_words_are_dropped():
    recognised = heard(("it", 0.0, 0.2), ("is", 0.3, 0.4), ("really", 0.5, 0.9), ("fine", 1.0, 1.3))
    words, stats = align_known_text("it is fine", recognised)
    assert spans(words) == [(0.0, 0.2), (0.3, 0.4), (1.0, 1.3)]
    assert stats == AlignmentStats(matched=3, interpolated=0, unmatched=1)


def test_untimed_numbers_from_whisperx_dicts_are_interpolated():
    recognised = [
        {"word": "It", "start": 0.0, "end": 0.2, "score": 0.8},
        {"word": "cost"},
        {"word": "£13.60", "start": None, "end": None},
        {"word": "in", "start": 1.2, "end": 1.3, "score": 0.7},
        {"word": "2014."},
    ]
    words, stats = align_known_text("It cost £13.60 in 2014.", recognised, duration=2.0)
    assert_well_formed(words, ["It", "cost", "£13.60", "in", "2014."], 2.0)
    assert words[0].confidence == 0.8 and words[3].confidence == 0.7
    assert words[1].confidence is None and words[2].confidence is None
    # "cost" (4) and "1360" (4) share the gap 0.2..1.2; "2014" fills 1.3..duration.
    assert spans(words) == [(0.0, 0.2), (0.2, 0.7), (0.7, 1.2), (1.2, 1.3), (1.3, 2.0)]
    assert stats == AlignmentStats(matched=2, interpolated=3, unmatched=0)


def test_nan_times_count_as_untimed():
    recognised = heard(("a", 0.0, 0.5), ("b", math.nan, 1.0), ("c", 2.0, math.inf), ("d", 3.0, 3.5))
    words, stats = align_known_text("a b c d", recognised)
    assert spans(words) == [(0.0, 0.5), (0.5, 1.75), (1.75, 3.0), (3.0, 3.5)]
    assert stats == AlignmentStats(matched=2, interpolated=2, unmatched=0)


def test_missing_words_at_both_ends_use_zero_and_duration():
    recognised = heard(("middle", 1.0, 2.0))
    words, stats = align_known_text("first middle last", recognised, duration=4.0)
    assert spans(words) == [(0.0, 1.0), (1.0, 2.0), (2.0, 4.0)]
    assert stats == AlignmentStats(matched=1, interpolated=2, unmatched=0)


def test_trailing_missing_words_without_duration_sit_at_the_last_end():
    words, _ = align_known_text("middle last", heard(("middle", 1.0, 2.0)))
    assert spans(words) == [(1.0, 2.0), (2.0, 2.04)]  # the minimum length, even past the last heard end


def test_nothing_timed_with_duration_spreads_by_length():
    words, stats = align_known_text("aa b c", heard(("aa", None, None)), duration=2.0)
    assert spans(words) == [(0.0, 1.0), (1.0, 1.5), (1.5, 2.0)]
    assert stats == AlignmentStats(matched=0, interpolated=3, unmatched=0)


def test_nothing_timed_without_duration_gives_zero_times():
    words, stats = align_known_text("one two", [])
    assert spans(words) == [(0.0, 0.04), (0.04, 0.08)]
    assert stats == AlignmentStats(matched=0, interpolated=2, unmatched=0)


def test_empty_text():
    assert align_known_text("   ", spaced("hello")) == ([], AlignmentStats(matched=0, interpolated=0, unmatched=0))


def test_times_are_clamped_to_duration_and_rounded_to_ms():
    recognised = heard(("a", 0.10004, 0.5), ("b", 0.6, 1.9), ("c", 2.0, 2.6))
    words, _ = align_known_text("a b c", recognised, duration=1.2345)
    # "c" was heard after the end: it keeps the minimum length and "b" makes room for it
    assert spans(words) == [(0.1, 0.5), (0.6, 1.194), (1.194, 1.234)]


def test_overlapping_and_backwards_recogniser_times_are_repaired():
    recognised = heard(("a", 0.5, 1.5), ("b", 1.0, 2.0), ("c", 0.8, 0.7), ("d", -1.0, 3.0))
    words, _ = align_known_text("a b c d", recognised)
    assert_well_formed(words, ["a", "b", "c", "d"])
    assert spans(words)[0] == (0.5, 0.96)  # trimmed to the next start rather than pushing it


def test_repeated_words_align_to_the_right_occurrence():
    recognised = spaced("the cat saw the dog")
    words, stats = align_known_text("The cat saw the big dog.", recognised)
    assert spans(words) == [(0.0, 0.4), (0.5, 0.9), (1.0, 1.4), (1.5, 1.9), (1.9, 2.0), (2.0, 2.4)]
    assert stats == AlignmentStats(matched=5, interpolated=1, unmatched=0)


@pytest.mark.parametrize("duration", [-1.0, math.nan, math.inf, 1e300])
def test_invalid_duration_is_rejected(duration):
    with pytest.raises(ValueError, match="duration"):
        align_known_text("hello", [], duration=duration)


def test_filler_list_is_normalised():
    assert all(normalize_token(filler) == filler for filler in FILLER_WORDS)


# --------------------------------------------------------------------------- properties

VOCABULARY = [
    "the",
    "a",
    "cat",
    "dog",
    "there",
    "their",
    "one",
    "won",
    "New",
    "York",
    "don't",
    "Don’t",
    "café",
    "2014.",
    "£13.60",
    "42",
    "hello,",
    "world!",
    "“quoted”",
    "—",
    "...",
    "Straße",
    "日本",
]
NOISE = ["um", "uh", "like", "twenty", "fourteen", "the", "er", "x"]

texts = st.lists(st.sampled_from(VOCABULARY), min_size=0, max_size=25).map(" ".join)


@st.composite
def recogniser_outputs(draw, tokens: list[str]) -> list[RecognisedWord]:
    """Recogniser words derived from the text: dropped, inserted, substituted, split, merged or untimed."""
    spoken: list[str] = []
    position = 0
    while position < len(tokens):
        action = draw(st.sampled_from(["keep", "keep", "keep", "drop", "substitute", "split", "merge", "insert"]))
        token = tokens[position]
        if action == "keep":
            spoken.append(token)
        elif action == "substitute":
            spoken.append(draw(st.sampled_from(NOISE)))
        elif action == "split":
            spoken.extend(draw(st.lists(st.sampled_from(NOISE), min_size=2, max_size=3)))
        elif action == "merge" and position + 1 < len(tokens):
            spoken.append(normalize_token(token) + normalize_token(tokens[position + 1]))
            position += 1
        elif action == "insert":
            spoken.extend([draw(st.sampled_from(NOISE)), token])
        position += 1
    spoken.extend(draw(st.lists(st.sampled_from(NOISE), max_size=2)))
    return [draw(timed_or_not(text, index)) for index, text in enumerate(spoken)]


def timed_or_not(text: str, index: int):
    """A recognised word that is usually timed; times are placeholders re-laid monotonically later."""
    return st.booleans().map(
        lambda untimed: (
            RecognisedWord(text, None, None) if untimed else RecognisedWord(text, float(index), float(index), 0.5)
        )
    )


def lay_out_times(words: list[RecognisedWord], gaps: list[tuple[float, float]]) -> list[RecognisedWord]:
    """Give timed words increasing, non-overlapping times built from random (pause, length) pairs."""
    laid: list[RecognisedWord] = []
    clock = 0.0
    for word, (pause, length) in zip(words, gaps, strict=False):
        start = clock + pause
        clock = start + length
        timed = word.start is not None
        laid.append(RecognisedWord(word.word, start if timed else None, clock if timed else None, word.confidence))
    return laid


@st.composite
def scenarios(draw):
    text = draw(texts)
    tokens = tokenize_known_text(text)
    raw = draw(recogniser_outputs(tokens))
    pair = st.tuples(st.floats(0, 0.5), st.floats(0, 1.0))
    gaps = draw(st.lists(pair, min_size=len(raw), max_size=len(raw)))
    recognised = lay_out_times(raw, gaps)
    last_end = max((w.end for w in recognised if w.end is not None), default=0.0)
    duration = draw(st.one_of(st.none(), st.floats(0, last_end + 2.0)))
    return text, tokens, recognised, duration


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_alignment_contract_holds_for_derived_recogniser_output(scenario):
    text, tokens, recognised, duration = scenario
    words, stats = align_known_text(text, recognised, duration)
    assert_well_formed(words, tokens, duration)
    assert stats.matched + stats.interpolated == len(tokens)
    assert 0 <= stats.unmatched <= len(recognised)


loose_time = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True, min_value=None, max_value=None))
loose_words = st.lists(
    st.builds(RecognisedWord, st.sampled_from(VOCABULARY + NOISE), loose_time, loose_time, loose_time), max_size=15
)


@settings(max_examples=150, deadline=None)
@given(texts, loose_words, st.one_of(st.none(), st.floats(0, 1e9)))
def test_alignment_contract_holds_for_arbitrary_recogniser_times(text, recognised, duration):
    words, stats = align_known_text(text, recognised, duration)
    assert_well_formed(words, tokenize_known_text(text), duration)
    assert stats.matched + stats.interpolated == len(words)


def test_exact_output_is_fully_matched_for_any_vocabulary_text():
    tokens = VOCABULARY
    recognised = spaced(" ".join(tokens))
    words, stats = align_known_text(" ".join(tokens), recognised)
    spoken = sum(1 for token in tokens if normalize_token(token))
    assert stats == AlignmentStats(matched=spoken, interpolated=len(tokens) - spoken, unmatched=0)
    assert_well_formed(words, tokens)


# --------------------------------------------------------------------------- repeated phrases, minimum length


def assert_min_length_and_distinct_starts(words: list[Word], min_s: float = 0.04) -> None:
    for word in words:
        assert word.end - word.start >= min_s - 1e-9, word
    starts = [word.start for word in words]
    assert len(set(starts)) == len(starts)


def test_repeated_phrase_heard_once_times_the_copy_it_was_heard_in():
    text = "Say it again. Say it again. Say it again."
    recognised = heard(("say", 4.2, 4.5), ("it", 4.5, 4.7), ("again", 4.7, 5.3))
    words, stats = align_known_text(text, recognised, duration=6.0)
    assert_well_formed(words, tokenize_known_text(text), 6.0)
    assert spans(words)[6:] == [(4.2, 4.5), (4.5, 4.7), (4.7, 5.3)]
    assert [word.timed_by for word in words] == ["interpolated"] * 6 + ["matched"] * 3
    assert words[0].start == 0.0 and words[5].end <= 4.2
    assert_min_length_and_distinct_starts(words)
    assert stats == AlignmentStats(matched=3, interpolated=6, unmatched=0)


def test_repeated_phrase_heard_once_at_the_start_times_the_first_copy():
    text = "Say it again. Say it again. Say it again."
    recognised = heard(("say", 0.1, 0.4), ("it", 0.4, 0.6), ("again", 0.6, 1.2))
    words, _ = align_known_text(text, recognised, duration=6.0)
    assert spans(words)[:3] == [(0.1, 0.4), (0.4, 0.6), (0.6, 1.2)]
    assert_min_length_and_distinct_starts(words)


def test_more_matches_win_over_closer_times():
    """Time only breaks ties: a recogniser that heard every word keeps every match."""
    text = "a b a b"
    words, stats = align_known_text(text, spaced("a b a b", step=0.1, length=0.08), duration=60.0)
    assert stats.matched == 4
    assert spans(words) == [(0.0, 0.08), (0.1, 0.18), (0.2, 0.28), (0.3, 0.38)]


def test_words_heard_at_one_instant_are_spread_to_the_minimum_length():
    text = "one two three four five"
    recognised = heard(*[(token, 1.0, 1.0) for token in text.split()])
    words, _ = align_known_text(text, recognised, duration=3.0)
    assert_well_formed(words, text.split(), 3.0)
    assert_min_length_and_distinct_starts(words)


def test_audio_too_short_for_the_minimum_spaces_words_evenly():
    words, _ = align_known_text("a b c d e", [], duration=0.1)
    assert [word.start for word in words] == [0.0, 0.02, 0.04, 0.06, 0.08]
    assert words[-1].end == 0.1
