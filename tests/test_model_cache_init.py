"""model_cache_init.py against moto's S3 with the tiny models: upload once, restore, repair."""

import importlib.util
import json
import subprocess
import sys

import pytest

from f5worker.settings import Settings
from tests.helpers import REPO, s3_env, worker_env

spec = importlib.util.spec_from_file_location("model_cache_init", REPO / "model_cache_init.py")
model_cache_init = importlib.util.module_from_spec(spec)
sys.modules["model_cache_init"] = model_cache_init  # dataclasses look their module up there
spec.loader.exec_module(model_cache_init)


@pytest.fixture(autouse=True)
def quick_lock(monkeypatch):
    monkeypatch.setattr(model_cache_init, "LOCK_SETTLE_S", 0.05)


@pytest.fixture
def tiny_f5_dir(tiny_models):
    from pathlib import Path

    return Path(tiny_models["F5_CKPT_FILE"]).parent


def f5_spec(folder):
    return model_cache_init.ModelSpec("f5-tts/tiny", model_cache_init.copy_folder(folder))


def test_empty_bucket_uploads_then_a_fresh_worker_restores(s3_storage, tiny_f5_dir, tmp_path):
    first = model_cache_init.ensure_model(s3_storage, f5_spec(tiny_f5_dir), tmp_path / "a")
    assert first.action == "uploaded" and first.files == 4
    manifest = json.loads(s3_storage.get_bytes("models/f5-tts/tiny/manifest.json"))
    assert set(manifest["files"]) == {p.name for p in tiny_f5_dir.iterdir()}
    assert not s3_storage.exists("models/f5-tts/tiny/.lock")

    def no_public_source(_dest):
        raise AssertionError("a populated bucket must not send a worker to the public source")

    fresh = model_cache_init.ensure_model(
        s3_storage, model_cache_init.ModelSpec("f5-tts/tiny", no_public_source), tmp_path / "b"
    )
    assert fresh.action == "restored" and fresh.files == 4
    for path in tiny_f5_dir.iterdir():
        assert (tmp_path / "b" / "f5-tts" / "tiny" / path.name).read_bytes() == path.read_bytes()
    again = model_cache_init.ensure_model(
        s3_storage, model_cache_init.ModelSpec("f5-tts/tiny", no_public_source), tmp_path / "b"
    )
    assert again.action == "verified" and again.files == 0


def test_a_corrupted_local_file_is_detected_and_repaired(s3_storage, tiny_f5_dir, tmp_path):
    model_cache_init.ensure_model(s3_storage, f5_spec(tiny_f5_dir), tmp_path / "seed")
    model_cache_init.ensure_model(s3_storage, f5_spec(tiny_f5_dir), tmp_path / "w")
    damaged = tmp_path / "w" / "f5-tts" / "tiny" / "vocab.txt"
    original = damaged.read_bytes()
    damaged.write_bytes(original[:-2] + b"?\n")  # same size, other bytes
    report = model_cache_init.ensure_model(s3_storage, f5_spec(tiny_f5_dir), tmp_path / "w")
    assert report.action == "restored" and report.files == 1
    assert damaged.read_bytes() == original


def test_a_corrupted_bucket_copy_fails_clearly(s3_storage, tiny_f5_dir, tmp_path):
    model_cache_init.ensure_model(s3_storage, f5_spec(tiny_f5_dir), tmp_path / "seed")
    s3_storage.put_bytes("models/f5-tts/tiny/vocab.txt", b"not the vocabulary")
    report = model_cache_init.ensure_model(s3_storage, f5_spec(tiny_f5_dir), tmp_path / "w")
    assert report.action == "failed" and "does not match its manifest" in report.error
    assert not (tmp_path / "w" / "f5-tts" / "tiny" / "vocab.txt").exists()


def test_two_concurrent_processes_upload_once(moto_endpoint, bucket, tiny_f5_dir, tmp_path):
    env = worker_env(**s3_env(moto_endpoint, bucket))
    command = [
        sys.executable,
        str(REPO / "model_cache_init.py"),
        "--only-extra",
        "--model",
        f"f5-tts/tiny={tiny_f5_dir}",
    ]
    processes = [
        subprocess.Popen(
            [*command, "--dest", str(tmp_path / f"w{i}")],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    outputs = [process.communicate(timeout=180) for process in processes]
    lines = [out.strip() for out, _err in outputs]
    assert all(process.returncode == 0 for process in processes), outputs
    assert sorted(line.split(":")[1].split()[0] for line in lines) == ["restored", "uploaded"], lines
    for i in range(2):
        assert (tmp_path / f"w{i}" / "f5-tts" / "tiny" / "vocab.txt").read_bytes() == (
            tiny_f5_dir / "vocab.txt"
        ).read_bytes()


def test_script_without_s3_has_nothing_to_do(tmp_path):
    result = subprocess.run(
        [sys.executable, str(REPO / "model_cache_init.py")],
        env=worker_env(STORAGE_DIR=str(tmp_path)),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and "nothing to do" in result.stderr


def test_configured_specs_follow_the_settings(tmp_path):
    names = [s.name for s in model_cache_init.configured_specs(Settings(whisper_model="large-v3"))]
    assert names == ["f5-tts/F5TTS_v1_Base", "vocos", "whisper/large-v3", "align/facebook/wav2vec2-base-960h"]
    explicit = Settings(
        f5_ckpt_file=tmp_path / "m.pt", f5_vocoder_path=tmp_path, whisper_model=str(tmp_path), align_model=str(tmp_path)
    )
    assert model_cache_init.configured_specs(explicit) == []


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
    names = [s.name for s in model_cache_init.configured_specs(settings)]
    expected = {"de": "align/jonatasgrosman/wav2vec2-large-xlsr-53-german", "en": "align/facebook/wav2vec2-base-960h"}
    assert names == sorted(expected[language] for language in cached)
    assert model_cache_init.configured_specs(settings.model_copy(update={"timing_engines": "google"})) == []
