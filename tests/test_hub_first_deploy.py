"""A first deploy's download path against a local model hub (``tests/fake_hub.py``), with the default names.

``HF_ENDPOINT`` points huggingface_hub (used by ``model_cache_init.py``, cached_path's ``hf://`` scheme and
faster-whisper) at the fake hub, which serves the tiny test models under the real repository ids:
``SWivid/F5-TTS`` (``F5TTS_v1_Base/model_1250000.safetensors`` + ``vocab.txt``), ``charactr/vocos-mel-24khz``
and ``Systran/faster-whisper-large-v3`` (Whisper tiny.en's files). ``HF_HUB_OFFLINE`` is unset, ``HF_HOME``
is a temp dir. Only ``F5_MODEL_CONFIG`` (the tiny architecture; the hub does not serve yamls) is set.
Storage is moto's S3 server.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from f5worker.storage.s3 import S3Storage
from tests.conftest import make_bucket
from tests.fake_hub import FakeHub, file_key, populate
from tests.helpers import (
    REPO,
    WorkerAPI,
    espeak_wav,
    run_test_input,
    s3_env,
    s3_settings_for,
    tiny_whisper_model,
    worker_env,
)

pytestmark = pytest.mark.timeout(600)

VOICE_TEXT = "This is the voice the first deploy clones."
MODELS = ("f5-tts/F5TTS_v1_Base", "vocos", "whisper/large-v3", "align/facebook/wav2vec2-base-960h")
TINY_ALIGN_FILES = (  # what scripts/make-tiny-models.py writes, as facebook/wav2vec2-base-960h has them
    "config.json",
    "model.safetensors",
    "preprocessor_config.json",
    "special_tokens_map.json",
    "tokenizer_config.json",
    "vocab.json",
)
HUB_FILES = {
    "f5-tts/F5TTS_v1_Base": [
        ("SWivid/F5-TTS", "F5TTS_v1_Base/model_1250000.safetensors"),
        ("SWivid/F5-TTS", "F5TTS_v1_Base/vocab.txt"),
    ],
    "vocos": [("charactr/vocos-mel-24khz", "config.yaml"), ("charactr/vocos-mel-24khz", "pytorch_model.bin")],
    "whisper/large-v3": [
        ("Systran/faster-whisper-large-v3", name)
        for name in ("config.json", "model.bin", "tokenizer.json", "vocabulary.txt")
    ],
    "align/facebook/wav2vec2-base-960h": [("facebook/wav2vec2-base-960h", name) for name in TINY_ALIGN_FILES],
}


@pytest.fixture(scope="module")
def hub_root(tmp_path_factory, tiny_models) -> Path:
    return populate(tmp_path_factory.mktemp("hub"), tiny_models, Path(tiny_whisper_model()))


def hub_env(hub_url: str, tmp: Path, tiny_models: dict, **extra: str) -> dict[str, str]:
    """The worker's environment on a first deploy: default model names, the hub at HF_ENDPOINT."""
    settings = {
        "HF_ENDPOINT": hub_url,
        "HF_HOME": str(tmp / "hf-home"),
        "CACHED_PATH_CACHE_ROOT": str(tmp / "cp"),
        "TTS_ENABLED": "true",
        "F5_MODEL_CONFIG": tiny_models["F5_MODEL_CONFIG"],
        "TIMING_ENGINES": "whisperx",
    }
    env = worker_env(**(settings | extra))
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "WHISPER_MODEL", "HF_TOKEN"):
        env.pop(name, None)
    return env


def cache_init(env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(REPO / "model_cache_init.py")],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def storage_for(endpoint: str, bucket: str) -> S3Storage:
    return S3Storage(s3_settings_for(endpoint, bucket))


def resolve_path(repo: str, filename: str) -> str:
    """The key FakeHub.downloads() counts by (revision left out: snapshot_download pins the commit)."""
    return f"{repo}/{filename}"


