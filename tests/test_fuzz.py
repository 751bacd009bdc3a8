"""A fuzzer in the suite: generated requests, media and stored objects against the whole worker.

This module mirrors no module of f5worker: it drives the worker's one entry, ``dispatch.handle_job``
(and, in a smaller slice, the RunPod SDK's local API in a worker process), the way a hostile caller
and a hostile bucket would. Property for every generated job: the output is a valid output or an
error with a documented code (never ``internal_error``, never a traceback), a failed job leaves no
file in storage, and the worker answers ``health`` afterwards.

Generated inputs: requests for every endpoint (plausible fields mixed with arbitrary JSON values);
media (wav, float wav with NaN/inf, flac, mp3, AAC, Ogg; rates 8-48 kHz, mono/stereo; streams whose
rate or channel count changes mid-way; cut off; bytes flipped); stored objects (results records
corrupt, cut off, deeply nested, naming foreign files; non-UTF-8 timing files; voice files with odd
names, links out of the storage folder). Engines: espeak-ng standing in for F5-TTS
(``tests/espeak_tts.py``), Whisper tiny.en and the forced aligner, so ``tts`` and ``stt`` run for real.

Seed and budget are fixed for CI (under two minutes here) and printed; ``FUZZ_SEED`` picks another
seed and ``FUZZ_SCALE`` multiplies every budget for a longer run (``FUZZ_SCALE=20`` for a night).
Every failure found becomes a named test in the module of the code it broke (docs/notes/issue-21-harden.md).
"""

from __future__ import annotations

import base64
import functools
import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from f5worker.context import build_context
from f5worker.dispatch import handle_job
from f5worker.engines import Engines
from f5worker.errors import ERROR_CODES
from f5worker.media import url_fetch
from f5worker.settings import Settings
from f5worker.storage.layout import result_key
from f5worker.words import TIMING_FORMATS
from tests.helpers import worker_api, worker_env
from tests.media_variants import JOINABLE, changing_stream, float_wav, speech_like, tone, with_non_finite

FUZZ_SEED = int(os.environ.get("FUZZ_SEED", "21"))
FUZZ_SCALE = float(os.environ.get("FUZZ_SCALE", "1"))
BUDGET = {  # examples per property at FUZZ_SCALE=1
    "requests": 120,
    "media": 20,
    "stored": 60,
    "api": 6,
}
DOCUMENTED = set(ERROR_CODES) - {"internal_error"}


def examples(kind: str) -> int:
    return max(1, round(BUDGET[kind] * FUZZ_SCALE))


def fuzz_settings(kind: str):
    return settings(
        max_examples=examples(kind),
        deadline=None,
        database=None,  # a fixed seed, not a replay of whatever failed last on this machine
        derandomize=False,
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )


# --------------------------------------------------------------------------------------- the worker


@pytest.fixture(scope="module", autouse=True)
def announce(request):
    """The seed and the budget, on the terminal whatever the capture mode (CI's log keeps them)."""
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    line = (
        f"fuzz: seed {FUZZ_SEED} (FUZZ_SEED), budget "
        + ", ".join(f"{kind} {examples(kind)}" for kind in BUDGET)
        + f" examples (FUZZ_SCALE={FUZZ_SCALE:g})"
    )
    with capture.global_and_fixture_disabled():
        print(f"\n{line}")


@pytest.fixture(scope="module")
def fuzz_engines() -> Engines:
    from f5worker.engines.whisper import WhisperEngine
    from f5worker.timing.aligner import ForcedAligner
    from tests.espeak_tts import EspeakTtsEngine
    from tests.helpers import tiny_whisper_model

    loaded = Engines(device="cpu")
    loaded.loaded["tts"] = EspeakTtsEngine()
    loaded.load("whisperx", lambda: WhisperEngine.load(Settings(whisper_model=tiny_whisper_model()), "cpu"))
    loaded.load("aligner", ForcedAligner.load)
    assert not loaded.errors, loaded.errors
    return loaded


