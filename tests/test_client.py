"""``f5worker.client`` and ``scripts/tts-client.py``: against the worker's local API (the shared
``s3_worker``), and against a standard-library server that answers like RunPod's hosted API."""

from __future__ import annotations

import base64
import copy
import json
import logging
import os
import subprocess
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pysubs2
import pytest
import soundfile
import srt

from f5worker.client import ClientError, JobFailed, RunPodClient, WaitTimeout, final_item, parse_error
from tests.helpers import REPO, espeak_wav

API_KEY = "rp_TESTKEY_5d8e2c91f0"  # must never show up in an exception, a repr or a log line
REF_TEXT = "The narrator speaks clearly for the reference clip."
TEXT = "Good evening. The client saves every file it is given."
CLI = [sys.executable, str(REPO / "scripts" / "tts-client.py")]


# --------------------------------------------------------------------------- a fake of RunPod's hosted API


@dataclass
class Seen:
    method: str
    path: str
    headers: dict
    body: dict | None
    at: float


@dataclass
class FakeRunPod:
    """Scripted answers: ``/run`` queues the job id named by ``input.scenario``; each ``GET /status/{id}``
    takes the next scripted answer (the last one repeats); ``/files/<name>`` serves presigned-like files."""

    url: str = ""
    scripts: dict = field(default_factory=dict)
    files: dict = field(default_factory=dict)
    seen: list = field(default_factory=list)
    run_failures: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def script(self, job_id: str, *answers) -> None:
        self.scripts[job_id] = [a if isinstance(a, tuple) else (200, a) for a in answers]

    def calls(self, method: str, prefix: str) -> list[Seen]:
        return [s for s in self.seen if s.method == method and s.path.startswith(prefix)]

    def answer(self, method: str, path: str, headers: dict, body: dict | None) -> tuple[int, object]:
        with self.lock:
            self.seen.append(Seen(method, path, headers, body, time.monotonic()))
            if path.startswith("/files/"):
                name = path.removeprefix("/files/").split("?")[0]
                return (200, self.files[name]) if name in self.files else (404, b"no such file")
            if headers.get("Authorization") != f"Bearer {API_KEY}":
                return 401, {"error": "Unauthorized"}
            if method == "POST" and path == "/run":
                if self.run_failures:
                    self.run_failures -= 1
                    return 503, {"error": "no capacity"}
                return 200, {"id": body["input"]["scenario"], "status": "IN_QUEUE"}
            if method == "POST" and path == "/runsync":
                job = body["input"]
                if job.get("endpoint") == "download":
                    inline = {"text": "fresh " + job["file"]} if job["file"] != "audio" else {"base64": "QUJD"}
                    return 200, {"id": "dl", "status": "COMPLETED", "output": {"job_id": job["job_id"], **inline}}
                return 200, {"id": job["scenario"], "status": "IN_PROGRESS"}
            if method == "GET" and path.startswith("/status/"):
                answers = self.scripts[path.removeprefix("/status/")]
                return answers.pop(0) if len(answers) > 1 else answers[0]
            return 404, {"error": "not found"}


