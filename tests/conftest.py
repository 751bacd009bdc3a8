"""Fixtures with real peers: moto's S3 server over HTTP on 127.0.0.1, and the worker's own context."""

from __future__ import annotations

import os
import uuid

import pytest
from moto.server import ThreadedMotoServer

from f5worker.context import build_context
from f5worker.engines import Engines
from f5worker.settings import Settings
from f5worker.storage.s3 import S3Storage
from tests.caption_rules import check_timing_files
from tests.helpers import (
    direct_s3_client,
    espeak_wav,
    free_port,
    guard_b2,
    s3_env,
    s3_settings_for,
    worker_api,
    worker_env,
)

pytest_plugins = ["tests.tiny_models"]  # the session-scoped tiny_models fixture

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

NARRATOR_TEXT = "This is the reference voice that the tests clone today."


@pytest.fixture(autouse=True)
def caption_rules_on_every_rendered_file(monkeypatch):
    """Every timing file a job renders in-process is held to the caption rules (tests/caption_rules.py)."""
    from f5worker.endpoints import timing_files

    render = timing_files.render_timing_files

    def checked(words, formats, options, speakers=None):
        files = render(words, formats, options, speakers)
        check_timing_files(files, options, speakers.speakers if speakers else ())
        return files

    monkeypatch.setattr(timing_files, "render_timing_files", checked)


@pytest.fixture(scope="session")
def moto_endpoint():
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def make_bucket(endpoint: str) -> str:
    name = f"test-{uuid.uuid4().hex[:12]}"
    direct_s3_client(endpoint, region="us-east-1").create_bucket(Bucket=name)  # us-east-1: no location constraint
    return name


@pytest.fixture
def bucket(moto_endpoint) -> str:
    """A fresh bucket per test, so tests never see each other's objects."""
    return make_bucket(moto_endpoint)


@pytest.fixture(scope="session")
def worker_bucket(moto_endpoint) -> str:
    return make_bucket(moto_endpoint)


@pytest.fixture(scope="session")
def tiny_tts_env(tiny_models) -> dict[str, str]:
    """Worker variables for the tiny F5-TTS (no alignment model: whisperx's import is tested elsewhere)."""
    wanted = ("F5_MODEL", "F5_CKPT_FILE", "F5_VOCAB_FILE", "F5_VOCODER_PATH", "F5_MODEL_CONFIG")
    return {name: tiny_models[name] for name in wanted} | {"TTS_ENABLED": "true"}


@pytest.fixture(scope="module")
def engines(tiny_tts_env) -> Engines:
    """The tiny F5-TTS and tiny.en Whisper, loaded in-process for handle_job tests (one set per module,
    so a module that breaks or patches its engines cannot affect another)."""
    from f5worker.engines import load_tts
    from f5worker.engines.whisper import WhisperEngine
    from tests.helpers import tiny_whisper_model

    settings = Settings(**{k.lower(): v for k, v in tiny_tts_env.items()}, whisper_model=tiny_whisper_model())
    loaded = Engines(device="cpu")
    loaded.load("tts", lambda: load_tts(settings, "cpu"))
    loaded.load("whisperx", lambda: WhisperEngine.load(settings, "cpu"))
    assert not loaded.errors, loaded.errors
    return loaded


@pytest.fixture(scope="session")
def s3_worker(moto_endpoint, worker_bucket, tiny_tts_env, tmp_path_factory):
    """One worker process for the end-to-end modules: ``--rp_serve_api`` with S3 and the tiny models.

    Starting a worker costs tens of seconds of imports and model loads, so the modules share it.
    """
    env = worker_env(**s3_env(moto_endpoint, worker_bucket), **tiny_tts_env)
    with worker_api(env, tmp_path_factory.mktemp("worker-logs") / "worker.log") as api:
        yield api


@pytest.fixture(scope="session")
def worker_storage(moto_endpoint, worker_bucket) -> S3Storage:
    """The shared worker's bucket, seen through the worker's own (B2-guarded) client."""
    storage = S3Storage(s3_settings_for(moto_endpoint, worker_bucket))
    guard_b2(storage.client)
    return storage


@pytest.fixture
def s3_settings(moto_endpoint, bucket, tmp_path) -> Settings:
    return s3_settings_for(
        moto_endpoint, bucket, storage_dir=tmp_path / "unused", s3_connect_timeout_s=2, s3_read_timeout_s=5
    )


@pytest.fixture
def s3_storage(s3_settings) -> S3Storage:
    storage = S3Storage(s3_settings)
    guard_b2(storage.client)
    return storage


@pytest.fixture
def local_settings(tmp_path) -> Settings:
    return Settings(storage_dir=tmp_path / "storage")


@pytest.fixture
def local_ctx(local_settings):
    return build_context(local_settings, engines=Engines())


@pytest.fixture
def s3_ctx(s3_settings, s3_storage):
    return build_context(s3_settings, engines=Engines(), storage=s3_storage)  # the voice cache reads it too


@pytest.fixture(scope="module")
def whisper_engines() -> Engines:
    """tiny.en, so that stt jobs pass the up-front engine check and reach decoding."""
    from f5worker.engines.whisper import WhisperEngine
    from tests.helpers import tiny_whisper_model

    loaded = Engines(device="cpu")
    loaded.load("whisperx", lambda: WhisperEngine.load(Settings(whisper_model=tiny_whisper_model()), "cpu"))
    assert not loaded.errors, loaded.errors
    return loaded


@pytest.fixture(scope="module")
def narrator_wav(tmp_path_factory):
    """The reference of the stored voice 'narrator': espeak-ng reading ``NARRATOR_TEXT``."""
    return espeak_wav(NARRATOR_TEXT, tmp_path_factory.mktemp("voice") / "narrator.wav")


@pytest.fixture
def context_with_narrator(tmp_path, narrator_wav):
    """Makes a worker context on local storage under ``tmp_path`` with the given engines and the stored
    voice 'narrator' (audio and reference text)."""

    def make(engines: Engines):
        settings = Settings(storage_dir=tmp_path / "storage", voice_cache_dir=tmp_path / "cache")
        ctx = build_context(settings, engines=engines)
        ctx.storage.put_bytes("voices/narrator.wav", narrator_wav.read_bytes())
        ctx.storage.put_bytes("voices/narrator.txt", NARRATOR_TEXT.encode())
        return ctx

    return make


@pytest.fixture
def narrator_ctx(context_with_narrator, engines):
    """The module's tiny F5-TTS and tiny.en Whisper, with the stored voice 'narrator'."""
    return context_with_narrator(engines)


@pytest.fixture(scope="module")
def spoken_engines() -> Engines:
    """Real speech for timing tests: the espeak-ng stand-in for F5-TTS (``tests/espeak_tts.py``) and the
    warm forced aligner, with no recogniser (every word must come from alignment)."""
    from f5worker.timing.aligner import ForcedAligner
    from tests.espeak_tts import EspeakTtsEngine

    loaded = Engines(device="cpu")
    loaded.loaded["tts"] = EspeakTtsEngine()
    loaded.load("aligner", ForcedAligner.load)
    assert not loaded.errors, loaded.errors
    return loaded