@pytest.fixture(scope="module")
def first_deploy(hub_root, tiny_models, moto_endpoint, tmp_path_factory):
    """Empty bucket, empty volume: model_cache_init.py against the hub, then the worker on what it cached."""
    tmp = tmp_path_factory.mktemp("first-deploy")
    bucket = make_bucket(moto_endpoint)
    with FakeHub(hub_root) as hub:
        env = hub_env(hub.url, tmp, tiny_models, MODEL_CACHE_DIR=str(tmp / "volume-1"), **s3_env(moto_endpoint, bucket))
        result = cache_init(env)
        after_init = hub.log()
        assert result.returncode == 0, result.stdout + result.stderr
        worker = WorkerAPI(env, tmp / "worker-1.log")
        try:
            worker.wait_ready(timeout=300)
            speech = espeak_wav(VOICE_TEXT, tmp / "voice.wav")
            worker.output(
                {
                    "endpoint": "voices",
                    "action": "upload",
                    "name": "first",
                    "text": VOICE_TEXT,
                    "audio": base64.b64encode(speech.read_bytes()).decode(),
                }
            )
            tts = worker.output(
                {
                    "endpoint": "tts",
                    "text": "Hello from the first deploy.",
                    "voice": "first",
                    "nfe_step": 4,
                    "return_word_timings": True,
                    "timing_formats": ["srt"],
                },
                timeout=300,
            )
            health = worker.output({"endpoint": "health"})
        finally:
            worker.stop()
        hub_requests = hub.log()
    # The hub is stopped from here on: HF_ENDPOINT now points at a closed port.
    return {
        "result": result,
        "init_requests": after_init,
        "hub_requests": hub_requests,
        "tts": tts,
        "health": health,
        "bucket": bucket,
        "env": env,
        "tmp": tmp,
    }


def test_first_start_fetches_every_default_model_once_and_uploads_it_with_a_manifest(first_deploy, moto_endpoint):
    result = first_deploy["result"]
    assert result.returncode == 0, result.stdout + result.stderr
    for name in MODELS:
        assert f"model {name}: uploaded" in result.stdout
    requests = first_deploy["init_requests"]
    gets = [r for r in requests if r.method == "GET" and "/resolve/" in r.path]
    expected = sorted(resolve_path(repo, filename) for files in HUB_FILES.values() for repo, filename in files)
    assert sorted(file_key(r.path) for r in gets) == expected, "every file exactly once"
    assert all(r.status == 200 and r.range is None for r in gets)

    storage = storage_for(moto_endpoint, first_deploy["bucket"])
    for name in MODELS:
        manifest = json.loads(storage.get_bytes(f"models/{name}/manifest.json"))
        assert sorted(manifest["files"]) == sorted(Path(f).name for _, f in HUB_FILES[name])
        assert not storage.exists(f"models/{name}/.lock")
    keys = storage.list_keys("models/")
    assert all(key.startswith(tuple(f"models/{name}/" for name in MODELS)) for key in keys), keys
    print(f"hub requests: {len(requests)}; bytes served {sum(r.sent for r in requests)}; bucket objects {len(keys)}")


def test_the_worker_warm_loads_from_the_cache_and_serves_tts_with_timings_without_the_hub(first_deploy):
    assert first_deploy["hub_requests"] == first_deploy["init_requests"], "the worker itself never asked the hub"
    tts = first_deploy["tts"]
    assert tts["audio"]["duration_s"] > 0 and tts["timings"]["files"]["srt"]["key"].endswith("timings.srt")
    assert first_deploy["health"]["engines"]["tts"]["loaded"] is True
    assert first_deploy["health"]["engines"]["whisperx"]["loaded"] is True
    assert first_deploy["health"]["alignment"]["whisperx"]["languages"] == ["en"]  # the default ALIGN_MODEL


def test_a_second_fresh_worker_restores_everything_from_the_bucket_with_the_hub_stopped(first_deploy, tmp_path):
    env = dict(first_deploy["env"], MODEL_CACHE_DIR=str(tmp_path / "volume-2"), HF_HOME=str(tmp_path / "hf"))
    result = cache_init(env)
    assert result.returncode == 0, result.stdout + result.stderr
    for name in MODELS:
        assert f"model {name}: restored" in result.stdout
        first = Path(first_deploy["env"]["MODEL_CACHE_DIR"]) / name
        for path in first.iterdir():
            if not path.name.startswith("."):
                assert (tmp_path / "volume-2" / name / path.name).read_bytes() == path.read_bytes()
    # and the worker warm-loads from that copy (a hub request would fail: the hub is stopped)
    health = run_test_input({"endpoint": "health"}, env, timeout=300)
    assert health.returncode == 0, health.stdout[-3000:] + health.stderr[-3000:]
    logged = health.stdout + health.stderr
    assert f"whisper model {tmp_path / 'volume-2' / 'whisper' / 'large-v3'}" in logged, logged[-3000:]