@pytest.fixture(scope="module")
def fake_runpod():
    fake = FakeRunPod()

    class Handler(BaseHTTPRequestHandler):
        def handle_one(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            code, payload = fake.answer(method, self.path, dict(self.headers), body)
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            self.send_response(code)
            self.send_header(
                "Content-Type", "application/octet-stream" if isinstance(payload, bytes) else "application/json"
            )
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):  # noqa: N802 - http.server's naming
            self.handle_one("GET")

        def do_POST(self):  # noqa: N802
            self.handle_one("POST")

        def log_message(self, *_args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture
def hosted(fake_runpod):
    """A client for the fake hosted API, polling fast."""
    fake_runpod.seen.clear()
    fake_runpod.run_failures = 0
    with RunPodClient(
        api_key=API_KEY,
        base_url=fake_runpod.url,
        timeout=10,
        local=False,
        poll_interval=0.01,
        max_poll_interval=0.02,
        backoff_factor=0,
    ) as client:
        yield client


def completed(job_id: str, output: dict) -> dict:
    return {"id": job_id, "status": "COMPLETED", "output": output, "delayTime": 12, "executionTime": 340}


def test_queue_progress_completed_with_callbacks_in_order(fake_runpod, hosted):
    chunks = [{"stage": "synthesis", "chunk": k, "chunks": 3} for k in (1, 2, 3)]
    fake_runpod.script(
        "job-progress",
        {"id": "job-progress", "status": "IN_QUEUE"},
        {"id": "job-progress", "status": "IN_PROGRESS"},
        {"id": "job-progress", "status": "IN_PROGRESS", "output": chunks[0]},
        {"id": "job-progress", "status": "IN_PROGRESS", "output": chunks[0]},  # polled twice: one call
        {"id": "job-progress", "status": "IN_PROGRESS", "output": chunks[1]},
        {"id": "job-progress", "status": "IN_PROGRESS", "output": chunks[2]},
        {"id": "job-progress", "status": "IN_PROGRESS", "output": {"stage": "timing"}},
        completed("job-progress", {"job_id": "job-progress", "audio": {"duration_s": 1.0}}),
    )
    seen = []
    output = hosted.call({"endpoint": "tts", "scenario": "job-progress"}, on_progress=seen.append)
    assert output == {"job_id": "job-progress", "audio": {"duration_s": 1.0}}
    assert seen == [*chunks, {"stage": "timing"}]
    assert [s.method for s in fake_runpod.calls("GET", "/status/")] == ["GET"] * 8
    assert fake_runpod.calls("POST", "/run")[0].body == {"input": {"endpoint": "tts", "scenario": "job-progress"}}


def test_runsync_that_outlasts_its_window_goes_on_polling(fake_runpod, hosted):
    fake_runpod.script("job-slow-sync", completed("job-slow-sync", {"ok": True}))
    assert hosted.call({"scenario": "job-slow-sync"}, sync=True) == {"ok": True}
    assert len(fake_runpod.calls("POST", "/runsync")) == 1 and len(fake_runpod.calls("GET", "/status/")) == 1


def test_failed_job_raises_the_workers_code_and_message(fake_runpod, hosted):
    fake_runpod.script(
        "job-bad",
        {"id": "job-bad", "status": "IN_PROGRESS"},
        {"id": "job-bad", "status": "FAILED", "error": "invalid_input: text: required field is missing"},
    )
    with pytest.raises(JobFailed) as caught:
        hosted.tts("", voice="narrator", scenario="job-bad")
    assert (caught.value.code, caught.value.message) == ("invalid_input", "text: required field is missing")
    assert caught.value.status == "FAILED" and caught.value.job_id == "job-bad"
    assert str(caught.value) == "invalid_input: text: required field is missing"


@pytest.mark.parametrize(
    ("status", "code"),
    [("TIMED_OUT", "timed_out"), ("CANCELLED", "cancelled")],
)
def test_timed_out_and_cancelled_jobs_raise(fake_runpod, hosted, status, code):
    job_id = f"job-{code}"
    fake_runpod.script(job_id, {"id": job_id, "status": "IN_QUEUE"}, {"id": job_id, "status": status})
    with pytest.raises(JobFailed) as caught:
        hosted.call({"scenario": job_id})
    assert caught.value.code == code and caught.value.status == status


def test_error_strings_are_parsed():
    assert parse_error("not_found: voice: no stored voice 'x'").code == "not_found"
    raised = json.dumps({"error_type": "<class 'RuntimeError'>", "error_message": "boom", "error_traceback": "..."})
    assert (parse_error(raised).code, parse_error(raised).message) == ("worker_exception", "boom")
    assert parse_error("Job ID not found").code == "job_failed"
    assert parse_error(None).code == "job_failed"


def test_wait_backs_off_exponentially_and_times_out(fake_runpod):
    fake_runpod.seen.clear()
    fake_runpod.script("job-forever", {"id": "job-forever", "status": "IN_PROGRESS"})
    client = RunPodClient(
        api_key=API_KEY, base_url=fake_runpod.url, local=False, poll_interval=0.05, max_poll_interval=0.4
    )
    started = time.monotonic()
    with pytest.raises(WaitTimeout) as caught:
        client.wait("job-forever", timeout=1.5)
    elapsed = time.monotonic() - started
    assert 1.4 < elapsed < 3.0
    assert caught.value.job_id == "job-forever" and caught.value.last_status == "IN_PROGRESS"
    polls = [s.at for s in fake_runpod.calls("GET", "/status/job-forever")]
    # Pauses 0.05, 0.1, 0.2, 0.4, 0.4, ... give about 7 polls in 1.5 s (a fixed 0.05 s pause would give 30).
    assert 3 <= len(polls) <= 8, len(polls)
    gaps = [b - a for a, b in zip(polls, polls[1:], strict=False)]
    assert all(gap >= 0.9 * pause for gap, pause in zip(gaps, [0.05, 0.1, 0.2, 0.4, 0.4], strict=False)), gaps
    assert max(gaps) < 1.0, gaps  # max_poll_interval caps the pause


def test_one_5xx_on_status_is_retried_by_the_adapter_but_run_is_not(fake_runpod, hosted):
    fake_runpod.script("job-flaky", (503, {"error": "upstream hiccup"}), completed("job-flaky", {"ok": 1}))
    assert hosted.call({"scenario": "job-flaky"}) == {"ok": 1}
    assert len(fake_runpod.calls("GET", "/status/job-flaky")) == 2  # one retry inside requests' adapter

    fake_runpod.run_failures = 1  # a re-sent POST /run could queue the job twice: reported, not retried
    with pytest.raises(ClientError) as caught:
        hosted.run({"scenario": "job-flaky"})
    assert caught.value.status_code == 503 and len(fake_runpod.calls("POST", "/run")) == 2


def test_api_key_goes_in_the_header_and_nowhere_else(fake_runpod, hosted, caplog, tmp_path):
    caplog.set_level(logging.DEBUG)
    fake_runpod.files["audio.wav"] = b"RIFF-fake-audio"
    files = {
        "srt": {"key": "outputs/job-files/timings.srt", "text": "1\n00:00:00,000 --> 00:00:01,000\nHi\n"},
        "vtt": {"key": "outputs/job-files/timings.vtt", "url": f"{fake_runpod.url}/files/gone.vtt"},  # expired
    }
    audio = {
        "key": "outputs/job-files/audio.wav",
        "format": "wav",
        "url": f"{fake_runpod.url}/files/audio.wav?X-Amz-Signature=abc",
    }
    fake_runpod.script(
        "job-files", completed("job-files", {"job_id": "job-files", "audio": audio, "timings": {"files": files}})
    )
    saved = hosted.save_outputs(hosted.call({"scenario": "job-files"}), tmp_path)
    assert saved["audio"].read_bytes() == b"RIFF-fake-audio"
    assert saved["srt"].read_text().endswith("Hi\n")
    assert saved["vtt"].read_text() == "fresh vtt"  # the URL failed: a fresh copy from the download endpoint
    assert sorted(p.name for p in tmp_path.iterdir()) == ["audio.wav", "timings.srt", "timings.vtt"]
    api_calls = [s for s in fake_runpod.seen if not s.path.startswith("/files/")]
    assert api_calls and all(s.headers.get("Authorization") == f"Bearer {API_KEY}" for s in api_calls)
    assert all("Authorization" not in s.headers for s in fake_runpod.calls("GET", "/files/"))
    assert API_KEY not in repr(hosted) and API_KEY not in caplog.text

    errors = []
    with RunPodClient(api_key=API_KEY + "-wrong", base_url=fake_runpod.url, local=False) as wrong:
        with pytest.raises(ClientError) as unauthorised:
            wrong.run({"scenario": "x"})
        errors.append(unauthorised.value)
    assert unauthorised.value.status_code == 401
    fake_runpod.script("job-key-fail", {"id": "job-key-fail", "status": "FAILED", "error": "invalid_input: nope"})
    with pytest.raises(JobFailed) as failed:
        hosted.call({"scenario": "job-key-fail"})
    errors.append(failed.value)
    fake_runpod.script("job-key-wait", {"id": "job-key-wait", "status": "IN_QUEUE"})
    with pytest.raises(WaitTimeout) as waited:
        hosted.wait("job-key-wait", timeout=0.05)
    errors.append(waited.value)
    with RunPodClient(api_key=API_KEY, base_url="http://127.0.0.1:9", local=False, retries=0) as unreachable:
        with pytest.raises(ClientError) as refused:
            unreachable.health()
        errors.append(refused.value)
    for error in errors:
        text = "".join(traceback.format_exception(error))
        assert API_KEY not in text and "-wrong" not in text, text


def test_a_failed_url_download_leaves_no_partial_file(fake_runpod, hosted, tmp_path):
    (tmp_path / "timings.vtt").write_text("old")
    entry = {"key": "outputs/job-x/timings.vtt", "url": f"{fake_runpod.url}/files/nope"}
    output = {"job_id": "job-x", "files": {"vtt": entry}}
    with pytest.raises(ClientError, match="HTTP 404"):
        hosted.save_outputs(output, tmp_path, download=False)
    assert [p.name for p in tmp_path.iterdir()] == ["timings.vtt"] and (tmp_path / "timings.vtt").read_text() == "old"
    with pytest.raises(ClientError, match="no url, base64 or text"):
        hosted.save_outputs(
            {"job_id": "job-x", "files": {"srt": {"key": "outputs/job-x/timings.srt"}}}, tmp_path, download=False
        )


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_saved_files_honour_the_umask_like_any_other_file(fake_runpod, hosted, tmp_path, umask):
    fake_runpod.files["timings.vtt"] = b"WEBVTT\n"
    output = {
        "job_id": "job-u",
        "audio": {"key": "outputs/job-u/audio.wav", "base64": "UklGRg=="},
        "timings": {
            "files": {
                "srt": {"key": "outputs/job-u/timings.srt", "text": "1\n"},
                "vtt": {"key": "outputs/job-u/timings.vtt", "url": f"{fake_runpod.url}/files/timings.vtt"},
            }
        },
    }
    previous = os.umask(umask)
    try:
        saved = hosted.save_outputs(output, tmp_path, download=False)
        (tmp_path / "plain.json").write_text("{}")  # what the caller's own files get
    finally:
        os.umask(previous)
    assert sorted(saved) == ["audio", "srt", "vtt"]
    wanted = (tmp_path / "plain.json").stat().st_mode & 0o777
    assert wanted == 0o666 & ~umask
    assert {name: path.stat().st_mode & 0o777 for name, path in saved.items()} == dict.fromkeys(saved, wanted)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["audio.wav", "plain.json", "timings.srt", "timings.vtt"]


def test_the_client_names_the_same_timing_formats_as_the_worker():
    from f5worker.client import TIMING_FILES
    from f5worker.words import TIMING_FORMATS

    assert TIMING_FILES == TIMING_FORMATS  # the client is standalone (stdlib + requests), so it keeps a copy


def test_cli_refuses_a_mistyped_local_file_instead_of_sending_it_as_a_url(tmp_path):
    done = cli("tts", "--base-url", "http://127.0.0.1:9", "--text", "hi", "--ref-audio", str(tmp_path / "narator.wav"))
    assert done.returncode == 2 and f"file not found: {tmp_path / 'narator.wav'}" in done.stderr, done.stderr
    missing = cli("voices", "upload", "--base-url", "http://127.0.0.1:9", "--name", "n", "--audio", "narator.mp3")
    assert missing.returncode == 2 and "file not found: narator.mp3" in missing.stderr
    assert cli("stt", "--base-url", "http://127.0.0.1:9", "--audio", "interview").returncode == 2


@pytest.mark.parametrize(
    "value",
    [
        "https://example.com/me.mp3",
        "http://10.0.0.2/a.wav",
        "voices/narrator.wav",
        "outputs/job-1/audio.wav",
        "data:audio/wav;base64,UklGRg==",
        base64.b64encode(b"RIFF....WAVEfmt ").decode(),
    ],
)
def test_cli_passes_urls_storage_keys_and_base64_unchanged(value):
    import importlib.util

    spec = importlib.util.spec_from_file_location("tts_client", CLI[1])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.audio_arg(value) == value


def test_configuration_from_the_environment(monkeypatch):
    for name in ("RUNPOD_API_KEY", "RUNPOD_ENDPOINT_ID", "RUNPOD_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ValueError, match="RUNPOD_ENDPOINT_ID"):
        RunPodClient()
    with pytest.raises(ValueError, match="RUNPOD_API_KEY"):
        RunPodClient(endpoint_id="abc123")
    monkeypatch.setenv("RUNPOD_ENDPOINT_ID", "abc123")
    monkeypatch.setenv("RUNPOD_API_KEY", API_KEY)
    client = RunPodClient()
    assert client.base_url == "https://api.runpod.ai/v2/abc123"
    assert client.session.headers["Authorization"] == f"Bearer {API_KEY}" and API_KEY not in repr(client)
    monkeypatch.setenv("RUNPOD_BASE_URL", "http://127.0.0.1:8000/")
    assert RunPodClient().base_url == "http://127.0.0.1:8000"


# --------------------------------------------------------------------------- the worker's local API


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    return espeak_wav(REF_TEXT, tmp_path_factory.mktemp("client-ref") / "ref.wav")


@pytest.fixture(scope="module")
def voice(s3_worker, reference) -> str:
    with RunPodClient(base_url=s3_worker.url) as client:
        uploaded = client.voices("upload", name="client-narrator", audio=reference, text=REF_TEXT, overwrite=True)
    assert uploaded["audio_key"] == "voices/client-narrator.wav"
    return "client-narrator"


@pytest.fixture
def local(s3_worker):
    with RunPodClient(base_url=s3_worker.url, timeout=300) as client:
        yield client


def spoken(subtitles: list[srt.Subtitle]) -> str:
    return " ".join(s.content.replace("\n", " ") for s in subtitles)


def test_sync_tts_saved_and_parsed_then_result_and_download(local, voice, tmp_path):
    job = {
        "endpoint": "tts",
        "text": TEXT,
        "voice": voice,
        "nfe_step": 4,
        "seed": 5,
        "output_format": "flac",
        "return_word_timings": True,
        "timing_formats": ["srt", "ass", "json"],
    }
    output = local.call(job, sync=True)
    job_id = output["job_id"]
    saved = local.save_outputs(output, tmp_path / "urls")
    assert set(saved) == {"audio", "srt", "ass", "json"}
    assert sorted(p.name for p in (tmp_path / "urls").iterdir()) == [
        "audio.flac",
        "timings.ass",
        "timings.json",
        "timings.srt",
    ]
    samples, rate = soundfile.read(saved["audio"])
    assert rate == 24000 and len(samples) / rate == pytest.approx(output["audio"]["duration_s"], abs=0.01)
    assert spoken(list(srt.parse(saved["srt"].read_text()))) == TEXT
    events = pysubs2.load(str(saved["ass"])).events
    assert " ".join(e.plaintext.replace("\n", " ") for e in events) == TEXT
    assert [w["word"] for w in json.loads(saved["json"].read_text())["words"]] == TEXT.split()

    stored = local.result(job_id)
    assert stored["endpoint"] == "tts" and stored["output"]["params"]["seed"] == 5
    from_result = local.save_outputs(stored, tmp_path / "result")
    assert all(from_result[name].read_bytes() == saved[name].read_bytes() for name in saved)

    assert local.download(job_id, "srt", "text")["text"] == saved["srt"].read_text()
    audio = local.download(job_id, "audio", delivery="base64")
    assert base64.b64decode(audio["base64"]) == saved["audio"].read_bytes()

    bare = copy.deepcopy(output)  # no url, base64 or text: every file comes through the download endpoint
    for entry in [bare["audio"], *bare["timings"]["files"].values()]:
        entry.pop("url")
    via_download = local.save_outputs(bare, tmp_path / "download")
    assert all(via_download[name].read_bytes() == saved[name].read_bytes() for name in saved)
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".part")]


