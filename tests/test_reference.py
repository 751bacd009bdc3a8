"""Reference preparation and silence shortening, on espeak-ng speech and on synthetic signals."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from f5worker.errors import InvalidInput
from f5worker.media.audio import decode_audio
from f5worker.media.reference import PAD_S, prepare_reference
from f5worker.media.silence import frame_rms, remove_long_silences
from tests.helpers import espeak_wav

SR = 24000


def tone(seconds: float, amplitude: float = 0.5, freq: float = 220.0) -> np.ndarray:
    t = np.arange(round(seconds * SR)) / SR
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def quiet(seconds: float) -> np.ndarray:
    return np.zeros(round(seconds * SR), dtype=np.float32)


def offset_in(haystack: np.ndarray, needle: np.ndarray) -> int:
    """Where ``needle`` sits inside ``haystack`` as an exact slice (-1 when it does not)."""
    anchor = int(np.argmax(np.abs(needle)))  # a loud sample: rarely repeated exactly, unlike silence
    for start in np.flatnonzero(haystack == needle[anchor]) - anchor:
        if 0 <= start <= haystack.size - needle.size and np.array_equal(haystack[start : start + needle.size], needle):
            return int(start)
    return -1


def ends_quietly(samples: np.ndarray, reference_peak: float) -> bool:
    """The last 20 ms sit at least 30 dB below the loudest 10 ms frame."""
    return float(frame_rms(samples[-480:], 240).max()) < reference_peak * 10 ** (-30 / 20)


# --------------------------------------------------------------------------- espeak speech


@pytest.fixture(scope="module")
def speech(tmp_path_factory) -> np.ndarray:
    path = espeak_wav("The quick brown fox jumps over the lazy dog.", tmp_path_factory.mktemp("ref") / "s.wav")
    return decode_audio(path.read_bytes(), SR, max_seconds=60)


@pytest.fixture(scope="module")
def long_speech(tmp_path_factory) -> np.ndarray:
    text = (
        "This reference is far too long for voice cloning. It has several sentences, with pauses between them. "
        "The worker must cut it at one of those pauses. It must never stop in the middle of a word. "
        "Here is one more sentence, to make sure the limit is passed."
    )
    path = espeak_wav(text, tmp_path_factory.mktemp("ref") / "long.wav")
    return decode_audio(path.read_bytes(), SR, max_seconds=60)


def test_silence_around_speech_is_trimmed_to_the_padding(speech):
    padded = np.concatenate([quiet(1.5), speech, quiet(2.0)])
    out = prepare_reference(padded, SR)
    assert out.dtype == np.float32 and out.ndim == 1
    assert out.size <= speech.size + round(2 * PAD_S * SR)
    assert out.size > speech.size - SR // 2  # espeak's own edge silence may go too, the speech stays
    assert offset_in(padded, out) >= 0


def test_long_speech_is_cut_at_a_pause_within_the_limit(long_speech):
    assert long_speech.size / SR > 12.5
    out = prepare_reference(long_speech, SR, max_seconds=12.0)
    assert 12.0 - 3.0 - PAD_S <= out.size / SR <= 12.0
    assert offset_in(long_speech, out) == 0
    assert ends_quietly(out, float(frame_rms(long_speech, 240).max()))


def test_speech_within_the_limit_is_not_cut(speech):
    out = prepare_reference(speech, SR, max_seconds=12.0)
    assert out.size / SR > (speech.size / SR) - 0.6


def test_too_little_speech_names_the_field(speech):
    with pytest.raises(InvalidInput, match=r"^voice: only 0\.\d\d s of sound after trimming silence"):
        prepare_reference(np.concatenate([quiet(2), speech[: SR // 2], quiet(2)]), SR, field="voice")


# --------------------------------------------------------------------------- synthetic signals


def test_silence_is_rejected():
    with pytest.raises(InvalidInput, match="^ref_audio: the audio is silent"):
        prepare_reference(quiet(3.0), SR)


def test_near_silent_noise_is_rejected():
    noise = np.random.default_rng(0).normal(0, 1e-5, 3 * SR).astype(np.float32)
    with pytest.raises(InvalidInput, match="silent"):
        prepare_reference(noise, SR)


def test_tone_with_silent_edges_keeps_the_tone_and_padding():
    out = prepare_reference(np.concatenate([quiet(1.0), tone(2.0), quiet(1.0)]), SR)
    assert out.size == pytest.approx(round((2.0 + 2 * PAD_S) * SR), abs=240)


def test_cut_lands_in_the_last_gap_before_the_limit():
    # tones at 0-3, 3.5-6.5, 7-10 and 10.5-13.5 s: the last gap before 12 s is 10-10.5 s
    signal = np.concatenate([tone(3), quiet(0.5), tone(3), quiet(0.5), tone(3), quiet(0.5), tone(3)])
    out = prepare_reference(signal, SR, max_seconds=12.0)
    assert out.size / SR == pytest.approx(10.0 + PAD_S, abs=0.015)
    assert np.array_equal(out, signal[: out.size])


def test_without_any_gap_the_cut_goes_to_the_quietest_point():
    envelope = np.ones(20 * SR, dtype=np.float32)
    dip = slice(round(10.5 * SR), round(10.6 * SR))
    envelope[dip] = 0.3  # quieter, but well above the silence threshold
    signal = tone(20.0) * envelope
    out = prepare_reference(signal, SR, max_seconds=12.0)
    assert 10.5 <= out.size / SR <= 10.6


def test_a_short_stop_gap_is_not_taken_for_a_pause():
    # a 30 ms silence (like a stop consonant) at 11 s and a real 300 ms pause at 10 s: cut at the pause
    signal = np.concatenate([tone(10.0), quiet(0.3), tone(0.7), quiet(0.03), tone(5.0)])
    out = prepare_reference(signal, SR, max_seconds=12.0)
    assert out.size / SR == pytest.approx(10.0 + PAD_S, abs=0.015)


def test_limits_must_be_consistent():
    with pytest.raises(ValueError):
        prepare_reference(tone(3), SR, max_seconds=1.0, min_seconds=2.0)


segments = st.lists(
    st.tuples(st.sampled_from(["tone", "quiet"]), st.floats(min_value=0.01, max_value=4.0)), min_size=1, max_size=8
)


@settings(max_examples=40, deadline=None)
@given(segments, st.floats(min_value=2.0, max_value=12.0))
def test_result_is_a_slice_within_the_limits_or_a_clear_error(parts, max_seconds):
    signal = np.concatenate([tone(s) if kind == "tone" else quiet(s) for kind, s in parts] + [quiet(0.01)])
    try:
        out = prepare_reference(signal, SR, max_seconds=max_seconds, min_seconds=1.0)
    except InvalidInput as exc:
        assert exc.message.startswith("ref_audio: ")
        return
    assert 1.0 * SR <= out.size <= max_seconds * SR
    assert offset_in(signal, out) >= 0


# --------------------------------------------------------------------------- remove_long_silences


def test_long_pause_is_shortened_keeping_both_edges():
    signal = np.concatenate([tone(1.0), quiet(2.0), tone(1.0)])
    out = remove_long_silences(signal, SR, max_silence_s=0.3)
    assert out.size / SR == pytest.approx(2.3, abs=0.02)
    assert np.array_equal(out[:SR], signal[:SR]) and np.array_equal(out[-SR:], signal[-SR:])


def test_short_pauses_are_left_alone():
    signal = np.concatenate([tone(1.0), quiet(0.25), tone(1.0)])
    assert np.array_equal(remove_long_silences(signal, SR, max_silence_s=0.3), signal)


def test_edge_silence_keeps_half_the_pause():
    signal = np.concatenate([quiet(1.0), tone(1.0), quiet(1.0)])
    out = remove_long_silences(signal, SR, max_silence_s=0.4)
    assert out.size / SR == pytest.approx(1.4, abs=0.02)


def test_silent_audio_is_returned_unchanged():
    assert remove_long_silences(quiet(1.0), SR).size == SR


def test_speech_pauses_shrink_but_words_stay(long_speech):
    out = remove_long_silences(long_speech, SR, max_silence_s=0.1)
    assert 0.5 * long_speech.size < out.size < long_speech.size
    assert remove_long_silences(out, SR, max_silence_s=0.1).size == pytest.approx(out.size, abs=SR // 100)
