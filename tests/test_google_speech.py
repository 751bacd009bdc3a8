"""The Google Speech-to-Text engine against a real gRPC server on 127.0.0.1.

The server speaks ``google.cloud.speech.v1.Speech`` (Recognize, LongRunningRecognize) and
``google.longrunning.Operations`` (GetOperation) with the client library's own message types, so the
worker's unmodified client (reached through ``GOOGLE_SPEECH_ENDPOINT``) does real serialisation, real
status codes and real operation polling. Credentials are tested with a throwaway RSA key, offline.
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
import threading
import time
from concurrent import futures
from datetime import timedelta

import grpc
import numpy as np
import pytest
from google.cloud.speech_v1.types import cloud_speech
from google.longrunning import operations_pb2
from google.oauth2 import service_account
from google.protobuf import any_pb2, duration_pb2

from f5worker.engines import Engines
from f5worker.engines.google_speech import (
    SYNC_LIMIT_S,
    GoogleSpeechEngine,
    is_configured,
    load_credentials,
)
from f5worker.errors import EngineUnavailable
from f5worker.settings import Settings
from f5worker.timing.engine_choice import run_timing
from f5worker.timing.transcript import EngineFailure
from f5worker.words import Word

SAMPLE_RATE = 16000
# (word, start s, end s): fractions that a float, a timedelta and seconds+nanos must all carry exactly
WORDS = [("Hello", 0.0, 0.35), ("brave", 0.5, 0.875), ("world.", 1.1, 1.25)]
LATE_WORDS = [("Still", 60.125, 60.5), ("here.", 60.6, 61.05)]
CONFIDENCE = 0.875


def google_env_cleared(monkeypatch) -> None:
    for name in ("GOOGLE_CREDENTIALS_JSON", "GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_SPEECH_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def _no_google_env(monkeypatch):
    google_env_cleared(monkeypatch)


# --------------------------------------------------------------------------- the local Speech server


def timedelta_response(words) -> cloud_speech.RecognizeResponse:
    """Word times set as ``datetime.timedelta`` on proto-plus messages."""
    infos = [
        cloud_speech.WordInfo(word=w, start_time=timedelta(seconds=s), end_time=timedelta(seconds=e))
        for w, s, e in words
    ]
    alternative = cloud_speech.SpeechRecognitionAlternative(
        transcript=" ".join(w for w, _s, _e in words), confidence=CONFIDENCE, words=infos
    )
    return cloud_speech.RecognizeResponse(results=[cloud_speech.SpeechRecognitionResult(alternatives=[alternative])])


def duration(seconds: float) -> duration_pb2.Duration:
    whole = int(seconds)
    return duration_pb2.Duration(seconds=whole, nanos=round((seconds - whole) * 1e9))


def duration_response(words):
    """The same response built from raw protobuf classes, word times as ``google.protobuf.Duration``."""
    word_info = cloud_speech.WordInfo.pb()
    alternative = cloud_speech.SpeechRecognitionAlternative.pb()(
        transcript=" ".join(w for w, _s, _e in words),
        confidence=CONFIDENCE,
        words=[word_info(word=w, start_time=duration(s), end_time=duration(e)) for w, s, e in words],
    )
    result = cloud_speech.SpeechRecognitionResult.pb()(alternatives=[alternative])
    return cloud_speech.RecognizeResponse.pb()(results=[result])


def serialise(message) -> bytes:
    """proto-plus messages and raw protobuf messages both go on the wire."""
    return message.SerializeToString() if hasattr(message, "SerializeToString") else type(message).serialize(message)


class FakeSpeech:
    """What the server answers, and what it was asked; reset before every test."""

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.calls: list[tuple[str, object]] = []
        self.words = WORDS
        self.style = "timedelta"
        self.abort: tuple[grpc.StatusCode, str] | None = None
        self.operation_done_after = 1  # GetOperation calls before a long-running job is done
        self.operations: dict[str, int] = {}

    def response(self):
        return duration_response(self.words) if self.style == "duration" else timedelta_response(self.words)

    def recognize(self, request, context):
        with self.lock:
            self.calls.append(("Recognize", request))
        if self.abort:
            context.abort(*self.abort)
        return self.response()

    def long_running_recognize(self, request, context):
        with self.lock:
            self.calls.append(("LongRunningRecognize", request))
            name = f"operations/{len(self.operations) + 1}"
            self.operations[name] = 0
        if self.abort:
            context.abort(*self.abort)
        return operations_pb2.Operation(name=name, done=False)

    def get_operation(self, request, context):
        with self.lock:
            self.calls.append(("GetOperation", request.name))
            self.operations[request.name] += 1
            done = self.operations[request.name] >= self.operation_done_after
        if not done:
            return operations_pb2.Operation(name=request.name, done=False)
        packed = any_pb2.Any()
        response = cloud_speech.LongRunningRecognizeResponse.deserialize(serialise(self.response()))
        packed.Pack(cloud_speech.LongRunningRecognizeResponse.pb(response))
        return operations_pb2.Operation(name=request.name, done=True, response=packed)

    def names(self) -> list[str]:
        return [name for name, _request in self.calls]


@pytest.fixture(scope="module")
def speech_server():
    fake = FakeSpeech()
    speech = grpc.method_handlers_generic_handler(
        "google.cloud.speech.v1.Speech",
        {
            "Recognize": grpc.unary_unary_rpc_method_handler(
                fake.recognize,
                request_deserializer=cloud_speech.RecognizeRequest.deserialize,
                response_serializer=serialise,
            ),
            "LongRunningRecognize": grpc.unary_unary_rpc_method_handler(
                fake.long_running_recognize,
                request_deserializer=cloud_speech.LongRunningRecognizeRequest.deserialize,
                response_serializer=operations_pb2.Operation.SerializeToString,
            ),
        },
    )
    operations = grpc.method_handlers_generic_handler(
        "google.longrunning.Operations",
        {
            "GetOperation": grpc.unary_unary_rpc_method_handler(
                fake.get_operation,
                request_deserializer=operations_pb2.GetOperationRequest.FromString,
                response_serializer=operations_pb2.Operation.SerializeToString,
            ),
        },
    )
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers((speech, operations))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    fake.endpoint = f"127.0.0.1:{port}"
    yield fake
    server.stop(grace=None)


@pytest.fixture
def server(speech_server) -> FakeSpeech:
    speech_server.reset()
    return speech_server


@pytest.fixture(scope="module")
def engine(speech_server) -> GoogleSpeechEngine:
    """The worker's engine, built the way warm_load builds it, pointed at the local server."""
    return GoogleSpeechEngine.load(Settings(google_speech_endpoint=speech_server.endpoint, google_timeout_s=10))