@pytest.fixture(scope="module")
def fuzz_ctx(tmp_path_factory, fuzz_engines):
    """One warm worker context for the whole run, on local storage, with a stored voice 'narrator'."""
    root = tmp_path_factory.mktemp("fuzz")
    settings_ = Settings(
        storage_dir=root / "storage",
        voice_cache_dir=root / "cache",
        max_audio_s=30.0,
        max_text_chars=2000,
        url_timeout_s=2.0,
    )
    ctx = build_context(settings_, engines=fuzz_engines)
    from tests.conftest import NARRATOR_TEXT
    from tests.helpers import espeak_wav

    ctx.storage.put_bytes("voices/narrator.wav", espeak_wav(NARRATOR_TEXT, root / "narrator.wav").read_bytes())
    ctx.storage.put_bytes("voices/narrator.txt", NARRATOR_TEXT.encode())
    ctx.fuzz_outside = root / "outside"  # where links out of the storage folder point
    ctx.fuzz_outside.mkdir()
    (ctx.fuzz_outside / "secret.json").write_text('{"job_id": "x", "endpoint": "tts", "created_at": "", "output": {}}')
    return ctx


@pytest.fixture(scope="module", autouse=True)
def no_real_network():
    """Every generated URL resolves to loopback here (refused as private): the fuzzer never leaves the machine."""
    original = url_fetch.resolve
    url_fetch.resolve = lambda host, port: ["127.0.0.1"]
    yield
    url_fetch.resolve = original


def files_under(root: Path) -> dict[str, int]:
    """Every file in the storage folder, temp names included, with its size (links as links)."""
    found = {}
    for folder, _dirs, names in os.walk(root):
        for name in names:
            path = Path(folder) / name
            found[str(path.relative_to(root))] = path.lstat().st_size
    return found


counter = iter(range(10**9))


def check_job(ctx, job_input: object) -> dict:
    """Run one job and hold it to the property; returns the output."""
    job_id = f"fuzz-{next(counter)}"
    before = files_under(ctx.storage.root)
    output = handle_job({"id": job_id, "input": job_input}, ctx)
    assert isinstance(output, dict), output
    json.dumps(output)  # a RunPod output must serialise
    if "error" in output:
        code, _, message = output["error"].partition(": ")
        assert code in DOCUMENTED, f"{output['error']}\ninput: {str(job_input)[:2000]}"
        assert "Traceback" not in message and len(message) <= 1000, output["error"][:2000]
        after = files_under(ctx.storage.root)
        changed = sorted(set(after.items()) ^ set(before.items()))
        assert not changed, f"failed job {job_id} changed storage {changed}: {output['error']}"
    health = handle_job({"id": "health", "input": {"endpoint": "health"}}, ctx)
    assert health.get("status") == "ok", health
    return output


# --------------------------------------------------------------------------------------- strategies

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.sampled_from([10**4000, -(10**300), 2**63, 0, -1])
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)
json_values = st.recursive(
    json_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)  # fmt: skip
blank_texts = st.text(alphabet=" \t\n\r\u3000\u00a0\u2028\u200b\ufeff\u180e\x0b", min_size=1, max_size=6)
words = st.sampled_from(["Hello.", "the", "blue", "box", "1999", "$5", "Dr.", "café", "—", "[narrator]", "[x]"])
spoken = st.lists(words, min_size=1, max_size=12).map(" ".join)
texts = spoken | blank_texts | st.text(max_size=60) | st.builds(lambda n: "[narrator] Hi. " * n, st.integers(0, 230))
timing_lines = st.sampled_from(["00:00:05,000 --> 00:59:00,000", "0:0:5,0-->0:59:0,0", "1\n", "WEBVTT", "{\\an8}"])
names = st.sampled_from(["narrator", "fuzzy", "nobody", "a b", "x\n", "../etc", "", "n" * 65]) | st.text(max_size=10)
job_ids = st.sampled_from(["fuzz-stored", "nothing", "a b", "../x", "", "z" * 129]) | st.text(max_size=10)
keys = st.sampled_from(
    ["voices/narrator.wav", "voices/fuzzy.wav", "outputs/fuzz-stored/audio.wav", "voices/../x.wav", "voices/a b.wav"]
)
urls = st.sampled_from(
    ["http://example.com/a.wav", "http://[::ffff:0:127.0.0.1]/a", "http://[64:ff9b::a9fe:a9fe]/", "ftp://x/y"]
)


