import numpy as np
import pytest

from f5worker.errors import InvalidInput, PayloadTooLarge
from f5worker.media.audio import decode_audio
from tests.helpers import convert_audio, espeak_wav
from tests.media_variants import changing_stream, float_wav, speech_like, with_non_finite


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    return espeak_wav("Testing one two three.", tmp_path_factory.mktemp("audio") / "speech.wav")


@pytest.mark.parametrize("ext", ["wav", "flac", "mp3", "ogg"])
def test_common_formats_decode_to_mono_float32_at_the_asked_rate(speech, ext):
    source = speech if ext == "wav" else convert_audio(speech, speech.with_suffix(f".{ext}"))
    samples = decode_audio(source.read_bytes(), 16000, max_seconds=60)
    assert samples.dtype.name == "float32" and samples.ndim == 1
    assert 1.0 < samples.size / 16000 < 4.0
    assert 0.01 < abs(samples).max() <= 1.0


def test_non_audio_is_invalid_input_naming_the_field():
    with pytest.raises(InvalidInput, match="^ref_audio: not decodable audio"):
        decode_audio(b"%PDF-1.4 definitely not audio" * 50, 16000, 60, field="ref_audio")


def test_too_long_audio_is_payload_too_large(speech):
    with pytest.raises(PayloadTooLarge, match="MAX_AUDIO_S"):
        decode_audio(speech.read_bytes(), 16000, max_seconds=0.5)


def test_empty_audio_is_invalid():
    with pytest.raises(InvalidInput, match="empty"):
        decode_audio(b"", 16000, 60)


@pytest.mark.parametrize(
    ("fmt", "first", "second"),
    [
        ("mp3", (16000, 1), (44100, 1)),  # two mp3s of different rates joined
        ("mp3", (22050, 2), (32000, 1)),
        ("aac", (24000, 1), (24000, 2)),  # AAC mono then stereo
        ("aac", (16000, 2), (48000, 1)),
    ],
)
def test_a_stream_that_changes_rate_or_channels_midway_is_converted_frame_by_frame(fmt, first, second):
    samples = decode_audio(changing_stream(fmt, first, second), 16000, max_seconds=60)
    assert samples.dtype.name == "float32" and samples.ndim == 1
    assert 1.0 < samples.size / 16000 < 1.5  # both halves (0.6 s each), the second not lost or refused
    assert abs(samples[-4000:]).max() > 0.1


@pytest.mark.parametrize(("first", "second"), [((16000, 1), (48000, 1)), ((44100, 1), (44100, 2))])
def test_a_flac_stream_that_changes_format_midway_decodes_or_is_refused_as_invalid_input(first, second):
    data = changing_stream("flac", first, second)
    try:
        samples = decode_audio(data, 16000, max_seconds=60, field="ref_audio")
    except InvalidInput as exc:
        assert exc.message.startswith("ref_audio: not decodable audio (FLAC")
    else:
        assert samples.size > 0 and np.isfinite(samples).all()


def test_every_decoder_exception_is_invalid_input_naming_the_field(monkeypatch):
    """PyAV raises ValueError, TypeError, ... besides av.FFmpegError: none of them is internal_error."""
    from f5worker.media import audio

    for error in (ValueError("Frame does not match AudioResampler setup."), TypeError("x"), RuntimeError("y")):

        def broken(*_args, error=error):
            raise error

        monkeypatch.setattr(audio, "_decode", broken)
        with pytest.raises(InvalidInput, match=r"^voice: not decodable audio \(WAV: the decoder failed"):
            decode_audio(float_wav(speech_like()), 16000, 60, field="voice")


@pytest.mark.parametrize("values", [(np.nan,), (np.inf,), (-np.inf,), (np.nan, np.inf, -np.inf)])
def test_non_finite_samples_decode_as_silence_within_full_scale(values):
    data = float_wav(with_non_finite(speech_like(), values, every=331))
    for rate in (16000, 24000):  # stt's rate and the reference's
        samples = decode_audio(data, rate, max_seconds=60)
        assert np.isfinite(samples).all() and abs(samples).max() <= 1.0
        assert abs(samples).max() > 0.1  # the sound around them is kept


def test_samples_beyond_full_scale_are_clipped():
    samples = decode_audio(float_wav(speech_like() * 1e30), 16000, max_seconds=60)
    assert np.isfinite(samples).all() and abs(samples).max() == 1.0
