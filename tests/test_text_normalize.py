"""English normalisation: the written forms a reader would expand are spelt out, punctuation stays."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from f5worker.media.text_normalize import cardinal, normalize_english, ordinal, year

CASES = [
    # years
    ("In 1999 it rained.", "In nineteen ninety-nine it rained."),
    ("Back in 2014,", "Back in twenty fourteen,"),
    ("By 2000.", "By two thousand."),
    ("In 2009!", "In two thousand nine!"),
    ("Since 1905", "Since nineteen oh five"),
    ("About 1900", "About nineteen hundred"),
    ("The 1990s and '80s.", "The nineteen nineties and eighties."),
    ("From 1990–1995.", "From nineteen ninety to nineteen ninety-five."),
    # quantities
    ("42 cats", "forty-two cats"),
    ("0 is nothing", "zero is nothing"),
    ("1,234 people", "one thousand two hundred thirty-four people"),
    ("1,000,000 stars", "one million stars"),
    ("3.14 is pi", "three point one four is pi"),
    ("Only .5 left", "Only point five left"),
    ("It was -5 outside", "It was minus five outside"),
    ("Version 1.2.3", "Version one point two point three"),
    ("Call 0123 now", "Call zero one two three now"),
    ("Item #5", "Item number five"),
    # money
    ("It cost £13.60.", "It cost thirteen pounds sixty."),
    ("Only $5!", "Only five dollars!"),
    ("Just $1", "Just one dollar"),
    ("$0.50 each", "fifty cents each"),
    ("£0.01", "one penny"),
    ("€1.5m raised", "one point five million euros raised"),
    ("$2bn deal", "two billion dollars deal"),
    ("$3 million", "three million dollars"),
    ("$1,000 prize", "one thousand dollars prize"),
    ("¥100", "one hundred yen"),
    ("5€ fee", "five euros fee"),
    # percentages and degrees
    ("Up 12% today", "Up twelve percent today"),
    ("Down 3.5%.", "Down three point five percent."),
    ("A -5% change", "A minus five percent change"),
    ("It is 20°C", "It is twenty degrees Celsius"),
    # ordinals
    ("The 1st and 22nd", "The first and twenty-second"),
    ("11th, 12th, 13th", "eleventh, twelfth, thirteenth"),
    ("the 103rd time", "the one hundred third time"),
    ("the 1,000th visitor", "the one thousandth visitor"),
    # times
    ("Meet at 3:30pm.", "Meet at three thirty p.m."),
    ("At 3pm, go.", "At three p.m., go."),
    ("Come at 10:00", "Come at ten o'clock"),
    ("It is 3:05 a.m. Wake up.", "It is three oh five a.m. Wake up."),
    ("Dinner at 13:45.", "Dinner at thirteen forty-five."),
    # abbreviations
    ("Dr. Smith and Mr. Jones met Mrs. Brown.", "Doctor Smith and Mister Jones met Missus Brown."),
    ("We went to St. Louis.", "We went to Saint Louis."),
    ("She lives on Main St. Then she moved.", "She lives on Main Street. Then she moved."),
    ("We live on Elm Dr. now.", "We live on Elm Drive now."),
    ("Apples, pears, etc. are fruit.", "Apples, pears, et cetera are fruit."),
    ("Apples, pears, etc. Then more.", "Apples, pears, et cetera. Then more."),
    ("Fruit, e.g. apples, i.e. food.", "Fruit, for example apples, that is food."),
    ("Cats vs. dogs", "Cats versus dogs"),
    ("No. 7 won", "number seven won"),
    ("Salt & pepper", "Salt and pepper"),
    # digits glued to letters stay apart from them
    ("An mp3 in 3D", "An mp three in three D"),
    ("COVID-19", "COVID-nineteen"),
    # nothing to do
    ("Hello, world! How are you?", "Hello, world! How are you?"),
    ("Is no. 1 sure? No.", "Is number one sure? No."),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_written_forms_are_spelt_out(text, expected):
    assert normalize_english(text) == expected


@pytest.mark.parametrize(
    ("number", "words"),
    [
        (0, "zero"),
        (13, "thirteen"),
        (20, "twenty"),
        (99, "ninety-nine"),
        (100, "one hundred"),
        (101, "one hundred one"),
        (1001, "one thousand one"),
        (10_000, "ten thousand"),
        (1_000_001, "one million one"),
        (
            999_999_999_999,
            "nine hundred ninety-nine billion nine hundred ninety-nine million "
            "nine hundred ninety-nine thousand nine hundred ninety-nine",
        ),
    ],
)
def test_cardinal(number, words):
    assert cardinal(number) == words


@pytest.mark.parametrize(
    ("number", "words"),
    [
        (1, "first"),
        (2, "second"),
        (3, "third"),
        (5, "fifth"),
        (9, "ninth"),
        (12, "twelfth"),
        (20, "twentieth"),
        (21, "twenty-first"),
        (100, "one hundredth"),
        (1_000_000, "one millionth"),
    ],
)
def test_ordinal(number, words):
    assert ordinal(number) == words


@pytest.mark.parametrize(
    ("number", "words"),
    [
        (1999, "nineteen ninety-nine"),
        (2014, "twenty fourteen"),
        (2000, "two thousand"),
        (2009, "two thousand nine"),
        (2010, "twenty ten"),
        (1066, "one thousand sixty-six"),
        (1800, "eighteen hundred"),
        (2100, "two thousand one hundred"),
    ],
)
def test_year(number, words):
    assert year(number) == words


# --------------------------------------------------------------------------- properties

WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=8)
INTEGERS = st.integers(min_value=-(10**20), max_value=10**20).map(str)
GROUPED = st.integers(min_value=1000, max_value=10**12).map(lambda n: f"{n:,}")
DECIMALS = st.tuples(st.integers(0, 10**6), st.integers(0, 10**4)).map(lambda p: f"{p[0]}.{p[1]}")
NUMBERS = st.one_of(INTEGERS, GROUPED, DECIMALS)
DECORATED = st.tuples(
    st.sampled_from(["", "$", "£", "€", "¥", "#", "-"]),
    NUMBERS,
    st.sampled_from(["", "%", "st", "nd", "th", "s", "m", "bn", "k", "pm", " a.m.", "°C", "€", ":30", ":05pm"]),
).map("".join)
TOKENS = st.one_of(WORDS, NUMBERS, DECORATED, st.sampled_from(["Dr.", "St.", "etc.", "e.g.", "vs.", "No.", "&"]))
SEPARATORS = st.sampled_from([" ", " ", ", ", ". ", "! ", "? ", "; ", "-", "–", "/", "", "\n"])


@st.composite
def sentences(draw) -> str:
    tokens = draw(st.lists(TOKENS, min_size=1, max_size=12))
    parts = [tokens[0]]
    for token in tokens[1:]:
        parts += [draw(SEPARATORS), token]
    return "".join(parts)


@settings(max_examples=300, deadline=None)
@given(sentences())
def test_words_and_numbers_come_out_without_digits(text):
    assert not re.search(r"[0-9]", normalize_english(text))


@settings(max_examples=200, deadline=None)
@given(sentences())
def test_normalising_twice_changes_nothing_more(text):
    once = normalize_english(text)
    assert normalize_english(once) == once


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(WORDS, NUMBERS), min_size=1, max_size=10), st.sampled_from([".", "!", "?"]))
def test_sentence_punctuation_survives(tokens, end):
    text = ", ".join(tokens) + end
    out = normalize_english(text)
    assert out.endswith(end)
    assert out.count(", ") >= len(tokens) - 1