def test_run_then_wait_detects_the_local_api(s3_worker, voice, tmp_path):
    client = RunPodClient(base_url=s3_worker.url, poll_interval=0.05)
    job_id = client.run(
        {
            "endpoint": "tts",
            "text": TEXT,
            "voice": voice,
            "nfe_step": 4,
            "seed": 9,
            "return_audio": "base64",
            "return_word_timings": True,
            "delivery": "text",
            "timing_formats": ["srt"],
        }
    )
    assert client.local is None
    body = client.wait(job_id)  # GET /status is 405 there: POST /status, which runs the job
    assert client.local is True and body["status"] == "COMPLETED"
    output = client.output_of(body)
    saved = client.save_outputs(output, tmp_path, download=False)  # everything inline
    samples, rate = soundfile.read(saved["audio"])
    assert rate == 24000 and len(samples) > 0
    assert spoken(list(srt.parse(saved["srt"].read_text()))) == TEXT
    assert client.status(job_id) == {"id": job_id, "status": "FAILED", "error": "Job ID not found"}  # consumed


def test_bad_input_raises_job_failed(local):
    with pytest.raises(JobFailed) as sync_failure:
        local.call({"endpoint": "tts", "text": "hi"}, sync=True)
    assert sync_failure.value.code == "invalid_input" and sync_failure.value.message.startswith("voice: give either")
    with pytest.raises(JobFailed) as queued_failure:
        local.tts("hi", nfe_step=999, voice="client-narrator")
    assert queued_failure.value.code == "invalid_input" and "nfe_step" in queued_failure.value.message
    with pytest.raises(JobFailed) as missing:
        local.result("no-such-client-job")
    assert missing.value.code == "not_found"
    assert local.health()["status"] == "ok"


