"""Matching a recogniser's words to the text's words (f5worker/timing/heard_words.py), no audio needed."""

import pytest

from f5worker.media.text_normalize import normalize_english
from f5worker.timing.heard_words import heard_keys, match_words, text_numbers, word_similarity
from f5worker.words import Word


def test_letters_absorb_other_word_boundaries_but_not_a_dropped_word():
    split = match_words(["the", "lighthouse", "keeper"], ["the", "light", "housekeeper"])
    assert split.expected_cover == [1.0, 1.0, 1.0] and split.errors == 0
    dropped = match_words(["bring", "these", "things", "with"], ["bring", "these", "with"])
    assert dropped.expected_cover == [1.0, 1.0, 0.0, 1.0] and dropped.errors == 1
    repeated = match_words(["lighthouse", "keeper", "painted"], ["light", "housekeeper", "keeper", "painted"])
    assert repeated.heard_cover[2] == 0.0 and repeated.heard_follows[2] == 1


def test_a_near_spelling_is_heard_and_a_leftover_that_sounds_alike_is_paired():
    spelled = match_words(["please", "call", "stella"], ["please", "call", "stellar"])
    assert spelled.expected_cover[2] >= 0.75 and spelled.errors == 0
    phones = {"near": "N IH R", "here": "HH IH R"}.get
    alone = match_words(["wait", "near", "the", "door"], ["wait", "here", "the", "door"])
    paired = match_words(["wait", "near", "the", "door"], ["wait", "here", "the", "door"], phones)
    assert alone.expected_cover[1] < 0.55 <= paired.expected_cover[1]


def test_heard_numbers_become_the_keys_the_text_is_spoken_as():
    keys = heard_keys([Word(word="2014", start=0.0, end=0.5, confidence=0.9)], english=True)
    assert [key.key for key in keys] == ["twenty", "fourteen"] and {key.text for key in keys} == {"2014"}
    assert word_similarity("keeper", "keeper") == 1.0


def test_a_number_the_recogniser_writes_its_own_way_is_spelled_as_the_text_spells_it():
    numbers = text_numbers(["at", "8:20,", "for", "1,250"], [["at"], ["eight", "twenty"], ["for"], ["one", "two"]])
    assert numbers == {"820": ["eight", "twenty"], "1250": ["one", "two"]}
    heard = [Word(word=word, start=0.0, end=0.5, confidence=0.9) for word in ("820", "8.20.", "7")]
    assert [key.key for key in heard_keys(heard, english=True, numbers=numbers)] == [
        "eight",
        "twenty",
        "eight",
        "twenty",
        "seven",  # not one of the text's numbers: spelled as usual
    ]


@pytest.mark.parametrize(
    ("text", "bare"),
    [
        ("On May 2nd, 2 people came.", {"2": ["two"]}),  # "2nd" has letters: not a bare number
        ("Get a B2 visa for 2 years.", {"2": ["two"]}),
        ("19 people had COVID-19", {"19": ["nineteen"]}),
        ("It costs $5 now.", {}),  # a sign: its word ("dollars") may be heard apart
        ("Up 50% today.", {}),
        ("Flight 820 leaves at 8:20 today.", {}),  # one set of digits, two spellings: neither is sure
    ],
)
def test_only_bare_numbers_with_one_spelling_are_matched_by_digits(text, bare):
    tokens = text.split()
    assert text_numbers(tokens, [normalize_english(token).split() for token in tokens]) == bare
    heard = [Word(word=token, start=0.0, end=0.5, confidence=0.9) for token in tokens]
    spelled = [key.key for key in heard_keys(heard, english=True, numbers=bare)]
    assert spelled == [key.key for key in heard_keys(heard, english=True)]  # the text heard as written: same keys


def test_every_dictionary_reading_counts_when_words_are_compared_by_sound():
    # "a" read as EY sounds like "eight": the recogniser's "a 20" for "8:20" is a mishearing, not a swap.
    phones = {"a": "AH", "a(2)": "EY", "eight": "EY T"}.get
    first_reading_only = {"a": "AH", "eight": "EY T"}.get
    assert match_words(["at", "eight", "twenty"], ["at", "a", "twenty"], phones).expected_cover[1] >= 0.55
    assert match_words(["at", "eight", "twenty"], ["at", "a", "twenty"], first_reading_only).expected_cover[1] < 0.55
