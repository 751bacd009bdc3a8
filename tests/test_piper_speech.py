"""Ground-truth word times from the Piper voice's phoneme spans (tests/piper_speech.py: word_times)."""

from __future__ import annotations

import pytest

from tests.piper_speech import WORD_GAP, speak, split_blanks, word_times


def test_every_word_is_timed_in_order_with_the_start_convention():
    text = "Yes, of course. The top of the hill was quiet."
    utterance = speak(text, noise_scale=0.0)
    words = word_times(utterance)
    assert [word.token for word in words] == text.split()
    assert all(word.start_s is not None and word.start_s < word.end_s for word in words)
    starts = [word.start_s for word in words]
    assert starts == sorted(starts) and words[-1].end_s <= len(utterance.audio) / 16000
    # After a pause (the first word, after punctuation, a new sentence): the first phoneme itself.
    assert [word.token for word in words if word.after_pause] == ["Yes,", "of", "The"]
    for word in words:
        if word.after_pause:
            assert word.start_s == word.first_phoneme_s
    # In running speech the gap token before a word belongs to it.
    gap_starts = {span.start_s for span in utterance.phonemes if span.phoneme == WORD_GAP}
    hill = words[text.split().index("hill")]
    assert hill.start_s in gap_starts and hill.start_s < hill.first_phoneme_s and hill.first_phoneme == "h"
    # The phoneme before a word skips the gap (and stress marks): what the error analysis groups by.
    assert hill.previous_phoneme == "ə" and words[0].previous_phoneme == "^"
    assert words[text.split().index("of")].previous_phoneme == ","


def test_words_that_espeak_joins_are_split_by_their_own_pronunciation():
    utterance = speak("I looked at the top of the hill.", noise_scale=0.0)
    joined = "".join(span.phoneme for span in utterance.phonemes)
    words = word_times(utterance)
    of, the = words[5], words[6]
    assert "ʌvðə" in joined  # espeak says "of the" as one run with no gap between the words
    assert of.end_s == the.start_s == the.first_phoneme_s and the.first_phoneme == "ð"


def test_each_phonemes_blank_is_known_and_can_be_split_between_its_neighbours():
    """The voice puts a blank token after every phoneme; piper counts it in the phoneme before. Splitting it at
    another share moves each boundary back by the rest of the blank before it; the spans still tile the audio."""
    utterance = speak("Yes, of course. The top of the hill was quiet.", noise_scale=0.0)
    spans = utterance.phonemes
    assert all(0 < span.blank_s < span.end_s - span.start_s for span in spans if span.phoneme not in "$")
    assert split_blanks(utterance, 1.0).phonemes == spans
    midpoint = split_blanks(utterance, 0.5).phonemes
    assert [span.phoneme for span in midpoint] == [span.phoneme for span in spans]
    assert midpoint[0].start_s == 0 and midpoint[-1].end_s == pytest.approx(spans[-1].end_s)
    for before, after, own in zip(midpoint[:-1], midpoint[1:], spans[1:], strict=True):
        assert after.start_s == pytest.approx(before.end_s)
        assert after.start_s == pytest.approx(own.start_s - before.blank_s / 2)
    starts = [word.start_s for word in word_times(utterance)]
    earlier = [word.start_s for word in word_times(split_blanks(utterance, 0.5))]
    assert all(m <= s for m, s in zip(earlier, starts, strict=True)) and earlier != starts
