"""Known-text forced alignment on real espeak-ng speech, scored against espeak's own word onsets."""

from __future__ import annotations

import numpy as np
import pytest

from f5worker.audio_rates import F5_SAMPLE_RATE
from f5worker.engines import Engines
from f5worker.engines.f5 import CrossFadeJoiner
from f5worker.media.encode import resample
from f5worker.media.silence import long_silence_mask
from f5worker.media.text_normalize import normalize_english
from f5worker.timing.aligner import (
    ForcedAligner,
    Piece,
    SpokenTimes,
    cut_pieces,
    implausible,
    original_words,
    spoken_token_map,
    written_readings,
)
from f5worker.timing.engine_choice import align_known_audio, chunk_timer
from f5worker.timing.sphinx import TokenTimes
from tests.speech import espeak_speech, load_16k


@pytest.fixture(scope="module")
def aligner() -> ForcedAligner:
    return ForcedAligner.load()


def spoken_speech(text: str, path, voice: str = "en-us", rate: int = 160):
    """espeak-ng speaking the normalised text (as the TTS is given it): 16 kHz audio and per-token onsets."""
    truth = espeak_speech(normalize_english(text), path, voice=voice, words_per_minute=rate)
    mapping = spoken_token_map(text.split(), [token for token, _ in truth])
    return load_16k(path), [truth[indices[0]][1] if indices else None for indices in mapping]


def errors_ms(words, truth) -> np.ndarray:
    return np.array([abs(w.start - t) * 1000 for w, t in zip(words, truth, strict=True) if t is not None])


# --------------------------------------------------------------------------- text mapping


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("In 2014, Dr. Smith paid £13.60.", [[0], [1, 2], [3], [4], [5], [6, 7, 8]]),
        ("It costs $1,250 today.", [[0], [1], [2, 3, 4, 5, 6, 7], [8]]),
        ("Meet at 7:45 pm, Mr. O'Brien.", [[0], [1], [2, 3], [4], [5], [6]]),
        ("About 85% of us — really.", [[0], [1, 2], [3], [4], [5], [6]]),
        ("Tanaka met Nguyen.", [[0], [1], [2]]),
    ],
)
def test_spoken_token_map_keeps_each_original_token(text, expected):
    assert spoken_token_map(text.split(), normalize_english(text).split()) == expected


def test_original_words_keep_the_callers_spelling_and_least_certain_method():
    text = "Paid £13.60 — done."
    spoken_text = normalize_english(text)  # Paid thirteen pounds sixty — done.
    spans = [(0.0, 0.3), (0.3, 0.6), (0.6, 0.9), (0.9, 1.2), None, (1.4, 1.8)]
    methods = ["aligned", "aligned", "matched", "aligned", "interpolated", "aligned"]
    words = original_words(text, spoken_text, SpokenTimes(spans, methods), duration=2.0)
    assert [(w.word, w.start, w.end, w.timed_by) for w in words] == [
        ("Paid", 0.0, 0.3, "aligned"),
        ("£13.60", 0.3, 1.2, "matched"),
        ("—", 1.2, 1.24, "interpolated"),
        ("done.", 1.4, 1.8, "aligned"),
    ]


# --------------------------------------------------------------------------- checks


def test_implausible_alignments_are_named():
    squeezed = TokenTimes([(0.01 * i, 0.01 * i + 0.03) for i in range(6)], [4] * 6)
    assert "squeezed" in implausible(squeezed, 1.0)
    stretched = TokenTimes([(0.0, 0.2), (0.2, 2.5)], [3, 3])
    assert "stretched" in implausible(stretched, 3.0)
    gap = TokenTimes([(0.0, 0.3), (4.0, 4.3)], [3, 3])
    assert "gap" in implausible(gap, 5.0)
    fine = TokenTimes([(0.0, 0.3), (0.35, 0.7), None], [3, 4, 0])
    assert implausible(fine, 1.0) is None