def noise(seconds: float, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(int(seconds * SAMPLE_RATE)) * 0.05).astype(np.float32)


def as_tuples(words: list[Word]) -> list[tuple[str, float, float]]:
    return [(w.word, w.start, w.end) for w in words]


# --------------------------------------------------------------------------- recognition


@pytest.mark.parametrize("style", ["timedelta", "duration"])
def test_word_times_arrive_in_seconds_whatever_the_server_used(server, engine, style):
    server.style = style
    audio = noise(2.0)
    transcript = engine.transcribe(audio, "en")
    assert as_tuples(transcript.words) == [
        (w, pytest.approx(s, abs=1e-9), pytest.approx(e, abs=1e-9)) for w, s, e in WORDS
    ]
    assert all(isinstance(w.start, float) and w.confidence == CONFIDENCE for w in transcript.words)
    assert (transcript.engine, transcript.method, transcript.model) == ("google", "google-word-offsets", "speech_v1")
    assert transcript.text == "Hello brave world." and transcript.language == "en"
    assert len(transcript.segments) == 1 and transcript.segments[0].start == 0.0
    assert transcript.segments[0].end == pytest.approx(1.25)
    assert server.names() == ["Recognize"]


def test_the_request_carries_linear16_audio_and_asks_for_word_offsets(server, engine):
    audio = noise(1.5)
    audio[:4] = [1.5, -1.5, 0.5, -0.5]  # out-of-range samples are clipped, not wrapped
    engine.transcribe(audio, "de")
    ((_name, request),) = server.calls
    config = request.config
    assert config.encoding == cloud_speech.RecognitionConfig.AudioEncoding.LINEAR16
    assert config.sample_rate_hertz == SAMPLE_RATE and config.language_code == "de-DE"
    assert config.enable_word_time_offsets and config.enable_automatic_punctuation
    sent = np.frombuffer(request.audio.content, dtype="<i2")
    assert len(sent) == len(audio)
    assert list(sent[:4]) == [32767, -32767, 16383, -16383]
    assert np.abs(sent[4:] / 32767 - audio[4:]).max() < 1e-4


def test_no_language_means_us_english(server, engine):
    transcript = engine.transcribe(noise(0.5), None)
    assert server.calls[0][1].config.language_code == "en-US"
    assert transcript.language == "en"


def test_long_audio_goes_through_long_running_recognition(server, engine):
    server.words = LATE_WORDS
    server.style = "duration"
    server.operation_done_after = 2  # the client must poll GetOperation at least twice
    audio = noise(SYNC_LIMIT_S + 1.5)
    transcript = engine.transcribe(audio, "en")
    assert as_tuples(transcript.words) == [
        (w, pytest.approx(s, abs=1e-9), pytest.approx(e, abs=1e-9)) for w, s, e in LATE_WORDS
    ]
    assert server.names() == ["LongRunningRecognize", "GetOperation", "GetOperation"]
    request = server.calls[0][1]
    assert len(request.audio.content) == 2 * len(audio) and request.config.enable_word_time_offsets