# ------------------------------------------------------------------ hub errors


@pytest.fixture(scope="module")
def faulty_hub(hub_root):
    """One hub for the fault tests; each test sets its own fault (and clears the others)."""
    with FakeHub(hub_root) as hub:
        yield hub


def cache_init_on_a_new_bucket(hub: FakeHub, moto_endpoint: str, tiny_models: dict, tmp: Path, **extra: str) -> tuple:
    """model_cache_init.py against the hub with an empty bucket and volume; its result and the bucket."""
    bucket = make_bucket(moto_endpoint)
    env = hub_env(
        hub.url, tmp, tiny_models, MODEL_CACHE_DIR=str(tmp / "volume"), **s3_env(moto_endpoint, bucket), **extra
    )
    return cache_init(env), storage_for(moto_endpoint, bucket)


def tts_only_start(hub: FakeHub, moto_endpoint: str, tiny_models: dict, tmp: Path) -> tuple:
    """model_cache_init.py for F5-TTS and Vocos only (Whisper's 75 MB model.bin is covered above)."""
    return cache_init_on_a_new_bucket(hub, moto_endpoint, tiny_models, tmp, TIMING_ENGINES="google")


FAULT_CASES = [
    ("404", "f5-tts/F5TTS_v1_Base", "SWivid/F5-TTS", "F5TTS_v1_Base/model_1250000.safetensors", "404 Client Error"),
    ("500", "vocos", "charactr/vocos-mel-24khz", "config.yaml", "500 Server Error"),
    ("truncate", "f5-tts/F5TTS_v1_Base", "SWivid/F5-TTS", "F5TTS_v1_Base/vocab.txt", "IncompleteRead"),
    ("wrong-etag", "vocos", "charactr/vocos-mel-24khz", "pytorch_model.bin", "do not match the hub's ETag"),
]


@pytest.mark.parametrize(("fault", "model", "repo", "filename", "cause"), FAULT_CASES, ids=[c[0] for c in FAULT_CASES])
def test_a_hub_error_fails_the_start_naming_model_and_cause_and_leaves_nothing_half_written(
    faulty_hub, moto_endpoint, tiny_models, tmp_path, fault, model, repo, filename, cause
):
    faulty_hub.faults.clear()
    faulty_hub.faults[(repo, filename)] = fault
    result, storage = tts_only_start(faulty_hub, moto_endpoint, tiny_models, tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith(f"model {model}: "))
    assert line.startswith(f"model {model}: failed (") and cause in line, line
    assert filename in line or "ETag" in line, line
    assert storage.list_keys(f"models/{model}/") == [], "no object, no manifest, no lock of the failed model"
    cache = tmp_path / "volume"
    assert not (cache / model).exists() or not any((cache / model).iterdir())
    assert not [p for p in cache.rglob("*") if p.name.startswith(("model-fetch-", ".hub-", ".tmp-"))]
    other = next(name for name in ("f5-tts/F5TTS_v1_Base", "vocos") if name != model)
    assert f"model {other}: uploaded" in result.stdout  # the healthy model is unaffected


