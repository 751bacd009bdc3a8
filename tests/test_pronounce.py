"""Pronunciations for the aligner: CMU dictionary words, espeak-ng IPA for names, spelling as last resort."""

from __future__ import annotations

import pytest

from f5worker.timing.pronounce import Pronouncer, dictionary_words, espeak_ipa, ipa_to_arpabet, spelled


@pytest.mark.parametrize(
    ("token", "words"),
    [
        ("twenty-three,", ["twenty", "three"]),
        ("Don’t", ["don't"]),
        ("p.m.", ["p.m"]),  # looked up as "pm" in the dictionary
        ("“Hello,”", ["hello"]),
        ("—", []),
        ("O'Brien's", ["o'brien's"]),
    ],
)
def test_dictionary_words(token, words):
    assert dictionary_words(token) == words


def test_ipa_to_arpabet_maps_espeak_output():
    assert ipa_to_arpabet("tænˈɑːkə") == ["T", "AE", "N", "AA", "K", "AH"]
    assert ipa_to_arpabet("ɡənzˈɑːlɛz") == ["G", "AH", "N", "Z", "AA", "L", "EH", "Z"]
    assert ipa_to_arpabet("(fr)bɔ̃ʒˈuʁ(en)") == ["B", "AO", "ZH", "UW"]  # unknown symbols skipped


def test_spelled_reads_letters_and_digits():
    assert spelled("NGO") == ["EH", "N", "JH", "IY", "OW"]
    assert spelled("é2") == ["IY", "T", "UW"]


def test_espeak_pronounces_several_words_in_one_call():
    ipa = espeak_ipa(["Tanaka", "Nguyen"])
    assert set(ipa) == {"Tanaka", "Nguyen"} and all(ipa.values())


def test_pronouncer_prefers_the_dictionary_then_espeak_then_spelling():
    dictionary = {"smith": "S M IH TH", "p.m.": "P IY EH M"}
    pronouncer = Pronouncer(dictionary.get, ipa=lambda words: {"tanaka": "tænˈɑːkə"} if "tanaka" in words else {})
    result = pronouncer.pronounce(["smith", "tanaka", "xq", "p.m."])
    assert result["smith"] == ("S M IH TH", "dictionary")
    assert result["tanaka"] == ("T AE N AA K AH", "espeak")
    assert result["xq"] == ("EH K S K Y UW", "spelled")
    assert result["p.m."][1] == "dictionary"
