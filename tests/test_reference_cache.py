"""The worker's voice cache: a stored voice is downloaded once and decoded once, until it changes."""

import numpy as np
import pytest

from f5worker.errors import InvalidInput
from f5worker.reference_cache import ReferenceCache, decode_reference
from f5worker.settings import Settings
from f5worker.storage.local import LocalStorage
from tests.helpers import espeak_wav


@pytest.fixture(scope="module")
def voices(tmp_path_factory):
    folder = tmp_path_factory.mktemp("voices")
    short = espeak_wav("The first voice.", folder / "a.wav")
    return short, espeak_wav("Another voice, a longer one.", folder / "b.wav")


@pytest.fixture
def settings(tmp_path):
    return Settings(storage_dir=tmp_path / "storage", voice_cache_dir=tmp_path / "cache")


def test_a_voice_is_fetched_and_decoded_once_for_many_uses(settings, voices):
    storage = LocalStorage(settings.storage_dir)
    storage.put_bytes("voices/narrator.wav", voices[0].read_bytes())
    cache = ReferenceCache(storage, settings)
    first = cache.voice_audio("voices/narrator.wav")
    second = cache.voice_audio("voices/narrator.wav")
    assert second is first and first.dtype == np.float32
    assert cache.files.downloads == 1
    info = cache.prepared_info()
    assert (info.misses, info.hits) == (1, 1)
    expected = decode_reference(voices[0].read_bytes(), settings.max_audio_s, "voice")
    assert np.array_equal(first, expected)  # the same preparation as audio sent with a job


def test_a_replaced_voice_is_fetched_and_decoded_again(settings, voices):
    storage = LocalStorage(settings.storage_dir)
    storage.put_bytes("voices/narrator.wav", voices[0].read_bytes())
    cache = ReferenceCache(storage, settings)
    before = cache.voice_audio("voices/narrator.wav")
    storage.put_bytes("voices/narrator.wav", voices[1].read_bytes())
    after = cache.voice_audio("voices/narrator.wav")
    assert cache.files.downloads == 2 and cache.prepared_info().misses == 2
    assert len(after) > len(before)  # the longer sentence, not the cached first voice


def test_the_memory_side_keeps_only_the_most_recent_voices(settings, voices):
    storage = LocalStorage(settings.storage_dir)
    for name in ("a", "b", "c"):
        storage.put_bytes(f"voices/{name}.wav", voices[0].read_bytes())
    cache = ReferenceCache(storage, settings, prepared_voices=2)
    for name in ("a", "b", "c", "a"):
        cache.voice_audio(f"voices/{name}.wav")
    info = cache.prepared_info()
    assert (info.currsize, info.misses, info.hits) == (2, 4, 0)  # "a" had been dropped for "c"
    assert cache.files.downloads == 3  # the disk side still holds all three


def test_a_voice_that_is_not_audio_is_refused_and_not_cached(settings):
    storage = LocalStorage(settings.storage_dir)
    storage.put_bytes("voices/broken.wav", b"not audio at all")
    cache = ReferenceCache(storage, settings)
    for _ in range(2):
        with pytest.raises(InvalidInput, match="^voice: "):
            cache.voice_audio("voices/broken.wav")
    assert cache.prepared_info().currsize == 0