def test_a_body_cut_short_once_is_fetched_again_and_the_model_uploads(faulty_hub, moto_endpoint, tiny_models, tmp_path):
    """huggingface_hub 0.36 raises at once on a short body (no resume); model_cache_init.py asks once more."""
    repo, filename = "SWivid/F5-TTS", "F5TTS_v1_Base/model_1250000.safetensors"
    faulty_hub.faults.clear()
    faulty_hub.faults[(repo, filename)] = "truncate-once"
    before = len(faulty_hub.log())
    result, storage = tts_only_start(faulty_hub, moto_endpoint, tiny_models, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    wanted = resolve_path(repo, filename)
    gets = [r for r in faulty_hub.log()[before:] if r.method == "GET" and file_key(r.path) == wanted]
    size = (faulty_hub.root / repo / filename).stat().st_size
    assert [(r.status, r.sent) for r in gets] == [(200, size // 2), (200, size)], gets
    assert storage.get_bytes(f"models/f5-tts/{filename}") == (faulty_hub.root / repo / filename).read_bytes()


def test_a_stalled_body_is_resumed_with_a_ranged_get(faulty_hub, moto_endpoint, tiny_models, tmp_path):
    """A read timeout mid-body is huggingface_hub's own resume case: it asks for the rest with Range.

    It writes in 10 MiB chunks, so only a file past that size (Whisper's model.bin, 75 MB) has kept bytes
    to resume from; the tiny F5 and Vocos files would simply be fetched again from the start.
    """
    repo, filename = "Systran/faster-whisper-large-v3", "model.bin"
    faulty_hub.faults.clear()
    faulty_hub.faults[(repo, filename)] = "stall-once"
    before = len(faulty_hub.log())
    result, storage = cache_init_on_a_new_bucket(
        faulty_hub, moto_endpoint, tiny_models, tmp_path, TTS_ENABLED="false", HF_HUB_DOWNLOAD_TIMEOUT="1"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    wanted = resolve_path(repo, filename)
    gets = sorted(
        (r.status, r.range) for r in faulty_hub.log()[before:] if r.method == "GET" and file_key(r.path) == wanted
    )
    assert [status for status, _ in gets] == [200, 206] and gets[0][1] is None, gets
    resumed_from = int(gets[1][1].removeprefix("bytes=").removesuffix("-"))
    assert resumed_from > 0 and resumed_from % (10 * 1024 * 1024) == 0, gets
    data = (faulty_hub.root / repo / filename).read_bytes()
    assert storage.get_bytes(f"models/whisper/large-v3/{filename}") == data


# ------------------------------------------------------------------ two workers at once


def test_two_workers_starting_at_once_on_an_empty_bucket_fetch_from_the_hub_once_in_total(
    hub_root, tiny_models, moto_endpoint, tmp_path
):
    bucket = make_bucket(moto_endpoint)
    with FakeHub(hub_root) as hub:
        runs = []
        for n in (1, 2):
            env = hub_env(
                hub.url,
                tmp_path / f"w{n}",
                tiny_models,
                MODEL_CACHE_DIR=str(tmp_path / f"volume-{n}"),
                **s3_env(moto_endpoint, bucket),
            )
            runs.append(
                subprocess.Popen(
                    [sys.executable, str(REPO / "model_cache_init.py")],
                    cwd=REPO,
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
            )
        outputs = [run.communicate(timeout=400)[0] for run in runs]
        assert [run.returncode for run in runs] == [0, 0], outputs
        downloads = hub.downloads()
    expected = {resolve_path(repo, filename): 1 for files in HUB_FILES.values() for repo, filename in files}
    assert downloads == expected
    for name in MODELS:
        actions = sorted(
            line.split(": ")[1].split(" ")[0]
            for out in outputs
            for line in out.splitlines()
            if line.startswith(f"model {name}: ")
        )
        assert actions == ["restored", "uploaded"], outputs
        for n in (1, 2):
            assert any((tmp_path / f"volume-{n}" / name).iterdir())


# ------------------------------------------------------------------ the README's hub command


def test_demo_hub_runs_against_the_fake_hub(hub_root, tiny_models, tmp_path):
    with FakeHub(hub_root) as hub:
        env = hub_env(
            hub.url,
            tmp_path,
            tiny_models,
            SKIP_SETUP="1",
            STORAGE_DIR=str(tmp_path / "storage"),
            MODEL_CACHE_DIR=str(tmp_path / "volume"),
        )
        started = time.monotonic()
        demo = subprocess.run(
            ["bash", "scripts/demo.sh", "--hub"], cwd=REPO, env=env, capture_output=True, text=True, timeout=540
        )
        fetched = hub.downloads()
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    assert "demo: tts ok" in demo.stdout and "-->" in demo.stdout  # an SRT cue
    for repo, filename in [*HUB_FILES["f5-tts/F5TTS_v1_Base"], *HUB_FILES["vocos"], *HUB_FILES["whisper/large-v3"]]:
        assert fetched.get(resolve_path(repo, filename)) == 1, fetched
    print(f"demo --hub: {time.monotonic() - started:.0f} s")
    assert os.environ.get("HF_HUB_OFFLINE") != "0"  # this process's setting is untouched
