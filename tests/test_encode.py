"""Encoded audio is read back with soundfile and with ffmpeg, and must keep its rate and duration."""

from __future__ import annotations

import io
import subprocess

import numpy as np
import pytest
import soundfile as sf

from f5worker.media.audio import decode_audio
from f5worker.media.encode import (
    AUDIO_CONTENT_TYPES,
    AUDIO_FORMATS,
    encode_audio,
    encode_ffmpeg,
    resample,
    soundfile_can_write,
)

SR = 24000


def sine(seconds: float, freq: float = 440.0, rate: int = SR, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def dominant_frequency(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    return float(np.fft.rfftfreq(samples.size, 1 / rate)[np.argmax(spectrum)])


def ffprobe(data: bytes) -> dict[str, str]:
    result = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-show_entries",
            "stream=codec_name,sample_rate,channels",
            "-of",
            "default=noprint_wrappers=1",
            "-i",
            "pipe:0",
        ],
        input=data,
        capture_output=True,
        check=True,
    )
    return dict(line.split("=", 1) for line in result.stdout.decode().split())


CODECS = {"wav": "pcm_s16le", "flac": "flac", "mp3": "mp3", "ogg": "vorbis"}


def test_every_format_has_a_content_type():
    assert set(AUDIO_CONTENT_TYPES) == set(AUDIO_FORMATS) == set(CODECS)


def test_installed_libsndfile_writes_mp3_and_vorbis():
    assert soundfile_can_write("mp3") and soundfile_can_write("ogg")


@pytest.mark.parametrize("fmt", AUDIO_FORMATS)
def test_soundfile_reads_back_rate_duration_and_pitch(fmt):
    source = sine(3.0)
    data = encode_audio(source, SR, fmt)
    samples, rate = sf.read(io.BytesIO(data), dtype="float32")
    assert rate == SR and samples.ndim == 1
    # mp3 and vorbis add encoder delay/padding of a frame or so
    assert samples.size / SR == pytest.approx(3.0, abs=0.06)
    assert dominant_frequency(samples, SR) == pytest.approx(440.0, abs=2.0)


@pytest.mark.parametrize("fmt", AUDIO_FORMATS)
def test_ffmpeg_sees_the_expected_codec_and_decodes_it(fmt):
    data = encode_audio(sine(2.0), SR, fmt)
    assert ffprobe(data) == {"codec_name": CODECS[fmt], "sample_rate": str(SR), "channels": "1"}
    decoded = decode_audio(data, SR, max_seconds=10)
    assert decoded.size / SR == pytest.approx(2.0, abs=0.06)


@pytest.mark.parametrize("fmt", ["wav", "flac"])
def test_lossless_formats_keep_16_bit_precision(fmt):
    source = sine(0.5)
    samples, _ = sf.read(io.BytesIO(encode_audio(source, SR, fmt)), dtype="float32")
    assert np.max(np.abs(samples - source)) <= 1 / 32768 + 1e-7


def test_out_of_range_and_non_finite_samples_are_clipped_not_wrapped():
    source = np.array([2.0, -3.0, np.nan, np.inf, -np.inf, 0.25], dtype=np.float32)
    samples, _ = sf.read(io.BytesIO(encode_audio(source, SR, "wav")), dtype="int16")
    assert samples.tolist() == [32767, -32768, 0, 32767, -32768, 8192]


def test_mp3_is_a_sensible_constant_bitrate():
    data = encode_audio(sine(10.0), SR, "mp3")
    kbps = len(data) * 8 / 10 / 1000
    assert 48 <= kbps <= 128


@pytest.mark.parametrize("fmt", ["mp3", "ogg"])
def test_ffmpeg_fallback_encodes_readable_files(fmt):
    data = encode_ffmpeg(sine(2.0), SR, fmt)
    assert ffprobe(data)["codec_name"] == CODECS[fmt]
    samples, rate = sf.read(io.BytesIO(data), dtype="float32")
    # through a pipe ffmpeg cannot go back to write the LAME tag, so decoders keep its encoder padding
    assert rate == SR and samples.size / SR == pytest.approx(2.0, abs=0.1)


def test_ffmpeg_fallback_refuses_what_soundfile_always_writes():
    with pytest.raises(ValueError):
        encode_ffmpeg(sine(0.1), SR, "wav")


def test_unknown_format_is_refused():
    with pytest.raises(ValueError, match="unknown audio format 'aac'"):
        encode_audio(sine(0.1), SR, "aac")


@pytest.mark.parametrize("to_rate", [16000, 22050, 44100, 48000])
def test_resample_keeps_duration_and_pitch(to_rate):
    out = resample(sine(2.0), SR, to_rate)
    assert out.dtype == np.float32
    assert out.size == pytest.approx(2.0 * to_rate, abs=2)
    assert dominant_frequency(out, to_rate) == pytest.approx(440.0, abs=1.0)


def test_resample_removes_what_the_new_rate_cannot_hold():
    out = resample(sine(1.0, freq=10000.0), SR, 16000)  # above the 8 kHz Nyquist limit
    assert np.sqrt(np.mean(out**2)) < 0.01


def test_resample_to_the_same_rate_is_a_copy():
    source = sine(0.1)
    out = resample(source, SR, SR)
    assert np.array_equal(out, source) and out is not source


def test_resample_handles_empty_input_and_refuses_bad_rates():
    assert resample(np.zeros(0, dtype=np.float32), SR, 48000).size == 0
    with pytest.raises(ValueError):
        resample(sine(0.1), 0, SR)


@pytest.mark.parametrize("fmt", AUDIO_FORMATS)
def test_resampled_audio_encodes_at_the_new_rate(fmt):
    data = encode_audio(resample(sine(1.0), SR, 44100), 44100, fmt)
    assert sf.info(io.BytesIO(data)).samplerate == 44100