def field_values(plausible: st.SearchStrategy) -> st.SearchStrategy:
    """Mostly plausible values, sometimes any JSON value at all."""
    return st.one_of(plausible, plausible, plausible, json_values)


TTS_FIELDS = {
    "text": texts | st.builds(lambda a, b: f"{a} {b}", spoken, timing_lines),
    "voice": names,
    "ref_audio": keys | urls | st.text(max_size=20),
    "ref_text": texts,
    "segments": st.lists(st.fixed_dictionaries({"voice": names, "text": texts}), max_size=3),
    "speed": st.floats(0.1, 4),
    "nfe_step": st.integers(1, 80),
    "seed": st.integers(-1, 2**32),
    "fix_duration": st.floats(0, 700),
    "output_format": st.sampled_from(["wav", "flac", "mp3", "ogg", "aiff"]),
    "sample_rate": st.sampled_from([8000, 16000, 24000, 44100, 12345]),
    "return_word_timings": st.booleans(),
    "timing_formats": st.lists(st.sampled_from([*TIMING_FORMATS, "txt"]), max_size=3),
    "delivery": st.sampled_from(["url", "text", "base64"]),
    "return_audio": st.sampled_from(["url", "base64", "both"]),
    "remove_silence": st.booleans(),
    "normalize_text": st.booleans(),
    "stream": st.booleans(),
    "max_lines": st.integers(0, 5),
}
STT_FIELDS = {
    "audio": keys | urls | st.text(max_size=20),
    "text": texts,
    "language": st.sampled_from(["en", "de", "xx", "EN", "en-US"]),
    "timing_formats": st.lists(st.sampled_from(list(TIMING_FORMATS)), max_size=3),
    "delivery": st.sampled_from(["url", "text"]),
    "timing_engine": st.sampled_from(["auto", "whisperx", "google"]),
}
VOICES_FIELDS = {
    "action": st.sampled_from(["list", "upload", "delete", "rename"]),
    "name": names,
    "key": keys | st.text(max_size=12),
    "audio": keys | urls,
    "text": texts,
    "overwrite": st.booleans(),
}
DOWNLOAD_FIELDS = {
    "job_id": job_ids,
    "file": st.sampled_from(["audio", *TIMING_FORMATS, "exe"]),
    "delivery": st.sampled_from(["url", "base64", "text"]),
}


@st.composite
def requests(draw) -> object:
    endpoint = draw(st.sampled_from(["tts", "stt", "voices", "download", "result", "health", "nope", None]))
    fields = {
        "tts": TTS_FIELDS,
        "stt": STT_FIELDS,
        "voices": VOICES_FIELDS,
        "download": DOWNLOAD_FIELDS,
        "result": {"job_id": job_ids},
    }.get(endpoint, {})
    chosen = draw(st.lists(st.sampled_from(sorted(fields)), unique=True, max_size=len(fields))) if fields else []
    job = {name: draw(field_values(fields[name])) for name in chosen}
    if draw(st.booleans()):
        job["endpoint"] = endpoint
    if draw(st.integers(0, 9)) == 0:
        job[draw(st.text(max_size=12))] = draw(json_values)  # an unknown field
    return job if draw(st.integers(0, 19)) else draw(json_values)  # now and then not even an object


# Media: base encodings made once (ffmpeg), then combined, cut and damaged per example.
CODECS = ["wav", "flac", "mp3", "aac", "ogg"]
RATES = [8000, 16000, 22050, 44100, 48000]


@functools.cache
def encoded(fmt: str, rate: int, channels: int) -> bytes:
    return tone(rate, channels, fmt, seconds=0.8)


@functools.cache
def changing(fmt: str, first: tuple[int, int], second: tuple[int, int]) -> bytes:
    return changing_stream(fmt, first, second)


