"""Hostile and malformed jobs: each is refused with a clear error naming its field, nothing is left behind.

A corpus of malformed jobs runs through ``handle_job`` against local storage and the real tiny engines
(F5-TTS and tiny.en loaded, so nothing stops early at ``engine_unavailable``), with
``ALLOW_PRIVATE_URLS`` unset. Then hypothesis fuzzes the request schemas and ``parse_request``, and a
worker in the SDK's production loop with S3 credentials runs jobs at DEBUG log level while its whole
log is searched for the secret key.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import math
import struct
import subprocess
import tempfile
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from f5worker import schemas
from f5worker.context import build_context
from f5worker.dispatch import ENDPOINTS, handle_job, parse_request
from f5worker.errors import InvalidInput
from f5worker.media import url_fetch
from f5worker.settings import Settings
from f5worker.storage.s3 import S3Storage
from tests.conftest import make_bucket
from tests.helpers import TEST_SECRET_KEY, espeak_wav, s3_env, worker_env
from tests.job_queue import JobQueue, ProductionWorker

REFERENCE_TEXT = "This is the reference voice that the tests clone today."
MAX_INPUT_BYTES = 1024 * 1024  # small limits keep the oversized inputs cheap to build
MAX_AUDIO_S = 60.0
SEEDED_VOICE_KEYS = ["voices/narrator.txt", "voices/narrator.wav"]


# --------------------------------------------------------------------------- payloads


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def wav_header_claiming_hours() -> bytes:
    """A PCM wav whose header says about 6 hours of 48 kHz stereo; one second of silence follows."""
    data_size = 0xFFFF0000
    header = b"RIFF" + struct.pack("<I", data_size + 36) + b"WAVE"
    header += b"fmt " + struct.pack("<IHHIIHH", 16, 1, 2, 48000, 48000 * 4, 4, 16)
    return header + b"data" + struct.pack("<I", data_size) + bytes(48000 * 4)


def gzip_bomb() -> bytes:
    return gzip.compress(bytes(32 * 1024 * 1024), compresslevel=9)  # 32 MiB of zeros in about 32 KB


def zip_bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("speech.wav", bytes(16 * 1024 * 1024))
    return buffer.getvalue()


def nested(depth: int, leaf: object = "x", as_dict: bool = False) -> object:
    value = leaf
    for _ in range(depth):
        value = {"a": value} if as_dict else [value]
    return value


@pytest.fixture(scope="module")
def flac_bomb(tmp_path_factory) -> bytes:
    """Two hours of digital silence in about 20 KB of FLAC: decodes to hundreds of MB of samples."""
    path = tmp_path_factory.mktemp("bomb") / "two-hours.flac"
    subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "anullsrc=r=8000:cl=mono",
            "-t",
            "7200",
            "-c:a",
            "flac",
            "-frame_size",
            "65535",
            "-strict",
            "-2",
            str(path),
        ],
        check=True,
    )
    data = path.read_bytes()
    assert len(data) < 64 * 1024
    return data


# --------------------------------------------------------------------------- a hostile web server


class Site:
    """127.0.0.1 server: ``/hop/...`` paths stand for public hosts (first hop only), ``/private/`` must
    never be fetched."""

    def __init__(self):
        self.hits: list[str] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format, *args):  # noqa: A002 - the base class's signature
                pass

            def do_GET(self):
                site.hits.append(self.path)
                redirects = {
                    "/hop/to-loopback": f"{site.base}/private/audio.wav",
                    "/hop/to-metadata": "http://169.254.169.254/latest/meta-data/",
                    "/hop/to-ten": "http://10.1.2.3/speech.wav",
                    "/hop/to-file": "file:///etc/passwd",
                    "/hop/to-ftp": "ftp://127.0.0.1/speech.wav",
                    "/hop/loop": "/hop/loop",
                }
                if self.path in redirects:
                    self.send_response(302)
                    self.send_header("Location", redirects[self.path])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif self.path == "/hop/huge":
                    self.send_response(200)
                    self.send_header("Content-Length", str(10 * 1024**3))
                    self.end_headers()
                elif self.path == "/hop/not-audio":
                    body = b"<html>definitely not audio</html>" * 10
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                else:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


# --------------------------------------------------------------------------- the corpus

T = {"endpoint": "tts", "voice": "narrator", "nfe_step": 4}
S = {"endpoint": "stt"}
U = {"endpoint": "voices", "action": "upload", "name": "newvoice"}
NOT_AUDIO = b64(b"%PDF-1.7\n" + bytes(range(256)) * 8)

# (id, input, expected code, field the message must name). "{site}" is replaced by the hostile server.
CORPUS: list[tuple[str, object, str, str]] = [
    # wrong shapes and types
    ("input-string", "tts please", "invalid_input", "input"),
    ("input-list", [{"endpoint": "tts"}], "invalid_input", "input"),
    ("input-null", None, "invalid_input", "input"),
    ("input-number", 42, "invalid_input", "input"),
    ("endpoint-int", {"endpoint": 5}, "invalid_input", "endpoint"),
    ("endpoint-case", {"endpoint": "TTS"}, "invalid_input", "endpoint"),
    ("endpoint-zero-width", {"endpoint": "tts\u200b"}, "invalid_input", "endpoint"),
    ("endpoint-nested", {"endpoint": nested(50)}, "invalid_input", "endpoint"),
    ("tts-text-int", {**T, "text": 5}, "invalid_input", "text"),
    ("tts-text-list", {**T, "text": ["hello"]}, "invalid_input", "text"),
    ("tts-text-empty", {**T, "text": ""}, "invalid_input", "text"),
    ("tts-nfe-string", {**T, "text": "hi", "nfe_step": "32"}, "invalid_input", "nfe_step"),
    ("tts-nfe-float", {**T, "text": "hi", "nfe_step": 32.5}, "invalid_input", "nfe_step"),
    ("tts-nfe-bool", {**T, "text": "hi", "nfe_step": True}, "invalid_input", "nfe_step"),
    ("tts-seed-bool", {**T, "text": "hi", "seed": False}, "invalid_input", "seed"),
    ("tts-silence-int", {**T, "text": "hi", "remove_silence": 1}, "invalid_input", "remove_silence"),
    ("stt-formats-string", {**S, "audio": NOT_AUDIO, "timing_formats": "srt"}, "invalid_input", "timing_formats"),
    ("stt-karaoke-string", {**S, "audio": NOT_AUDIO, "karaoke": "yes"}, "invalid_input", "karaoke"),
    ("voices-overwrite-string", {**U, "audio": NOT_AUDIO, "overwrite": "true"}, "invalid_input", "overwrite"),
    ("voices-action-null", {"endpoint": "voices", "action": None}, "invalid_input", "action"),
    (
        "download-delivery-int",
        {"endpoint": "download", "job_id": "j", "file": "srt", "delivery": 1},
        "invalid_input",
        "delivery",
    ),
    # huge numbers
    ("tts-nfe-huge", {**T, "text": "hi", "nfe_step": 10**30}, "invalid_input", "nfe_step"),
    ("tts-seed-huge", {**T, "text": "hi", "seed": 2**64}, "invalid_input", "seed"),
    ("tts-seed-negative", {**T, "text": "hi", "seed": -1}, "invalid_input", "seed"),
    ("tts-rate-huge", {**T, "text": "hi", "sample_rate": 10**100}, "invalid_input", "sample_rate"),
    ("tts-speed-max-float", {**T, "text": "hi", "speed": 1e308}, "invalid_input", "speed"),
    ("tts-cfg-nan", {**T, "text": "hi", "cfg_strength": math.nan}, "invalid_input", "cfg_strength"),
    ("tts-rms-inf", {**T, "text": "hi", "target_rms": math.inf}, "invalid_input", "target_rms"),
    ("tts-fix-duration-huge", {**T, "text": "hi", "fix_duration": 1e308}, "invalid_input", "fix_duration"),
    (
        "stt-chars-negative",
        {**S, "audio": NOT_AUDIO, "max_chars_per_line": -(10**20)},
        "invalid_input",
        "max_chars_per_line",
    ),
    ("stt-caption-huge", {**S, "audio": NOT_AUDIO, "max_caption_s": 1e300}, "invalid_input", "max_caption_s"),
    # huge strings
    ("tts-text-10mb", {**T, "text": "word " * 2_000_000}, "payload_too_large", "text"),
    ("tts-text-over-limit", {**T, "text": "a" * 5001}, "payload_too_large", "text"),
    ("stt-known-text-huge", {**S, "audio": NOT_AUDIO, "text": "w " * 100_000}, "payload_too_large", "text"),
    ("tts-voice-1mb", {**T, "text": "hi", "voice": "v" * 1_000_000}, "invalid_input", "voice"),
    ("result-id-1mb", {"endpoint": "result", "job_id": "j" * 1_000_000}, "invalid_input", "job_id"),
    ("stt-audio-2mb", {**S, "audio": "A" * 2_000_000}, "payload_too_large", "audio"),
    (
        "tts-ref-2mb",
        {**T, "voice": None, "text": "hi", "ref_audio": "QUJD" * 500_000},
        "payload_too_large",
        "ref_audio",
    ),
    # deep nesting
    ("stt-audio-deep-list", {**S, "audio": nested(10_000)}, "invalid_input", "audio"),
    ("tts-unknown-deep-dict", {**T, "text": "hi", "extra": nested(10_000, as_dict=True)}, "invalid_input", "extra"),
    (
        "stt-formats-deep",
        {**S, "audio": NOT_AUDIO, "timing_formats": [nested(1000)]},
        "invalid_input",
        "timing_formats",
    ),
    # unicode
    ("result-id-japanese", {"endpoint": "result", "job_id": "ジョブ"}, "invalid_input", "job_id"),
    ("tts-voice-accent", {**T, "text": "hi", "voice": "narrátor"}, "invalid_input", "voice"),
    ("tts-voice-rtl", {**T, "text": "hi", "voice": "\u202enarrator"}, "invalid_input", "voice"),
    ("stt-language-nul", {**S, "audio": NOT_AUDIO, "language": "en\u0000"}, "invalid_input", "language"),
    ("tts-unicode-field", {**T, "text": "hi", "tëxt": "hi"}, "invalid_input", "tëxt"),
    ("tts-lone-surrogate", {**T, "text": "\ud800 hi"}, "invalid_input", "text"),
    ("voices-text-surrogate", {**U, "audio": NOT_AUDIO, "text": "\udfff"}, "invalid_input", "text"),
    # invalid base64 and not-audio bytes
    ("stt-b64-garbage", {**S, "audio": "!!!! not base64 ****"}, "invalid_input", "audio"),
    ("stt-b64-bad-padding", {**S, "audio": "QUJDRA="}, "invalid_input", "audio"),
    ("stt-b64-only-prefix", {**S, "audio": "data:audio/wav;base64,"}, "invalid_input", "audio"),
    ("stt-not-audio", {**S, "audio": NOT_AUDIO}, "invalid_input", "audio"),
    (
        "stt-html-data-url",
        {**S, "audio": "data:text/html;base64," + b64(b"<script>alert(1)</script>" * 9)},
        "invalid_input",
        "audio",
    ),
    (
        "tts-ref-not-audio",
        {**T, "voice": None, "text": "hi", "ref_audio": NOT_AUDIO, "ref_text": "x"},
        "invalid_input",
        "ref_audio",
    ),
    ("voices-upload-not-audio", {**U, "audio": NOT_AUDIO}, "invalid_input", "audio"),
    ("stt-gzip-bomb", {**S, "audio": b64(gzip_bomb())}, "invalid_input", "audio"),
    ("stt-zip-bomb", {**S, "audio": b64(zip_bomb())}, "invalid_input", "audio"),
    (
        "tts-wav-claims-hours",
        {**T, "voice": None, "text": "hi", "ref_audio": b64(wav_header_claiming_hours()), "ref_text": "x"},
        "invalid_input",
        "ref_audio",
    ),
    ("voices-wav-claims-hours", {**U, "audio": b64(wav_header_claiming_hours())}, "invalid_input", "audio"),
    ("stt-wav-header-only", {**S, "audio": b64(wav_header_claiming_hours()[:44])}, "invalid_input", "audio"),
    # traversal and storage keys
    ("tts-voice-traversal", {**T, "text": "hi", "voice": "../narrator"}, "invalid_input", "voice"),
    ("voices-name-dotdot", {**U, "name": "..", "audio": NOT_AUDIO}, "invalid_input", "name"),
    ("voices-name-slash", {"endpoint": "voices", "action": "delete", "name": "a/b"}, "invalid_input", "name"),
    (
        "download-id-traversal",
        {"endpoint": "download", "job_id": "../../etc", "file": "srt"},
        "invalid_input",
        "job_id",
    ),
    ("result-id-dotdot", {"endpoint": "result", "job_id": ".."}, "invalid_input", "job_id"),
    ("stt-key-traversal", {**S, "audio": "voices/../../../etc/passwd"}, "invalid_input", "audio"),
    ("stt-key-dot", {**S, "audio": "outputs/./x/audio.wav"}, "invalid_input", "audio"),
    ("stt-key-double-slash", {**S, "audio": "outputs//audio.wav"}, "invalid_input", "audio"),
    ("stt-key-missing", {**S, "audio": "voices/nobody.wav"}, "not_found", "audio"),
    (
        "tts-ref-key-missing",
        {**T, "voice": None, "text": "hi", "ref_audio": "outputs/none/audio.wav", "ref_text": "x"},
        "not_found",
        "ref_audio",
    ),
    ("voices-delete-missing", {"endpoint": "voices", "action": "delete", "name": "ghost"}, "not_found", "name"),
    ("download-missing", {"endpoint": "download", "job_id": "never-ran", "file": "audio"}, "not_found", "job_id"),
    # private, loopback and link-local URLs (ALLOW_PRIVATE_URLS unset)
    ("url-loopback", {**S, "audio": "{site}/private/audio.wav"}, "invalid_input", "audio"),
    ("url-localhost", {**S, "audio": "http://localhost/speech.wav"}, "invalid_input", "audio"),
    ("url-ipv6-loopback", {**S, "audio": "http://[::1]/speech.wav"}, "invalid_input", "audio"),
    ("url-ipv4-mapped", {**S, "audio": "http://[::ffff:127.0.0.1]/speech.wav"}, "invalid_input", "audio"),
    (
        "url-metadata",
        {**T, "voice": None, "text": "hi", "ref_audio": "http://169.254.169.254/latest/meta-data/"},
        "invalid_input",
        "ref_audio",
    ),
    ("url-private-10", {**S, "audio": "http://10.0.0.1/speech.wav"}, "invalid_input", "audio"),
    ("url-private-192", {**U, "audio": "https://192.168.1.1/speech.wav"}, "invalid_input", "audio"),
    ("url-zero", {**S, "audio": "http://0.0.0.0/speech.wav"}, "invalid_input", "audio"),
    ("url-decimal-loopback", {**S, "audio": "http://2130706433/speech.wav"}, "invalid_input", "audio"),
    ("url-hex-loopback", {**S, "audio": "http://0x7f000001/speech.wav"}, "invalid_input", "audio"),
    ("url-userinfo", {**S, "audio": "http://user:pw@127.0.0.1/speech.wav"}, "invalid_input", "audio"),
    ("url-no-host", {**S, "audio": "http:///speech.wav"}, "invalid_input", "audio"),
    ("url-unresolvable", {**S, "audio": "http://no-such-host.invalid/speech.wav"}, "invalid_input", "audio"),
    # other schemes
    ("scheme-file", {**S, "audio": "file:///etc/passwd"}, "invalid_input", "audio"),
    ("scheme-ftp", {**S, "audio": "ftp://example.com/speech.wav"}, "invalid_input", "audio"),
    (
        "scheme-gopher",
        {**T, "voice": None, "text": "hi", "ref_audio": "gopher://127.0.0.1:70/_x"},
        "invalid_input",
        "ref_audio",
    ),
    ("scheme-javascript", {**U, "audio": "javascript:alert(1)"}, "invalid_input", "audio"),
    ("scheme-upper-http", {**S, "audio": "HTTP://127.0.0.1/speech.wav"}, "invalid_input", "audio"),
    # redirects (the first hop is let through as if public; every later hop is checked for real)
    ("redirect-loopback", {**S, "audio": "{site}/hop/to-loopback"}, "invalid_input", "audio"),
    (
        "redirect-metadata",
        {**T, "voice": None, "text": "hi", "ref_audio": "{site}/hop/to-metadata"},
        "invalid_input",
        "ref_audio",
    ),
    ("redirect-private-10", {**U, "audio": "{site}/hop/to-ten"}, "invalid_input", "audio"),
    ("redirect-file", {**S, "audio": "{site}/hop/to-file"}, "invalid_input", "audio"),
    ("redirect-ftp", {**S, "audio": "{site}/hop/to-ftp"}, "invalid_input", "audio"),
    ("redirect-loop", {**S, "audio": "{site}/hop/loop"}, "invalid_input", "audio"),
    ("url-declares-10gb", {**S, "audio": "{site}/hop/huge"}, "payload_too_large", "audio"),
    ("url-html", {**S, "audio": "{site}/hop/not-audio"}, "invalid_input", "audio"),
    ("url-404", {**S, "audio": "{site}/hop/missing"}, "invalid_input", "audio"),
]


def materialise(job_input: object, site: str) -> object:
    """The job with "{site}" filled into its top-level string fields (nested values stay as they are)."""
    if not isinstance(job_input, dict):
        return job_input
    return {key: value.replace("{site}", site) if isinstance(value, str) else value for key, value in job_input.items()}


@pytest.fixture(scope="module")
def site():
    site = Site()
    yield site
    site.close()


@pytest.fixture(scope="module")
def hostile(engines, site, tmp_path_factory):
    """Local storage with one stored voice, an isolated temp dir, and the first-hop allowance for ``/hop/``."""
    root = tmp_path_factory.mktemp("hostile")
    temp_dir = root / "tmp"
    temp_dir.mkdir()
    settings = Settings(
        storage_dir=root / "storage",
        voice_cache_dir=root / "cache",
        max_input_bytes=MAX_INPUT_BYTES,
        max_audio_s=MAX_AUDIO_S,
        url_timeout_s=5,
    )
    assert settings.allow_private_urls is False
    ctx = build_context(settings, engines=engines)
    reference = espeak_wav(REFERENCE_TEXT, root / "narrator.wav")
    ctx.storage.put_bytes("voices/narrator.wav", reference.read_bytes())
    ctx.storage.put_bytes("voices/narrator.txt", REFERENCE_TEXT.encode())
    real_check = url_fetch.connect_address

    def hop_paths_are_public(target, field: str, allow_private: bool) -> str:
        if target.host_header == site.base.removeprefix("http://") and target.request_path.startswith("/hop/"):
            return "127.0.0.1"
        return real_check(target, field, allow_private)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(url_fetch, "connect_address", hop_paths_are_public)
        patch.setattr(tempfile, "tempdir", str(temp_dir))
        yield {"ctx": ctx, "temp_dir": temp_dir}


def assert_nothing_left(hostile: dict) -> None:
    storage = hostile["ctx"].storage
    assert storage.list_keys("outputs/") == []
    assert storage.list_keys("results/") == []
    assert storage.list_keys("voices/") == SEEDED_VOICE_KEYS
    assert sorted(p.name for p in hostile["temp_dir"].iterdir()) == []


def test_the_corpus_is_big_enough():
    assert len(CORPUS) >= 40
    assert len({entry[0] for entry in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize(("job_input", "code", "field"), [pytest.param(*entry[1:], id=entry[0]) for entry in CORPUS])
def test_hostile_job_is_refused_clearly_and_leaves_nothing(hostile, site, job_input, code, field):
    job_input = materialise(job_input, site.base)
    output = handle_job({"id": "hostile-job", "input": job_input}, hostile["ctx"])
    assert set(output) == {"error"}, output
    error = output["error"]
    assert error.startswith(f"{code}: "), error
    assert field in error, error
    assert len(error) < 1000, "the message must not echo large values"
    assert "Traceback" not in error
    assert_nothing_left(hostile)


def test_the_private_target_of_a_redirect_is_never_fetched(hostile, site):
    before = len(site.hits)
    for path in ("/hop/to-loopback", "/hop/loop"):
        handle_job({"id": "r", "input": {**S, "audio": f"{site.base}{path}"}}, hostile["ctx"])
    hits = site.hits[before:]
    assert "/private/audio.wav" not in site.hits
    assert hits == ["/hop/to-loopback"] + ["/hop/loop"] * 4  # URL_MAX_REDIRECTS=3 redirects followed, then refused


def test_decompression_bomb_is_cut_at_the_audio_length_limit(hostile, flac_bomb):
    """A 20 KB FLAC that decodes to two hours: refused after decoding just past MAX_AUDIO_S."""
    for job_input, field in [
        ({**S, "audio": b64(flac_bomb)}, "audio"),
        ({**T, "voice": None, "text": "hi", "ref_audio": b64(flac_bomb), "ref_text": "x"}, "ref_audio"),
        ({**U, "audio": b64(flac_bomb)}, "audio"),
    ]:
        error = handle_job({"id": "bomb", "input": job_input}, hostile["ctx"])["error"]
        assert error == f"payload_too_large: {field}: audio is longer than the 60 s limit (MAX_AUDIO_S)"
    assert_nothing_left(hostile)


UNBREAKABLE_CJK = "这是一个没有空格的很长的中文段落，" * 40  # no spaces, only full-width punctuation


@pytest.mark.parametrize(
    ("job_input", "field"),
    [
        pytest.param({**T, "text": "   "}, "text", id="whitespace-only-text"),
        pytest.param({**T, "text": "\n\t \u3000"}, "text", id="blank-unicode-text"),
        pytest.param({**T, "text": "a" * 5000}, "text", id="one-5000-char-word"),
        pytest.param({**T, "text": UNBREAKABLE_CJK}, "text", id="cjk-without-spaces"),
        pytest.param({**T, "text": "hi", "ref_text": "word " * 2000}, "ref_text", id="huge-ref-text"),
        pytest.param({**T, "text": "hi", "fix_duration": 100.0}, "fix_duration", id="fix-duration-100s"),
    ],
)
def test_inputs_the_schema_accepts_but_the_model_cannot_take(hostile, job_input, field):
    output = handle_job({"id": "model-limit", "input": job_input}, hostile["ctx"])
    assert "error" in output and not output["error"].startswith("internal_error"), output
    assert output["error"].startswith(("invalid_input: ", "payload_too_large: ")) and field in output["error"]
    assert_nothing_left(hostile)


def test_a_voice_with_an_over_long_stored_text_is_refused_at_upload_or_tts(hostile):
    ctx = hostile["ctx"]
    audio = b64(ctx.storage.get_bytes("voices/narrator.wav"))
    try:
        upload = handle_job({"id": "u", "input": {**U, "name": "chatty", "audio": audio, "text": "word " * 5000}}, ctx)
        if "error" in upload:
            assert upload["error"].startswith(("invalid_input: text", "payload_too_large: text")), upload
            return
        output = handle_job({"id": "t", "input": {**T, "text": "hi", "voice": "chatty"}}, ctx)
        assert output.get("error", "").startswith(("invalid_input: ", "payload_too_large: ")), output
    finally:
        for key in ctx.storage.list_keys("voices/chatty."):
            ctx.storage.delete(key)


# --------------------------------------------------------------------------- fuzzing the schemas

JSON_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(
        [
            "tts",
            "stt",
            "voices",
            "download",
            "result",
            "health",
            "list",
            "upload",
            "delete",
            "srt",
            "vtt",
            "audio",
            "url",
            "text",
            "base64",
            "narrator",
            "job-1",
            "en",
            "wav",
            "auto",
            "whisperx",
            "voices/narrator.wav",
            "../x",
            "",
        ]
    )
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=12,
)
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def request_dicts(model) -> st.SearchStrategy[dict]:
    keys = st.sampled_from(sorted(model.model_fields)) | st.text(max_size=8)
    return st.dictionaries(keys, JSON_VALUES, max_size=8)


@pytest.mark.parametrize("name", sorted(ENDPOINTS))
def test_schema_fuzzing_validates_or_explains(name):
    model = ENDPOINTS[name].schema

    @FUZZ
    @given(payload=request_dicts(model), endpoint=st.sampled_from([name, name, "other"]))
    def check(payload, endpoint):
        payload = {**payload, "endpoint": endpoint}
        try:
            model.model_validate(payload)
        except ValidationError as exc:
            message = schemas.describe_validation_error(exc, model)
            assert isinstance(message, str) and message.strip()
            assert len(message) < 2000

    check()


@FUZZ
@given(
    raw=JSON_VALUES
    | st.builds(
        lambda endpoint, rest: {**rest, "endpoint": endpoint},
        st.sampled_from(sorted(ENDPOINTS)) | JSON_LEAVES,
        st.dictionaries(st.text(max_size=8), JSON_VALUES, max_size=6),
    )
)
def test_parse_request_raises_nothing_but_invalid_input(raw):
    try:
        endpoint, request = parse_request(raw)
    except InvalidInput as exc:
        assert exc.message.strip()
        assert exc.as_output()["error"].startswith("invalid_input: ")
        return
    assert endpoint in ENDPOINTS.values() and isinstance(request, endpoint.schema)


# --------------------------------------------------------------------------- credentials never logged


def test_a_worker_with_s3_credentials_never_logs_the_secret(moto_endpoint, tmp_path):
    """The production loop at DEBUG log levels (worker and SDK), through successes and failures."""
    bucket = make_bucket(moto_endpoint)
    storage = S3Storage(Settings(**{key.lower(): value for key, value in s3_env(moto_endpoint, bucket).items()}))
    storage.put_bytes("outputs/old-job/timings.srt", b"1\n00:00:00,000 --> 00:00:01,000\nHi\n\n")
    speech = b64(espeak_wav("Bring the blue box to the kitchen table.", tmp_path / "speech.wav").read_bytes())
    with JobQueue() as queue:
        env = worker_env(
            **s3_env(moto_endpoint, bucket),
            **queue.env(),
            LOG_LEVEL="DEBUG",
            RUNPOD_DEBUG_LEVEL="DEBUG",
            VOICE_CACHE_DIR=str(tmp_path / "voices"),
        )
        worker = ProductionWorker(env, tmp_path / "worker.log", tmp_path / "cwd")
        try:
            worker.wait_ready(queue, timeout=120)
            jobs = [
                {"endpoint": "health"},
                {"endpoint": "download", "job_id": "old-job", "file": "srt"},
                {"endpoint": "download", "job_id": "old-job", "file": "srt", "delivery": "text"},
                {"endpoint": "result", "job_id": "missing"},
                {"endpoint": "voices", "action": "list"},
                {"endpoint": "voices", "action": "upload", "name": "spoken", "audio": speech, "text": "Bring it."},
                {"endpoint": "stt", "audio": speech, "language": "en"},
                {"endpoint": "stt", "audio": NOT_AUDIO},
                {"endpoint": "stt", "audio": "http://169.254.169.254/latest/meta-data/iam/"},
                {"endpoint": "tts", "text": "hi", "voice": "spoken"},
                {"endpoint": "nope", "secret": "x"},
            ]
            ids = [queue.enqueue(job) for job in jobs]
            queue.wait_for_results(len(ids), timeout=120)
        finally:
            worker.stop()
    results = queue.results_by_id()
    assert sum("output" in results[job_id][0] for job_id in ids) == 6
    assert results[ids[1]][0]["output"]["url"].count("X-Amz-Signature=") == 1
    log = worker.log()
    assert "Started." in log and "DEBUG" in log and len(log) > 10_000, "the log must be the verbose one"
    assert TEST_SECRET_KEY not in log
    assert all(TEST_SECRET_KEY.encode() not in post.raw for post in queue.posts())
    assert json.dumps(results).count(TEST_SECRET_KEY) == 0
