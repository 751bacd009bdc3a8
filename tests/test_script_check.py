"""The script check on real speech: tiny.en and the pocketsphinx aligner hearing espeak-ng and Piper voices."""

from __future__ import annotations

import json

import numpy as np
import pytest

from f5worker.engines import Engines
from f5worker.engines.whisper import WhisperEngine
from f5worker.settings import Settings
from f5worker.timing.aligner import ForcedAligner
from f5worker.timing.script_check import ScriptChecker, check_script
from tests.helpers import tiny_whisper_model
from tests.piper_speech import speak
from tests.speech import espeak_speech, load_16k

SENTENCE = "Please call Stella and ask her to bring these things with her from the store."


@pytest.fixture(scope="module")
def engines() -> Engines:
    loaded = Engines(device="cpu")
    loaded.load("whisperx", lambda: WhisperEngine.load(Settings(whisper_model=tiny_whisper_model()), "cpu"))
    loaded.load("aligner", ForcedAligner.load)
    assert not loaded.errors, loaded.errors
    return loaded


@pytest.fixture(scope="module")
def espeak(tmp_path_factory):
    def say(text: str) -> np.ndarray:
        path = tmp_path_factory.mktemp("espeak") / "speech.wav"
        espeak_speech(text, path)
        return load_16k(path)

    return say


def test_clean_speech_passes_with_every_word_heard_and_a_confidence(engines, espeak):
    result = check_script(engines, espeak(SENTENCE), SENTENCE)
    assert result.verdict == "pass", result.reasons
    assert result.wer is not None and result.wer <= 0.1
    assert not result.missing and not result.repeated
    assert [word.word for word in result.words] == SENTENCE.split()
    assert all(0.5 < word.confidence <= 1 for word in result.words)
    assert all(word.start is not None for word in result.words)
    assert 0.5 < result.rate["ratio"] < 2
    assert result.checked == ["recogniser round trip (whisperx)", "forced alignment (pocketsphinx)"]
    json.dumps(result.as_output())


def test_a_word_before_the_first_heard_one_with_no_room_for_it_is_missing(engines, espeak):
    # The text opens with a word the audio does not say: nothing heard before it leaves room for it.
    result = check_script(engines, espeak(SENTENCE), "Yesterday " + SENTENCE)
    assert result.verdict == "fail" and ("Yesterday", 0) in [(f.word, f.position) for f in result.missing]


def test_respelled_words_belong_to_the_typed_word_they_say(engines, espeak):
    """With pronunciations the spoken text is respelled; the check maps its words back the same way."""
    lexicon = {"Siobhan": "shivawn", "Nguyen": "nuh win"}
    spoken = "Ask shivawn nuh win now."
    result = ScriptChecker(engines.forced_aligner(), None).check(
        espeak(spoken), "Ask Siobhan Nguyen now.", spoken_text=spoken, respell=lambda word: lexicon.get(word, word)
    )
    assert [(word.word, word.position) for word in result.words] == [
        ("Ask", 0),
        ("shivawn", 1),
        ("nuh", 2),
        ("win", 2),
        ("now.", 3),
    ]


def test_a_year_read_another_way_is_no_repeat(engines, espeak):
    """espeak-ng reads "1962" as "nineteen hundred and sixty-two", the normaliser as "nineteen sixty-two":
    words read out of digits are not judged by how long the text's reading takes."""
    text = "The old bridge was finished in 1962 after a long winter."
    result = check_script(engines, espeak(text), text)
    assert result.verdict == "pass", (result.reasons, result.aligner)


def test_runaway_speed_fails(engines, tmp_path):
    path = tmp_path / "fast.wav"
    espeak_speech(SENTENCE, path, words_per_minute=600)
    result = check_script(engines, load_16k(path), SENTENCE)
    assert result.verdict == "fail", result.rate


def test_a_dropped_word_is_missing_with_its_position_and_time(engines, espeak):
    result = check_script(engines, espeak(SENTENCE.replace(" things", "")), SENTENCE)
    assert result.verdict == "fail"
    assert ("things", 9) in [(f.word, f.position) for f in result.missing]
    missing = next(f for f in result.missing if f.word == "things")
    assert missing.start is not None and missing.end is not None and missing.confidence < 0.5
    assert any("things" in reason for reason in result.reasons)


def test_natural_speech_repeated_and_swapped_words_are_named(engines):
    text = "The captain ordered the sailors to lower the heavy anchor."
    clean = check_script(engines, speak(text, noise_scale=0.0).audio, text)
    assert clean.verdict == "pass", clean.reasons
    repeated = check_script(engines, speak(text.replace("sailors", "sailors sailors"), noise_scale=0.0).audio, text)
    assert repeated.verdict == "fail"
    assert [(f.word, f.position) for f in repeated.repeated] == [("sailors", 4)]
    swapped = check_script(engines, speak(text.replace("anchor", "elephant"), noise_scale=0.0).audio, text)
    assert swapped.verdict == "fail"
    assert "elephant" in [f.word for f in swapped.extra]


def test_numbers_are_checked_in_their_spoken_form_and_confidences_map_to_the_callers_tokens(engines, espeak):
    text = "In 2014, the orchestra performed in twelve cities."
    result = check_script(engines, espeak("In twenty fourteen, the orchestra performed in twelve cities."), text)
    assert result.verdict == "pass", result.reasons
    assert [w.word for w in result.words][:3] == ["In", "twenty", "fourteen,"]
    assert [w.position for w in result.words][:3] == [0, 1, 1]
    confidences = result.token_confidences(len(text.split()))
    assert len(confidences) == 8 and all(c is not None for c in confidences)
    assert confidences[1] > 0.5  # "2014,": the lower of "twenty" and "fourteen,"


def test_noise_fails(engines):
    noise = np.random.default_rng(0).standard_normal(16000 * 3).astype(np.float32) * 0.1
    result = check_script(engines, noise, SENTENCE)
    assert result.verdict == "fail"
    assert result.missing


def test_without_engines_nothing_is_checked_and_it_says_so(engines, espeak):
    audio = espeak("Guten Morgen, wie geht es dir heute?")
    nothing = ScriptChecker(None, None).check(audio, SENTENCE)
    assert nothing.verdict == "unchecked" and nothing.checked == []
    assert "recogniser round trip (no recogniser loaded)" in nothing.not_checked
    german = check_script(engines, audio, "Guten Morgen, wie geht es dir heute?", "de")
    assert german.verdict == "unchecked"
    assert german.not_checked == [
        "recogniser round trip (the loaded model hears English only)",
        "forced alignment (English only)",
        "number and abbreviation spelling (English only)",
    ]