# --------------------------------------------------------------------------- real speech


@pytest.mark.parametrize(
    ("text", "voice", "rate"),
    [
        ("In 2014, Dr. Smith paid £13.60 for two tickets to Paris.", "en-us", 160),  # numbers, currency, title
        ("About 85% of the 1,200 students voted for Maria Gonzalez.", "en", 190),  # percent, names
        ("Mr. Tanaka flew from Tokyo to Frankfurt at 7:45 pm, via Nguyen's hub.", "en-us+f3", 130),  # OOV names
    ],
)
def test_stt_known_text_is_force_aligned_accurately(tmp_path, aligner, text, voice, rate):
    audio, truth = spoken_speech(text, tmp_path / "s.wav", voice, rate)
    engines = Engines(loaded={"aligner": aligner})  # no recogniser at all: alignment alone
    transcript = align_known_audio(engines, audio, text, "en")
    assert [w.word for w in transcript.words] == text.split()
    assert {w.timed_by for w in transcript.words} == {"aligned"}
    assert transcript.engine_output()["timed_by"]["aligned"] == len(text.split())
    errors = errors_ms(transcript.words, truth)
    assert errors.mean() < 40 and errors.max() < 120, errors


def test_text_that_is_not_english_is_left_to_the_recogniser(aligner):
    engines = Engines(loaded={"aligner": aligner})
    assert align_known_audio(engines, np.zeros(16000, np.float32), "Die Katze schläft auf dem Sofa.", None) is None


def test_wrong_text_falls_back_and_says_so(tmp_path, aligner):
    said = "The children played football in the park until it started to rain."
    audio, _truth = spoken_speech(said, tmp_path / "a.wav")
    wrong = "Completely different words about astronomy, telescopes, galaxies and the distant stars tonight."
    transcript = align_known_audio(Engines(loaded={"aligner": aligner}), audio, wrong, "en")
    assert [w.word for w in transcript.words] == wrong.split()
    fallback = transcript.known_text["fallback_pieces"]
    assert len(fallback) == 1 and fallback[0]["timed_by"] == "interpolated" and fallback[0]["fallback"]
    assert {w.timed_by for w in transcript.words} == {"interpolated"}