def test_audio_at_the_sync_limit_still_uses_recognize(server, engine):
    engine.transcribe(np.zeros(int(SYNC_LIMIT_S * SAMPLE_RATE), dtype=np.float32), "en")
    assert server.names() == ["Recognize"]


def test_a_long_running_job_that_never_finishes_times_out(server, speech_server):
    server.operation_done_after = 10**6
    impatient = GoogleSpeechEngine.load(Settings(google_speech_endpoint=speech_server.endpoint, google_timeout_s=0.5))
    started = time.monotonic()
    with pytest.raises(EngineFailure, match="^recognition timed out$"):
        impatient.transcribe(noise(SYNC_LIMIT_S + 1), "en")
    assert time.monotonic() - started < 5


def test_audio_beyond_the_inline_limit_is_refused_without_a_request(server, engine):
    with pytest.raises(EngineFailure, match="too long for inline recognition"):
        engine.transcribe(np.zeros(330 * SAMPLE_RATE, dtype=np.float32), "en")
    assert server.calls == []


def test_empty_results_give_an_empty_transcript(server, engine):
    server.words = []
    transcript = engine.transcribe(noise(0.5), "en")
    assert transcript.segments == [] and transcript.text == ""


# --------------------------------------------------------------------------- failures


@pytest.mark.parametrize("code", [grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED])
@pytest.mark.parametrize("seconds", [1.0, SYNC_LIMIT_S + 1])
def test_rejected_credentials_are_an_engine_failure_saying_so(server, engine, code, seconds):
    server.abort = (code, "the caller does not have permission")
    expected = r"^credentials were rejected \((PermissionDenied|Unauthenticated)\)$"
    with pytest.raises(EngineFailure, match=expected):
        engine.transcribe(noise(seconds), "en")


@pytest.mark.parametrize(
    ("code", "name"),
    [(grpc.StatusCode.INVALID_ARGUMENT, "InvalidArgument"), (grpc.StatusCode.RESOURCE_EXHAUSTED, "ResourceExhausted")],
)
def test_other_api_errors_are_recognition_failures(server, engine, code, name):
    server.abort = (code, "nope")
    with pytest.raises(EngineFailure, match=rf"^recognition failed \({name}\)$"):
        engine.transcribe(noise(0.5), "en")


def test_a_dead_endpoint_fails_fast():
    with socket.socket() as probe:  # a port that was free a moment ago and has no listener
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dead = GoogleSpeechEngine.load(Settings(google_speech_endpoint=f"127.0.0.1:{port}", google_timeout_s=60))
    started = time.monotonic()
    with pytest.raises(EngineFailure, match=r"^recognition failed \(ServiceUnavailable\)"):
        dead.transcribe(noise(0.5), "en")
    assert time.monotonic() - started < 5, "an unreachable endpoint must not wait for the request timeout"


# --------------------------------------------------------------------------- through the timing facade


def test_auto_falls_to_google_when_whisperx_is_missing(server, engine):
    engines = Engines(loaded={"google": engine}, errors={"whisperx": "ModuleNotFoundError: No module named 'x'"})
    transcript = run_timing(engines, noise(1.0), choice="auto", language="en", known_text=None)
    assert transcript.engine == "google" and [w.word for w in transcript.words] == [w for w, _s, _e in WORDS]
    assert set(transcript.timings_ms) == {"transcribe"}


def test_known_text_through_google_keeps_the_text(server, engine):
    engines = Engines(loaded={"google": engine}, errors={"whisperx": "not loaded"})
    text = "Hello, brave new world!"
    transcript = run_timing(engines, noise(1.5), choice="auto", language="en", known_text=text)
    assert [w.word for w in transcript.words] == text.split()
    assert transcript.method == "google-word-offsets+known-text" and transcript.engine == "google"
    assert transcript.known_text == {"matched": 3, "interpolated": 1, "unmatched": 0}
    assert transcript.words[0].start == 0.0 and transcript.words[-1].start == pytest.approx(1.1)


def test_no_engine_left_names_every_reason(server, engine):
    server.abort = (grpc.StatusCode.PERMISSION_DENIED, "denied")
    engines = Engines(loaded={"google": engine}, errors={"whisperx": "ModuleNotFoundError: No module named 'x'"})
    with pytest.raises(EngineUnavailable) as raised:
        run_timing(engines, noise(1.0), choice="auto", language="en", known_text=None)
    message = str(raised.value)
    assert message.startswith("no timing engine could run (")
    assert "whisperx: ModuleNotFoundError: No module named 'x'" in message
    assert "google: credentials were rejected (PermissionDenied)" in message
    assert "google: google:" not in message
    assert message.index("whisperx:") < message.index("credentials were rejected")
    assert raised.value.as_output()["error"].startswith("engine_unavailable: no timing engine could run")