@st.composite
def media(draw) -> bytes:
    kind = draw(st.sampled_from(["plain", "plain", "changing", "changing", "changing", "non-finite", "garbage"]))
    if kind == "plain":
        data = encoded(draw(st.sampled_from(CODECS)), draw(st.sampled_from(RATES)), draw(st.integers(1, 2)))
    elif kind == "changing":
        fmt = draw(st.sampled_from([*JOINABLE, "flac"]))
        first = (draw(st.sampled_from(RATES)), draw(st.integers(1, 2)))
        second = (draw(st.sampled_from(RATES)), draw(st.integers(1, 2)))
        data = changing(fmt, first, second)
    elif kind == "non-finite":
        values = draw(st.lists(st.sampled_from([float("nan"), float("inf"), float("-inf"), 1e30]), min_size=1))
        data = float_wav(with_non_finite(speech_like(16000, 1.2), tuple(values), every=draw(st.integers(1, 4000))))
    else:
        data = draw(st.sampled_from([b"RIFF", b"fLaC", b"ID3\x04", b"OggS", b"\xff\xfb"])) + draw(
            st.binary(max_size=200)
        )
    if draw(st.integers(0, 2)) == 0:  # cut off
        data = data[: max(1, int(len(data) * draw(st.floats(0.0, 1.0))))]
    flips = (
        draw(st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=2)) if draw(st.booleans()) else []
    )
    damaged = bytearray(data)
    for position, value in flips:
        damaged[position % len(damaged)] = value
    return bytes(damaged)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# --------------------------------------------------------------------------------------- properties


@seed(FUZZ_SEED)
@fuzz_settings("requests")
@given(job_input=requests())
def test_generated_requests_get_an_output_or_a_documented_error(fuzz_ctx, job_input):
    check_job(fuzz_ctx, job_input)


@seed(FUZZ_SEED)
@fuzz_settings("media")
@given(data=media(), use=st.sampled_from(["stt", "ref_audio", "upload", "stored voice"]), via_key=st.booleans())
def test_generated_media_on_every_input_path(fuzz_ctx, data, use, via_key):
    """stt, tts ref_audio, voice upload, and tts with a stored voice of that audio."""
    source = b64(data)
    if via_key:
        fuzz_ctx.storage.put_bytes("outputs/fuzz-media/input.bin", data)
        source = "outputs/fuzz-media/input.bin"
    if use == "stt":
        check_job(fuzz_ctx, {"endpoint": "stt", "audio": source, "language": "en"})
    elif use == "ref_audio":
        check_job(fuzz_ctx, {"endpoint": "tts", "text": "Hello there.", "ref_audio": source, "ref_text": "Hello."})
    elif use == "upload":
        check_job(
            fuzz_ctx, {"endpoint": "voices", "action": "upload", "name": "fuzzy", "audio": source, "overwrite": True}
        )
        check_job(fuzz_ctx, {"endpoint": "voices", "action": "list"})
    else:
        fuzz_ctx.storage.put_bytes("voices/stored.wav", data)  # placed in the bucket by hand: never checked
        check_job(fuzz_ctx, {"endpoint": "tts", "text": "Hello there.", "voice": "stored", "ref_text": "Hello."})
        check_job(fuzz_ctx, {"endpoint": "voices", "action": "list"})


def _record(job_id: str, output: object) -> bytes:
    return json.dumps({"job_id": job_id, "endpoint": "tts", "created_at": "2026-01-01", "output": output}).encode()


