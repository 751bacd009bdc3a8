"""One set of sentence and clause rules for chunking, caption breaks and known-text segments."""

from __future__ import annotations

import pytest

from f5worker.captions.group import group_captions, sanitize_words
from f5worker.captions.options import CaptionOptions
from f5worker.media.chunking import split_text
from f5worker.media.punctuation import TITLES, ends_clause, ends_sentence, is_abbreviation, strip_closing
from f5worker.media.text_normalize import normalize_english
from f5worker.timing.transcript import segments_by_sentence
from f5worker.words import Word


@pytest.mark.parametrize("word", ["end.", "end!", "why?", "so…", 'end."', "end.”", "end.)", "(aside.)", "etc.", "no."])
def test_sentence_ends_allow_closing_quotes_and_brackets(word):
    assert ends_sentence(word)


@pytest.mark.parametrize("word", ["end", "end,", ".5x", "Dr.", "dr.", "Mrs.", "(e.g.", "i.e.,", "Jr.", '"', ""])
def test_titles_and_inner_abbreviations_do_not_end_sentences(word):
    assert not ends_sentence(word)


@pytest.mark.parametrize("word", ["so,", "this;", "note:", "wait—", "-", "--", "—", '"so,"'])
def test_clause_ends(word):
    assert ends_clause(word)


@pytest.mark.parametrize("word", ["well-known", "end.", "a", "a-"])
def test_not_clause_ends(word):
    assert not ends_clause(word)


def test_strip_closing_keeps_leading_and_inner_punctuation():
    assert strip_closing('("a.b.")') == '("a.b.'


def test_every_title_text_normalisation_speaks_is_a_title_here():
    for title, spoken in TITLES.items():
        assert is_abbreviation(title)
        assert normalize_english(f"Ask {title} Jones.").split()[1] in {spoken, "Drive", "Street"}


def test_the_three_callers_agree_that_a_title_does_not_end_a_sentence():
    text = "I met Dr. Smith there. Then we left."
    words = [Word(word=w, start=n * 0.3, end=n * 0.3 + 0.25) for n, w in enumerate(text.split())]
    assert [s.text for s in segments_by_sentence(words)] == ["I met Dr. Smith there.", "Then we left."]
    assert split_text(text, 24) == ["I met Dr. Smith there.", "Then we left."]
    captions = group_captions(sanitize_words(words), CaptionOptions(max_chars_per_line=16, max_lines=2))
    assert all(caption.lines[0].split()[-1] != "Dr." for caption in captions)
    assert all(line.split()[-1] != "Dr." for caption in captions for line in caption.lines)


def test_segments_end_after_a_closing_curly_quote():
    words = [Word(word=w, start=n, end=n + 0.5) for n, w in enumerate(["He", "said", "“no.”", "We", "left."])]
    assert [s.text for s in segments_by_sentence(words)] == ["He said “no.”", "We left."]