def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNPOD_")}
    return subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=timeout)


def test_cli_tts_with_a_local_reference_file_saves_files(s3_worker, reference, tmp_path):
    out = tmp_path / "out"
    done = cli(
        "tts",
        "--base-url",
        s3_worker.url,
        "--text",
        TEXT,
        "--ref-audio",
        str(reference),
        "--ref-text",
        REF_TEXT,
        "--timings",
        "--formats",
        "srt,vtt",
        "--format",
        "wav",
        "--param",
        "nfe_step=4",
        "--param",
        "seed=11",
        "--out",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    output = json.loads(done.stdout)
    assert output["voice"]["ref_text"] == REF_TEXT and output["params"]["seed"] == 11
    assert "queued job" in done.stderr and "COMPLETED" in done.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(["audio.wav", "timings.srt", "timings.vtt", f"{output['job_id']}.json"])
    assert spoken(list(srt.parse((out / "timings.srt").read_text()))) == TEXT
    assert soundfile.info(str(out / "audio.wav")).samplerate == 24000


def test_cli_failures_and_usage(s3_worker):
    failed = cli("tts", "--base-url", s3_worker.url, "--text", "hi")
    assert failed.returncode == 1
    assert "invalid_input: voice: give either" in failed.stderr and failed.stdout == ""
    listed = cli("--base-url", s3_worker.url, "voices", "list", "--sync", "--quiet")
    assert listed.returncode == 0 and isinstance(json.loads(listed.stdout)["voices"], list), listed.stderr
    assert cli("--help").returncode == 0
    usage = cli("tts", "--text", "hi")  # no endpoint id and no base URL
    assert usage.returncode == 2 and "RUNPOD_ENDPOINT_ID" in usage.stderr
    assert cli("tts", "--voice", "x", "--base-url", s3_worker.url).returncode == 2  # --text missing


def test_an_output_split_into_parts_is_joined_in_part_order_and_a_missing_part_is_an_error():
    """A streaming endpoint sends an output over 1 MB as output_part items (f5worker/streaming.py)."""
    text = json.dumps({"audio": {"base64": "QUJD" * 10}, "words": []})
    size = -(-len(text) // 3)
    parts = [{"type": "output_part", "part": n, "parts": 3, "json": text[n * size : (n + 1) * size]} for n in range(3)]
    assert "".join(part["json"] for part in parts) == text
    assert final_item([{"type": "chunk", "seq": 0}, parts[2], parts[0], parts[1]]) == json.loads(text)
    with pytest.raises(ClientError, match="2 of 3 parts"):
        final_item([parts[0], parts[2]])