stored_bodies = st.one_of(
    st.binary(max_size=100),
    st.builds(lambda value: json.dumps(value).encode(), json_values),
    st.sampled_from(
        [b"[" * 5000 + b"]" * 5000, b'{"a": ' * 40 + b"1" + b"}" * 40, b"\xff\xfe\x00", b"null", b"[NaN, Infinity]"]
    ),
    st.builds(
        lambda file, key: _record("fuzz-stored", {"audio": {"key": key}, "files": {file: {"key": key}}}),
        st.sampled_from(list(TIMING_FORMATS)),
        st.sampled_from(
            [
                "outputs/fuzz-stored/timings.srt",
                "outputs/fuzz-stored/audio.x y.wav",
                "outputs/fuzz-stored/timings.exe",
                "outputs/other/timings.srt",
                "voices/narrator.wav",
                "../../etc/passwd",
            ]
        ),
    )
    | st.builds(lambda record: record[: len(record) // 2], st.just(_record("fuzz-stored", {"text": "cut"}))),
)


@st.composite
def stored_objects(draw) -> tuple[str, bytes, str]:
    """(key or odd local file name, body, how it is placed: put, raw file, link out of the root)."""
    target = draw(
        st.sampled_from(
            [
                result_key("fuzz-stored"),
                "outputs/fuzz-stored/timings.srt",
                "outputs/fuzz-stored/timings.json",
                "outputs/fuzz-stored/audio.wav",
                "outputs/fuzz-stored/audio.x y.wav",
                "outputs/fuzz-stored/audio.wav\n",
                "voices/fuzzy.txt",
                "voices/fuzzy.json",
                "voices/fuzzy.srt",
                "voices/odd\n.wav",
                "voices/odd name.wav",
                "voices/fuzzy.wav",
            ]
        )
    )
    body = draw(stored_bodies | media())
    how = draw(st.sampled_from(["put", "raw", "raw", "link", "loop"]))
    return target, body, how


STORED_JOBS = [
    {"endpoint": "download", "job_id": "fuzz-stored", "file": "srt", "delivery": "text"},
    {"endpoint": "download", "job_id": "fuzz-stored", "file": "json", "delivery": "base64"},
    {"endpoint": "download", "job_id": "fuzz-stored", "file": "audio"},
    {"endpoint": "result", "job_id": "fuzz-stored"},
    {"endpoint": "voices", "action": "list"},
    {"endpoint": "tts", "text": "Hi there.", "voice": "fuzzy"},
    {"endpoint": "stt", "audio": "voices/fuzzy.wav", "language": "en"},
]


@seed(FUZZ_SEED)
@fuzz_settings("stored")
@given(objects=st.lists(stored_objects(), min_size=1, max_size=3), job=st.sampled_from(STORED_JOBS))
def test_generated_stored_objects_are_never_trusted(fuzz_ctx, objects, job):
    root = fuzz_ctx.storage.root
    for target, body, how in objects:
        path = root / target
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_symlink() or path.exists():
            path.unlink()
        if how == "loop":
            path.symlink_to(path)
        elif how == "link":
            outside = fuzz_ctx.fuzz_outside / f"body-{len(body)}"
            outside.write_bytes(body)
            path.symlink_to(outside)
        elif how == "put" and "\n" not in target and " " not in target:
            fuzz_ctx.storage.put_bytes(target, body)
        else:
            path.write_bytes(body)
    check_job(fuzz_ctx, job)


@fuzz_settings("api")
@seed(FUZZ_SEED)
@given(batch=st.lists(requests().filter(lambda job: "http" not in json.dumps(job)), min_size=1, max_size=3))
def test_a_slice_through_the_sdk_local_api(sdk_worker, batch):
    """The same property through the real SDK (``--rp_serve_api``): FAILED only with a documented code."""
    for job_input in batch:
        body = sdk_worker.runsync(job_input if isinstance(job_input, dict) else {"value": job_input})
        if body.get("status") == "FAILED":
            code = str(body.get("error", "")).partition(": ")[0]
            assert code in DOCUMENTED, body
        else:
            assert body.get("status") == "COMPLETED", body
    assert sdk_worker.runsync({"endpoint": "health"}).get("output", {}).get("status") == "ok"


@pytest.fixture(scope="module")
def sdk_worker(tmp_path_factory):
    """One worker process (Whisper tiny.en, TTS off) serving the SDK's local API for the module."""
    root = tmp_path_factory.mktemp("fuzz-api")
    env = worker_env(STORAGE_DIR=str(root / "storage"), TIMING_ENGINES="whisperx", URL_TIMEOUT_S="2")
    with worker_api(env, root / "worker.log") as api:
        yield api
