import pytest

from f5worker.errors import InvalidInput, PayloadTooLarge
from f5worker.media.audio import decode_audio
from tests.helpers import convert_audio, espeak_wav


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