def test_long_audio_is_cut_at_pauses_near_sentence_ends(tmp_path):
    rate = 16000
    sentences = [f"Sentence number {n} is here." for n in range(1, 41)]
    audio = np.concatenate(
        [np.r_[np.full(int(1.5 * rate), 0.1, np.float32), np.zeros(rate // 2, np.float32)] for _ in sentences]
    )
    tokens = " ".join(sentences).split()
    approximate = [(2.0 * (i // 5) + 0.3 * (i % 5), 2.0 * (i // 5) + 0.3 * (i % 5) + 0.25) for i in range(len(tokens))]
    pieces = cut_pieces(audio, tokens, approximate)
    assert len(pieces) >= 2 and [t for p in pieces for t in p.tokens] == tokens
    for piece in pieces[:-1]:
        assert piece.tokens[-1].endswith(".") and piece.end - piece.start <= 31
        assert (piece.end % 2.0) > 1.5  # inside the half second of silence after a sentence
    assert pieces[0].start == 0 and pieces[-1].end == len(audio) / rate
    assert all(isinstance(p, Piece) for p in pieces)


# --------------------------------------------------------------------------- tts: chunk spans


def test_tts_chunks_are_aligned_inside_their_spans_and_mapped_through_silence_removal(tmp_path, aligner):
    texts = ["Dr. Tanaka paid $1,250 in 2014,", "and then, after a long pause, he flew to Frankfurt."]
    joiner = CrossFadeJoiner(round(0.15 * F5_SAMPLE_RATE))
    truth, pieces = [], []
    for index, text in enumerate(texts):
        spoken = normalize_english(text)
        onsets = espeak_speech(spoken, tmp_path / f"{index}.wav")
        wave = resample(load_16k(tmp_path / f"{index}.wav"), 16000, F5_SAMPLE_RATE)
        wave = np.concatenate([wave, np.zeros(F5_SAMPLE_RATE, np.float32)])  # a long pause the removal will shorten
        pieces.append(joiner.push(wave, spoken))
        start = joiner.spans[-1].start
        mapping = spoken_token_map(text.split(), [token for token, _ in onsets])
        truth += [
            start / F5_SAMPLE_RATE + onsets[m[0]][1] if m and onsets[m[0]][1] is not None else None for m in mapping
        ]
    pieces.append(joiner.finish())
    speech = np.concatenate(pieces)
    text = " ".join(texts)
    spoken_text = " ".join(span.text for span in joiner.spans)
    engines = Engines(loaded={"aligner": aligner})

    timer = chunk_timer(engines, text, spoken_text, F5_SAMPLE_RATE)
    plain = timer.transcript(speech, joiner.spans)
    assert [w.word for w in plain.words] == text.split()
    assert plain.known_text["pieces"] == 2 and plain.known_text["fallback_pieces"] == []
    assert errors_ms(plain.words, truth).mean() < 40

    keep = long_silence_mask(speech, F5_SAMPLE_RATE)
    kept_before = np.concatenate(([0], np.cumsum(keep)))
    shifted = [None if t is None else kept_before[round(t * F5_SAMPLE_RATE)] / F5_SAMPLE_RATE for t in truth]
    removed = chunk_timer(engines, text, spoken_text, F5_SAMPLE_RATE).transcript(speech, joiner.spans, keep=keep)
    assert removed.words[-1].end <= keep.sum() / F5_SAMPLE_RATE
    assert errors_ms(removed.words, shifted).mean() < 40
    assert removed.words[-1].start < plain.words[-1].start - 0.5  # the pause really was shortened


# --------------------------------------------------------------------------- warm load and settings


def test_warm_load_loads_the_aligner_by_default_and_health_describes_it():
    from f5worker.engines import warm_load
    from f5worker.settings import Settings

    engines = warm_load(Settings(tts_enabled=False, timing_engines=""))
    assert isinstance(engines.loaded["aligner"], ForcedAligner)
    details = engines.describe()["aligner"]
    assert details["loaded"] and details["details"]["english"]["version"] == "5.1.1"

    off = warm_load(Settings(tts_enabled=False, timing_engines="", forced_aligner="off"))
    assert "aligner" not in off.loaded and "FORCED_ALIGNER=off" in off.errors["aligner"]


def test_forced_aligner_setting_is_checked():
    from f5worker.errors import ConfigError
    from f5worker.settings import load_settings

    with pytest.raises(ConfigError, match="FORCED_ALIGNER"):
        load_settings(forced_aligner="mfa")


def test_nothing_typed_owns_nothing():
    """A chunk whose spoken words all belong to the previous chunk's typed word has no typed words."""
    assert spoken_token_map([], ["nuh", "win"]) == []


def test_a_guessed_pronunciation_is_known_as_such():
    aligner = ForcedAligner.load()
    aligner.align(np.zeros(16000, dtype=np.float32), ["Professor", "Lindqvist", "smiled."])
    assert aligner.guessed("lindqvist") and not aligner.guessed("professor")


def test_written_amounts_and_numbers_get_other_readings_by_the_spoken_tokens_that_say_them():
    original = ["Paid", "$12.80,", "£3", "for", "2", "cats."]
    spoken = normalize_english(" ".join(original)).split()
    readings = written_readings(original, spoken_token_map(original, spoken))
    first = spoken.index("twelve")
    assert readings[(first, first + 3)] == ["$12.80", "twelve eighty"]
    assert readings[(first + 3, first + 5)] == ["£3"]
    assert list(readings.values())[-1] == ["2"] and len(readings) == 3
