"""f5worker/model_cache.py against moto's S3 with the tiny models: upload once, restore, repair."""

import json
import time

import pytest

from f5worker import model_cache
from f5worker.model_sources import ModelSpec, configured_specs, copy_folder
from f5worker.settings import Settings
from f5worker.storage import bucket_lock
from f5worker.storage.layout import model_lock_key


@pytest.fixture(autouse=True)
def quick_lock(monkeypatch):
    monkeypatch.setattr(bucket_lock, "SETTLE_S", 0.05)


def f5_spec(folder):
    return ModelSpec("f5-tts/tiny", copy_folder(folder))


def test_empty_bucket_uploads_then_a_fresh_worker_restores(s3_storage, tiny_f5_dir, tmp_path):
    first = model_cache.ensure_model(s3_storage, f5_spec(tiny_f5_dir), tmp_path / "a")
    assert first.action == "uploaded" and first.files == 4
    manifest = json.loads(s3_storage.get_bytes("models/f5-tts/tiny/manifest.json"))
    assert set(manifest["files"]) == {p.name for p in tiny_f5_dir.iterdir()}
    assert not s3_storage.exists("models/f5-tts/tiny/.lock")

    def no_public_source(_dest):
        raise AssertionError("a populated bucket must not send a worker to the public source")

    fresh = model_cache.ensure_model(s3_storage, ModelSpec("f5-tts/tiny", no_public_source), tmp_path / "b")
    assert fresh.action == "restored" and fresh.files == 4
    for path in tiny_f5_dir.iterdir():
        assert (tmp_path / "b" / "f5-tts" / "tiny" / path.name).read_bytes() == path.read_bytes()
    again = model_cache.ensure_model(s3_storage, ModelSpec("f5-tts/tiny", no_public_source), tmp_path / "b")
    assert again.action == "verified" and again.files == 0


def test_a_corrupted_local_file_is_detected_and_repaired(s3_storage, tiny_f5_dir, tmp_path):
    model_cache.ensure_model(s3_storage, f5_spec(tiny_f5_dir), tmp_path / "seed")
    model_cache.ensure_model(s3_storage, f5_spec(tiny_f5_dir), tmp_path / "w")
    damaged = tmp_path / "w" / "f5-tts" / "tiny" / "vocab.txt"
    original = damaged.read_bytes()
    damaged.write_bytes(original[:-2] + b"?\n")  # same size, other bytes
    report = model_cache.ensure_model(s3_storage, f5_spec(tiny_f5_dir), tmp_path / "w")
    assert report.action == "restored" and report.files == 1
    assert damaged.read_bytes() == original


def test_a_corrupted_bucket_copy_fails_clearly(s3_storage, tiny_f5_dir, tmp_path):
    model_cache.ensure_model(s3_storage, f5_spec(tiny_f5_dir), tmp_path / "seed")
    s3_storage.put_bytes("models/f5-tts/tiny/vocab.txt", b"not the vocabulary")
    report = model_cache.ensure_model(s3_storage, f5_spec(tiny_f5_dir), tmp_path / "w")
    assert report.action == "failed" and "does not match its manifest" in report.error
    assert not (tmp_path / "w" / "f5-tts" / "tiny" / "vocab.txt").exists()


def test_a_dead_uploaders_lock_is_taken_over(s3_storage, tiny_f5_dir, tmp_path, monkeypatch):
    """A worker killed mid-upload leaves its lock; once it is not renewed for LOCK_STALE_S, another uploads."""
    monkeypatch.setattr(model_cache, "LOCK_STALE_S", 1.0)
    monkeypatch.setattr(model_cache, "POLL_S", 0.2)
    s3_storage.put_bytes(model_lock_key("f5-tts/tiny"), bucket_lock.lock_body("killed-worker"))
    started = time.monotonic()
    report = model_cache.ensure_model(s3_storage, f5_spec(tiny_f5_dir), tmp_path / "w", wait_s=30)
    assert report.action == "uploaded" and 0.8 < time.monotonic() - started < 20
    assert not s3_storage.exists(model_lock_key("f5-tts/tiny"))


def test_configured_specs_follow_the_settings(tmp_path):
    names = [s.name for s in configured_specs(Settings(whisper_model="large-v3"))]
    assert names == ["f5-tts/F5TTS_v1_Base", "vocos", "whisper/large-v3", "align/facebook/wav2vec2-base-960h"]
    explicit = Settings(
        f5_ckpt_file=tmp_path / "m.pt", f5_vocoder_path=tmp_path, whisper_model=str(tmp_path), align_model=str(tmp_path)
    )
    assert configured_specs(explicit) == []


@pytest.mark.parametrize(
    ("align_model", "cached"),
    [
        ("off", []),
        ("WAV2VEC2_ASR_BASE_960H", []),  # a torchaudio pipeline: torchaudio fetches it itself
        ("en=facebook/wav2vec2-base-960h,de=jonatasgrosman/wav2vec2-large-xlsr-53-german", ["de", "en"]),
    ],
)
def test_hub_alignment_models_are_cached_under_align(align_model, cached):
    settings = Settings(tts_enabled=False, timing_engines="whisperx", whisper_model="/", align_model=align_model)
    names = [s.name for s in configured_specs(settings)]
    expected = {"de": "align/jonatasgrosman/wav2vec2-large-xlsr-53-german", "en": "align/facebook/wav2vec2-base-960h"}
    assert names == sorted(expected[language] for language in cached)
    assert configured_specs(Settings(tts_enabled=False, timing_engines="google", align_model=align_model)) == []