# --------------------------------------------------------------------------- credentials


@pytest.fixture(scope="module")
def service_account_json() -> str:
    """Syntactically valid service-account JSON around a throwaway 2048-bit RSA key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return json.dumps(
        {
            "type": "service_account",
            "project_id": "f5worker-tests",
            "private_key_id": "0123456789abcdef",
            "private_key": pem,
            "client_email": "timing@f5worker-tests.iam.gserviceaccount.com",
            "client_id": "100000000000000000001",
            "token_uri": "https://oauth2.googleapis.com/token",
        }
    )


@pytest.fixture
def offline(monkeypatch):
    """Python-level network use fails the test (credential loading must not fetch tokens)."""

    def refuse(*args, **_kwargs):
        raise AssertionError(f"network access attempted: {args[1:]!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.fixture
def watched_dirs(tmp_path, monkeypatch):
    """An empty cwd and an empty temp dir; the test asserts both stay empty."""
    cwd, temp = tmp_path / "cwd", tmp_path / "tmp"
    cwd.mkdir()
    temp.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    system_temp = set(os.listdir("/tmp"))
    yield cwd, temp
    assert list(cwd.iterdir()) == [] and list(temp.iterdir()) == []
    new_in_tmp = set(os.listdir("/tmp")) - system_temp
    assert not any("cred" in name.lower() or name.endswith(".json") for name in new_in_tmp), new_in_tmp


def test_credentials_json_is_parsed_in_memory(service_account_json, watched_dirs, offline, monkeypatch):
    monkeypatch.setenv("GOOGLE_CREDENTIALS_JSON", service_account_json)
    settings = Settings()
    assert is_configured(settings)
    credentials = load_credentials(settings)
    assert isinstance(credentials, service_account.Credentials)
    assert credentials.service_account_email == "timing@f5worker-tests.iam.gserviceaccount.com"
    assert credentials.project_id == "f5worker-tests"
    assert "https://www.googleapis.com/auth/cloud-platform" in credentials.scopes
    assert not credentials.valid  # no token was fetched


def test_engine_loads_with_credentials_json_without_touching_the_network(service_account_json, watched_dirs, offline):
    engine = GoogleSpeechEngine.load(Settings(google_credentials_json=service_account_json))
    assert engine.describe() == {"api": "speech_v1"}
    assert isinstance(engine.client.transport._credentials, service_account.Credentials)


def test_credentials_file_path_is_read(service_account_json, tmp_path):
    path = tmp_path / "sa.json"
    path.write_text(service_account_json)
    settings = Settings(google_application_credentials=path)
    assert is_configured(settings)
    assert load_credentials(settings).service_account_email.startswith("timing@")


@pytest.mark.parametrize(
    "text",
    [
        '{"type": "service_account", "private_key": "SECRET-7f3a',  # truncated
        "SECRET-7f3a not json at all",
        '{"type": "service_account", "private_key": "SECRET-7f3a"}',  # fields missing
        "KEY",  # a malformed key, filled in below
        '["SECRET-7f3a"]',  # JSON, but not an object
        '"SECRET-7f3a"',
        "null",
    ],
)
def test_invalid_credentials_json_is_a_value_error_that_does_not_echo_it(text, service_account_json):
    if text == "KEY":
        info = json.loads(service_account_json)
        info["private_key"] = "-----BEGIN PRIVATE KEY-----\nSECRET-7f3a\n-----END PRIVATE KEY-----\n"
        text = json.dumps(info)
    with pytest.raises(ValueError) as raised:
        load_credentials(Settings(google_credentials_json=text))
    assert str(raised.value) == "GOOGLE_CREDENTIALS_JSON is not valid service-account JSON"
    assert raised.value.__cause__ is None and raised.value.__suppress_context__
    assert "SECRET" not in repr(raised.value)


def test_without_credentials_loading_says_what_to_set():
    settings = Settings()
    assert not is_configured(settings)
    with pytest.raises(ValueError, match="GOOGLE_CREDENTIALS_JSON or GOOGLE_APPLICATION_CREDENTIALS"):
        load_credentials(settings)


@pytest.mark.parametrize(
    ("variable", "value", "configured"),
    [
        ("GOOGLE_CREDENTIALS_JSON", "{}", True),
        ("GOOGLE_APPLICATION_CREDENTIALS", "/nonexistent/sa.json", True),  # checked when loading, not here
        ("GOOGLE_SPEECH_ENDPOINT", "127.0.0.1:1", True),
        ("GOOGLE_CREDENTIALS_JSON", "", False),  # empty environment values count as unset
    ],
)
def test_is_configured_reads_the_environment(monkeypatch, variable, value, configured):
    monkeypatch.setenv(variable, value)
    assert is_configured(Settings()) is configured
